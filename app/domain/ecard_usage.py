"""The e-card's usage history: each QR verification, claim, channel link and unlink, family link
made or ended and family QR verification, recorded in the transaction of the event itself and read
back by the holder newest first, a page at a time."""

from __future__ import annotations

import base64
import binascii
import re
from datetime import datetime
from typing import TYPE_CHECKING, Final, Literal, Protocol

import msgspec

from app.domain.idnumber import mask_name
from app.errors import DomainError

if TYPE_CHECKING:
    from app.domain.channels import Channel
    from app.domain.uow import UnitOfWork

UsageKind = Literal[
    "qrcode_verified", "claimed", "channel_linked", "channel_unlinked",
    # the holder's own acts from an app (scope ecard:manage)
    "loss_reported", "unlocked", "cancelled",
    # the family service: a link made or ended, a relative's card shown by the holder
    "family_linked", "family_unlinked", "family_qrcode_verified",
]
DEFAULT_PAGE: Final = 20
MAX_PAGE: Final = 100
_CURSOR = re.compile(r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?\+00:00)\|([1-9]\d{0,17})$")


class CursorInvalidError(DomainError):
    status = 400
    default_code = "cursor_invalid"


class FamilyMember(msgspec.Struct, frozen=True, kw_only=True):
    """The other person of a family link, masked as when it happened: 张*, 440305********123X."""

    name: str
    id_number: str


class UsageEvent(msgspec.Struct, frozen=True, kw_only=True):
    """One use of an e-card; the party is the channel or relying party involved, named as it was
    called when it happened. `family_member` is the other person of a family link (the family kinds
    only)."""

    sign_no: str
    kind: UsageKind
    at: datetime
    client_id: str
    party_name: str
    party_kind: str
    family_member: FamilyMember | None = None


class RecordedUsage(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    event: UsageEvent


class UsagePosition(msgspec.Struct, frozen=True):
    """Where a page ends: the last entry's time and id (ids break ties between equal times)."""

    at: datetime
    id: int


class EcardUsageRepository(Protocol):
    async def record(self, event: UsageEvent) -> None: ...

    async def page(self, sign_no: str, after: UsagePosition | None, limit: int) -> list[RecordedUsage]:
        """Up to `limit` entries of the e-card, newest first (time, then id, descending), older than
        `after` when given."""
        ...


def usage_event(sign_no: str, kind: UsageKind, at: datetime, party: Channel | None, client_id: str) -> UsageEvent:
    """The event of `kind` with `party` (the channel record, if it still exists) named."""
    return UsageEvent(sign_no=sign_no, kind=kind, at=at, client_id=client_id,
                      party_name=party.name if party else client_id,
                      party_kind=party.kind if party else "unknown")


async def family_member(uow: UnitOfWork, card_no: str) -> FamilyMember:
    """The holder of a card as the other side of a family link sees them: masked."""
    card = await uow.cards.get(card_no)
    if card is None:
        return FamilyMember(name="*", id_number="*")
    return FamilyMember(name=mask_name(card.name), id_number=card.id_masked)


async def record_on_both(uow: UnitOfWork, holder_sign_no: str, relative_sign_no: str, kind: UsageKind,
                         at: datetime, client_id: str) -> None:
    """`kind` in both e-cards' usage histories, each naming the other person (masked). The party is
    the channel or relying party `client_id`, or the service itself when it is not a channel (the
    card lifecycle ending links)."""
    holder = await uow.ecards.get(holder_sign_no)
    relative = await uow.ecards.get(relative_sign_no)
    if holder is None or relative is None:
        return
    party = await uow.channels.get(client_id)
    for ecard, other in ((holder, relative), (relative, holder)):
        await uow.ecard_usage.record(UsageEvent(
            sign_no=ecard.sign_no, kind=kind, at=at, client_id=client_id,
            party_name=party.name if party else client_id, party_kind=party.kind if party else "service",
            family_member=await family_member(uow, other.card_no)))


class UsagePage(msgspec.Struct, frozen=True, kw_only=True):
    entries: tuple[UsageEvent, ...]
    next_cursor: str | None


def encode_cursor(position: UsagePosition) -> str:
    text = f"{position.at.isoformat()}|{position.id}"
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> UsagePosition:
    """The position an opaque cursor names; `cursor_invalid` for anything this service did not give."""
    refused = CursorInvalidError("the cursor was not given by this service")
    if len(cursor) > 96:
        raise refused
    try:
        text = base64.b64decode(cursor + "=" * (-len(cursor) % 4), altchars=b"-_", validate=True).decode()
        match = _CURSOR.match(text)
        position = UsagePosition(datetime.fromisoformat(match.group(1)), int(match.group(2))) if match else None
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise refused from None
    # Only the one spelling this service gives is taken, so no two cursors name one position.
    if position is None or encode_cursor(position) != cursor:
        raise refused
    return position


def check_page(limit: int, cursor: str | None) -> UsagePosition | None:
    """Where the page asked for starts (None: at the newest); `limit_invalid`, `cursor_invalid`."""
    if not 1 <= limit <= MAX_PAGE:
        raise DomainError(f"limit must be 1 to {MAX_PAGE}", code="limit_invalid")
    return decode_cursor(cursor) if cursor is not None else None


async def read_page(uow: UnitOfWork, sign_no: str, after: UsagePosition | None, limit: int) -> UsagePage:
    """A page of the e-card's usage, newest first; `next_cursor` when there is more."""
    rows = await uow.ecard_usage.page(sign_no, after, limit + 1)
    last = rows[limit - 1] if len(rows) > limit else None
    return UsagePage(entries=tuple(r.event for r in rows[:limit]),
                     next_cursor=encode_cursor(UsagePosition(last.event.at, last.id)) if last else None)
