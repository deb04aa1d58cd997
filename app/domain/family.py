"""The family service (亲情服务): a holder invites a relative, the relative accepts with a passed face
session, and the holder may then show the relative's e-card as a QR code (for a child or an elderly
parent without a phone of their own). A holder has at most eight live links.

Every limit is held by the database rather than by a read before a write, so that it holds when
requests race across server processes: an invitation is consumed by one conditional update; each
live link takes one of the holder's eight slots under a partial unique index (holder, slot), and a
holder and relative have one live link under another (holder, relative). A link is one-way: the
relative may invite the holder back, and then each may show the other's card.

A link ends when either side ends it, or by itself when either e-card becomes invalid
(`end_links_of`, called in the transaction that invalidates the e-card). Reads also pass over a
live link whose e-card is invalid, in case one was made beside that transaction.
"""

from __future__ import annotations

import base64
import re
import secrets
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Final, Literal, Protocol

import msgspec

from app.domain.cards.model import card_usable
from app.domain.ecard_usage import FamilyMember, family_member, record_on_both
from app.domain.ecards import Ecard, holders_ecard
from app.domain.face_proof import spend_face_pass
from app.domain.limits import DailyLimit
from app.domain.qrcodes import IssuedQrCode, add_code
from app.errors import Conflict, Forbidden, Gone, NotFound
from app.security.secrets import digest

if TYPE_CHECKING:
    from app.clock import Clock
    from app.domain.status_list import EcardState
    from app.domain.uow import Storage, UnitOfWork

# What the relative is to the holder.
Relation = Literal["parent", "child", "spouse", "grandparent", "grandchild", "sibling", "other"]
# Which side of a link the caller is: `holder` invited and may show the relative's card,
# `relative` accepted and is shown by the holder.
Role = Literal["holder", "relative"]
EndReason = Literal["ended_by_holder", "ended_by_relative", "ecard_invalid"]

MAX_LINKS: Final = 8
INVITATION_LIFETIME: Final = timedelta(hours=24)
# Rows of invitations that expired unaccepted are kept this long, so that a late acceptance is told
# `invitation_expired` rather than `invitation_not_found`.
INVITATION_RETENTION: Final = timedelta(days=7)
INVITATIONS_PER_DAY: Final = 10
INVITATIONS = DailyLimit("family:invitations", INVITATIONS_PER_DAY, "too many family invitations today")
PREFIX: Final = "FI1"
_CODE = re.compile(r"^FI1[A-Z2-7]{32}$")
# Who ends the links of an e-card that became invalid through its physical card.
CARD_LIFECYCLE: Final = "card_lifecycle"


class FamilyInvitation(msgspec.Struct, frozen=True, kw_only=True):
    """An invitation to become the holder's relative; only the digest of its code is stored."""

    code_hash: str
    holder_sign_no: str
    relation: Relation
    client_id: str  # the holder's channel that asked for it
    created_at: datetime
    expires_at: datetime
    accepted_at: datetime | None = None
    accepted_by: str | None = None  # the relative's sign_no


class FamilyLink(msgspec.Struct, frozen=True, kw_only=True):
    """The holder may show the relative's e-card. Live while `ended_at` is None."""

    id: str
    holder_sign_no: str
    relative_sign_no: str
    relation: Relation
    slot: int  # 1..MAX_LINKS, unique among the holder's live links
    invitation: str  # the code_hash of the invitation it was made from
    client_id: str  # the relative's channel that accepted
    created_at: datetime
    ended_at: datetime | None = None
    ended_by: str | None = None  # the channel that ended it, or `card_lifecycle`
    end_reason: EndReason | None = None


class FamilyRepository(Protocol):
    async def add_invitation(self, invitation: FamilyInvitation) -> None: ...

    async def invitation(self, code_hash: str) -> FamilyInvitation | None: ...

    async def consume_invitation(self, code_hash: str, by_sign_no: str, at: datetime) -> bool:
        """Mark the invitation accepted if it is unaccepted and unexpired at `at`, in one statement;
        whether it was (of racing acceptances, exactly one)."""
        ...

    async def purge_invitations(self, expired_before: datetime) -> int:
        """Drop the invitations never accepted that expired before the moment; how many."""
        ...

    async def add_link(self, link: FamilyLink) -> bool:
        """Insert a live link; False when the holder's slot is taken by a live link or the holder
        and relative have a live link already (the unique indexes say so, whoever raced)."""
        ...

    async def link(self, link_id: str) -> FamilyLink | None: ...

    async def link_for_invitation(self, code_hash: str) -> FamilyLink | None: ...

    async def live_links(self, sign_no: str) -> list[FamilyLink]:
        """The live links the e-card is on, on either side, oldest first."""
        ...

    async def end_link(self, link_id: str, at: datetime, ended_by: str, reason: EndReason) -> FamilyLink | None:
        """End the link if it is live, in one statement; the ended link, None when it was not live."""
        ...

    async def end_links(self, sign_no: str, at: datetime, ended_by: str, reason: EndReason) -> list[FamilyLink]:
        """End every live link the e-card is on, on either side; those ended by this call."""
        ...


class IssuedInvitation(msgspec.Struct, frozen=True, kw_only=True):
    code: str
    relation: Relation
    expires_at: datetime


class LinkView(msgspec.Struct, frozen=True, kw_only=True):
    """A live link as one side sees it: the other person masked, and the other e-card's state."""

    link: FamilyLink
    role: Role
    member: FamilyMember
    member_state: EcardState


class AcceptedLink(msgspec.Struct, frozen=True, kw_only=True):
    view: LinkView
    created: bool  # False: a retry of the acceptance that made it, answered as before


def new_invitation_code() -> str:
    """`FI1` and 160 random bits in RFC 4648 base32: unguessable, and no QR code passes for one."""
    return PREFIX + base64.b32encode(secrets.token_bytes(20)).decode()


def new_link_id() -> str:
    return f"fl_{secrets.token_hex(12)}"


def _not_found() -> NotFound:
    # The same answer for a link that is unknown, ended or another holder's: nothing is revealed.
    return NotFound("no such live family link of this e-card", code="family_link_not_found")


def _full() -> Conflict:
    return Conflict(f"the holder has {MAX_LINKS} family links already; end one first",
                    code="family_full", limit=MAX_LINKS)


def _exists() -> Conflict:
    return Conflict("the holder's link to this relative exists already", code="family_link_exists")


def _used() -> Conflict:
    return Conflict("this invitation has been accepted already", code="invitation_used")


async def _ended(uow: UnitOfWork, link: FamilyLink, at: datetime, actor: str, reason: EndReason) -> None:
    await record_on_both(uow, link.holder_sign_no, link.relative_sign_no, "family_unlinked", at, actor)
    await uow.audit.record(at, "family.unlinked", actor=actor, subject=link.id,
                           detail={"holder": link.holder_sign_no, "relative": link.relative_sign_no,
                                   "reason": reason})


async def end_links_of(uow: UnitOfWork, sign_no: str, at: datetime, *, reason: EndReason = "ecard_invalid",
                       actor: str = CARD_LIFECYCLE) -> int:
    """End every live family link the e-card is on, either side, inside the caller's transaction
    (the one that makes the e-card invalid); each is recorded as `family_unlinked` in both e-cards'
    usage histories, `actor` (a channel's client_id, or `card_lifecycle`) named as the party, and
    audited. How many links ended. Ending links that have ended already changes nothing."""
    ended = await uow.family.end_links(sign_no, at, actor, reason)
    for link in ended:
        await _ended(uow, link, at, actor, reason)
    return len(ended)


async def _made_with(uow: UnitOfWork, code_hash: str, relative: Ecard) -> FamilyLink | None:
    """The live link the invitation made with `relative`, if it made one."""
    earlier = await uow.family.link_for_invitation(code_hash)
    if earlier is None or earlier.ended_at is not None or earlier.relative_sign_no != relative.sign_no:
        return None
    return earlier


async def _visible(uow: UnitOfWork, ecard: Ecard) -> list[tuple[FamilyLink, Ecard]]:
    """The e-card's live links with the other side's e-card, passing over any whose either e-card
    is invalid (a link made beside the transaction that invalidated it)."""
    if ecard.state == "invalid":
        return []
    found = []
    for link in await uow.family.live_links(ecard.sign_no):
        other_sign_no = link.relative_sign_no if link.holder_sign_no == ecard.sign_no else link.holder_sign_no
        other = await uow.ecards.get(other_sign_no)
        if other is not None and other.state != "invalid":
            found.append((link, other))
    return found


async def _holding(uow: UnitOfWork, holder: Ecard, at: datetime) -> list[FamilyLink]:
    """The holder's live links as holder, after ending those whose relative's e-card is invalid, so
    that they give their slots back."""
    links = [link for link in await uow.family.live_links(holder.sign_no) if link.holder_sign_no == holder.sign_no]
    kept = []
    for link in links:
        relative = await uow.ecards.get(link.relative_sign_no)
        if relative is not None and relative.state != "invalid":
            kept.append(link)
        elif await uow.family.end_link(link.id, at, CARD_LIFECYCLE, "ecard_invalid") is not None:
            await _ended(uow, link, at, CARD_LIFECYCLE, "ecard_invalid")
    return kept


async def link_in_free_slot(uow: UnitOfWork, invitation: FamilyInvitation, relative_sign_no: str,
                            client_id: str, at: datetime) -> FamilyLink:
    """Make the link in the holder's lowest free slot. An insert that loses a race for the slot
    (the unique index refuses it) reads the live links again and tries the next one; `family_full`
    when none is free, `family_link_exists` when the pair's link appeared meanwhile."""
    for _ in range(MAX_LINKS + 1):
        live = [link for link in await uow.family.live_links(invitation.holder_sign_no)
                if link.holder_sign_no == invitation.holder_sign_no]
        if any(link.relative_sign_no == relative_sign_no for link in live):
            raise _exists()
        taken = {link.slot for link in live}
        free = [slot for slot in range(1, MAX_LINKS + 1) if slot not in taken]
        if not free:
            raise _full()
        link = FamilyLink(id=new_link_id(), holder_sign_no=invitation.holder_sign_no,
                          relative_sign_no=relative_sign_no, relation=invitation.relation, slot=free[0],
                          invitation=invitation.code_hash, client_id=client_id, created_at=at)
        if await uow.family.add_link(link):
            return link
    raise _full()


class FamilyService:
    def __init__(self, storage: Storage, clock: Clock) -> None:
        self._storage = storage
        self._clock = clock

    async def invite(self, account_id: int, client_id: str, relation: Relation) -> IssuedInvitation:
        """A single-use invitation code, valid for 24 hours, for a relative to accept; the holder's
        e-card must not be invalid and must have a free slot; `INVITATIONS_PER_DAY` per person."""
        now = self._clock.now()
        code = new_invitation_code()
        async with self._storage.unit_of_work() as uow:
            holder = await holders_ecard(uow, account_id, client_id)
            if holder.state == "invalid":
                raise Conflict("an invalid e-card cannot invite relatives", code="ecard_not_active",
                               state=holder.state)
            if len(await _holding(uow, holder, now)) >= MAX_LINKS:
                raise _full()
            if not await INVITATIONS.take(uow.limits, holder.person, now):
                raise INVITATIONS.refused(now)
            await uow.family.purge_invitations(now - INVITATION_RETENTION)
            expires_at = now + INVITATION_LIFETIME
            await uow.family.add_invitation(FamilyInvitation(
                code_hash=digest(code), holder_sign_no=holder.sign_no, relation=relation, client_id=client_id,
                created_at=now, expires_at=expires_at))
            await uow.audit.record(now, "family.invitation_created", actor=client_id, subject=holder.sign_no,
                                   detail={"relation": relation, "expires_at": expires_at.isoformat()})
        return IssuedInvitation(code=code, relation=relation, expires_at=expires_at)

    async def accept(self, account_id: int, client_id: str, code: str, face_session_id: str) -> AcceptedLink:
        """The relative, with an active e-card, accepts the invitation; the passed face session is
        spent on this acceptance in the same transaction. Sent again with the same session after a
        lost answer, the link made then is answered (`created` False)."""
        if not _CODE.match(code):
            raise NotFound("no such family invitation", code="invitation_not_found")
        code_hash = digest(code)
        act = f"family_accept:{code_hash}"
        now = self._clock.now()
        async with self._storage.unit_of_work() as uow:
            relative = await holders_ecard(uow, account_id, client_id)
            invitation = await uow.family.invitation(code_hash)
            holder = await uow.ecards.get(invitation.holder_sign_no) if invitation else None
            if invitation is None or holder is None:
                raise NotFound("no such family invitation", code="invitation_not_found")
            # Both cards are held (in one order, whoever asks) until the link is made, so that a card
            # transition, a cancellation of either e-card or a twin acceptance comes wholly before
            # or after it; the e-cards and the invitation are read again under that hold.
            for card_no in sorted({relative.card_no, holder.card_no}):
                await uow.cards.get_for_update(card_no)
            relative = await uow.ecards.get(relative.sign_no) or relative
            holder = await uow.ecards.get(holder.sign_no) or holder
            invitation = await uow.family.invitation(code_hash) or invitation
            if relative.state != "active":
                raise Conflict("only an active e-card can accept a family invitation", code="ecard_not_active",
                               state=relative.state)
            if invitation.accepted_at is not None:
                # Answered again only to the relative who accepted, with the session spent on it.
                earlier = await _made_with(uow, code_hash, relative)
                if earlier is None or await spend_face_pass(uow, face_session_id, account_id=account_id,
                                                            card_no=relative.card_no, act=act, now=now):
                    raise _used()
                return AcceptedLink(view=await self._view(uow, earlier, relative, holder), created=False)
            if invitation.expires_at <= now:
                raise Gone("this invitation has expired; ask the holder for a new one", code="invitation_expired")
            if holder.person == relative.person:
                raise Conflict("the holder cannot accept their own invitation", code="family_self")
            if holder.state == "invalid":
                raise Conflict("the holder's e-card is no longer valid", code="invitation_invalid")
            holding = await _holding(uow, holder, now)
            if any(link.relative_sign_no == relative.sign_no for link in holding):
                raise _exists()
            if len(holding) >= MAX_LINKS:
                raise _full()
            if not await spend_face_pass(uow, face_session_id, account_id=account_id, card_no=relative.card_no,
                                         act=act, now=now):
                # The same acceptance, sent again, committed beside this one (its update of the
                # session held this one back until then): answer with the link it made.
                earlier = await _made_with(uow, code_hash, relative)
                if earlier is None:
                    raise _used()
                return AcceptedLink(view=await self._view(uow, earlier, relative, holder), created=False)
            if not await uow.family.consume_invitation(code_hash, relative.sign_no, now):
                raise _used()
            link = await link_in_free_slot(uow, invitation, relative.sign_no, client_id, now)
            await record_on_both(uow, link.holder_sign_no, link.relative_sign_no, "family_linked", now, client_id)
            await uow.audit.record(now, "family.linked", actor=client_id, subject=link.id, detail={
                "holder": holder.sign_no, "relative": relative.sign_no, "relation": link.relation,
                "slot": link.slot, "face_session": face_session_id, "account_id": account_id})
            return AcceptedLink(view=await self._view(uow, link, relative, holder), created=True)

    async def links(self, account_id: int, client_id: str) -> list[LinkView]:
        """The live links of the caller's e-card, both ways, oldest first."""
        async with self._storage.unit_of_work() as uow:
            ecard = await holders_ecard(uow, account_id, client_id)
            return [await self._view(uow, link, ecard, other) for link, other in await _visible(uow, ecard)]

    async def end(self, account_id: int, client_id: str, link_id: str) -> None:
        """End a live link from either side; `family_link_not_found` for any other."""
        now = self._clock.now()
        async with self._storage.unit_of_work() as uow:
            ecard = await holders_ecard(uow, account_id, client_id)
            link = await uow.family.link(link_id)
            if link is None or link.ended_at is not None or ecard.state == "invalid" \
                    or ecard.sign_no not in (link.holder_sign_no, link.relative_sign_no):
                raise _not_found()
            reason: EndReason = "ended_by_holder" if link.holder_sign_no == ecard.sign_no else "ended_by_relative"
            if await uow.family.end_link(link.id, now, client_id, reason) is None:
                raise _not_found()  # ended by the other side meanwhile
            await _ended(uow, link, now, client_id, reason)

    async def issue_qrcode(self, account_id: int, client_id: str, link_id: str) -> IssuedQrCode:
        """A QR code of the relative's e-card shown by the holder of the link (60 seconds, one scan);
        a verification names the holder as its presenter. The relative's e-card must be active and
        its card usable; the relative side of a link is refused `not_link_holder`."""
        now = self._clock.now()
        async with self._storage.unit_of_work() as uow:
            ecard = await holders_ecard(uow, account_id, client_id)
            visible = {link.id: (link, other) for link, other in await _visible(uow, ecard)}
            if link_id not in visible:
                raise _not_found()
            link, relative = visible[link_id]
            if link.holder_sign_no != ecard.sign_no:
                raise Forbidden("only the holder of a family link shows the relative's card",
                                code="not_link_holder")
            card = await uow.cards.get(relative.card_no)
            if relative.state != "active" or card is None or not card_usable(card):
                raise Conflict("the relative's e-card is not active", code="ecard_not_active", state=relative.state)
            return await add_code(uow, relative, client_id, now, presented_by=ecard.sign_no)

    async def _view(self, uow: UnitOfWork, link: FamilyLink, mine: Ecard, other: Ecard) -> LinkView:
        role: Role = "holder" if link.holder_sign_no == mine.sign_no else "relative"
        return LinkView(link=link, role=role, member=await family_member(uow, other.card_no), member_state=other.state)
