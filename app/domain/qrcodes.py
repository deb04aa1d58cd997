"""The dynamic QR code (亮码): shown by the holder, scanned and verified once by a relying party.

The code is an opaque random string, not a signed token: single use needs the server anyway, and an
opaque code is short enough for a small, quickly scanned symbol (QR version 2 in alphanumeric
mode). It is `EC1` followed by 160 random bits in RFC 4648 base32, so it cannot be guessed and no
token of any kind (an e-card JWS, an HS256 forgery) can pass for one. Only its SHA-256 is stored.

A holder may also show a relative's e-card through a family link (app/domain/family.py): the code
then names the presenting holder, and its verification says `presented_by: family` and who.
"""

from __future__ import annotations

import base64
import re
import secrets
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Final, Literal, Protocol

import msgspec

from app.domain.cards.model import card_usable
from app.domain.ecard_usage import FamilyMember, family_member, record_on_both, usage_event
from app.domain.ecards import Ecard, holders_ecard
from app.domain.idnumber import mask_name
from app.errors import Conflict, DomainError, Forbidden, Gone
from app.security.secrets import digest

if TYPE_CHECKING:
    from app.clock import Clock
    from app.domain.cards.model import CardRecord
    from app.domain.ecards import EcardService
    from app.domain.uow import Storage, UnitOfWork

QR_LIFETIME: Final = timedelta(seconds=60)
# Rows of expired codes are kept this long so that a late scan is told `qrcode_expired`.
QR_RETENTION: Final = timedelta(days=1)
PREFIX: Final = "EC1"
_CODE = re.compile(r"^EC1[A-Z2-7]{32}$")
# The verifier scopes that widen what a relying party learns beyond who presents the code and
# whether the card is usable: a counter or bank system that handles cards may see the card number.
CARD_NUMBER_SCOPE: Final = "card:manage"
VERIFIER_KINDS: Final = frozenset({"relying_party", "counter"})


class QrCodeInvalidError(DomainError):
    status = 400
    default_code = "qrcode_invalid"


class QrCode(msgspec.Struct, frozen=True, kw_only=True):
    code_hash: str
    sign_no: str
    client_id: str
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None = None
    used_by: str | None = None
    presented_by: str | None = None  # the holder's sign_no when shown through a family link


UseOutcome = Literal["used", "already_used", "expired", "unknown"]
PresentedBy = Literal["holder", "family"]


class QrCodeRepository(Protocol):
    async def add(self, code: QrCode) -> None: ...

    async def use(self, code_hash: str, at: datetime, used_by: str) -> tuple[UseOutcome, QrCode | None]:
        """Mark the code used if it is unused and unexpired at `at`, in one statement; say what
        happened."""
        ...

    async def purge(self, expired_before: datetime) -> int: ...


class IssuedQrCode(msgspec.Struct, frozen=True, kw_only=True):
    code: str
    expires_at: datetime
    ecard: Ecard


class Verification(msgspec.Struct, frozen=True, kw_only=True):
    """What a relying party learns from a scan."""

    subject: str
    sign_no: str
    holder_name: str
    holder_id_number: str
    aab301: str
    sign_level: int
    ecard_state: str
    card_usable: bool
    card_no: str | None
    verified_at: datetime
    # `family`: a holder showed this relative's card through a family link; `presenter` is that
    # holder, masked.
    presented_by: PresentedBy = "holder"
    presenter: FamilyMember | None = None


def new_code() -> str:
    return PREFIX + base64.b32encode(secrets.token_bytes(20)).decode()


async def add_code(uow: UnitOfWork, ecard: Ecard, client_id: str, now: datetime, *,
                   presented_by: str | None = None) -> IssuedQrCode:
    """Store a fresh code of `ecard` (valid for 60 seconds and one scan) in the caller's
    transaction, dropping rows expired long enough ago; `presented_by` names the holder showing a
    relative's card."""
    code = new_code()
    await uow.qrcodes.purge(now - QR_RETENTION)
    expires_at = now + QR_LIFETIME
    await uow.qrcodes.add(QrCode(code_hash=digest(code), sign_no=ecard.sign_no, client_id=client_id,
                                 created_at=now, expires_at=expires_at, presented_by=presented_by))
    return IssuedQrCode(code=code, expires_at=expires_at, ecard=ecard)


class QrCodeService:
    def __init__(self, storage: Storage, clock: Clock, ecards: EcardService) -> None:
        self._storage = storage
        self._clock = clock
        self._ecards = ecards

    async def issue(self, account_id: int, client_id: str) -> IssuedQrCode:
        """A fresh code for the holder's active e-card, valid for 60 seconds and one scan."""
        now = self._clock.now()
        async with self._storage.unit_of_work() as uow:
            ecard = await holders_ecard(uow, account_id, client_id)
            card = await uow.cards.get(ecard.card_no)
            if ecard.state != "active" or card is None or not card_usable(card):
                raise Conflict("only an active e-card can show a QR code", code="ecard_not_active",
                               state=ecard.state)
            return await add_code(uow, ecard, client_id, now)

    async def verify(self, verifier: str, scopes: frozenset[str], code: str) -> Verification:
        """Consume the code (the first verification wins) and describe who presented it."""
        now = self._clock.now()
        if not _CODE.match(code):
            raise QrCodeInvalidError("this is not an e-card QR code")
        async with self._storage.unit_of_work() as uow:
            channel = await uow.channels.get(verifier)
            if channel is None or channel.kind not in VERIFIER_KINDS:
                raise Forbidden("only a relying party or counter system verifies QR codes",
                                code="relying_party_required")
            outcome, record = await uow.qrcodes.use(digest(code), now, verifier)
            refusal: str = outcome
            if outcome == "used" and record is not None:
                ecard = await uow.ecards.get(record.sign_no)
                card = await uow.cards.get(ecard.card_no) if ecard else None
                if ecard is None or card is None:
                    refusal = "unknown"
                elif record.presented_by is not None:
                    family = await self._family(uow, record, ecard, card, scopes, now, verifier)
                    if family is not None:
                        return family
                    refusal = "family_link_ended"
                else:
                    verification = self._describe(ecard, card, scopes, now)
                    await uow.ecard_usage.record(usage_event(ecard.sign_no, "qrcode_verified", now, channel, verifier))
                    await uow.audit.record(
                        now, "qrcode.verified", actor=verifier, subject=ecard.sign_no,
                        detail={"card_usable": verification.card_usable, "state": ecard.state},
                    )
                    return verification
            await uow.audit.record(now, f"qrcode.refused.{refusal}", actor=verifier,
                                   subject=record.sign_no if record else None)
        if refusal == "already_used":
            raise Conflict("this QR code has been used already", code="qrcode_used")
        if refusal == "expired":
            raise Gone("this QR code has expired; ask the holder to show a new one",
                       code="qrcode_expired")
        if refusal == "family_link_ended":
            raise Conflict("the family link this code was shown through has ended",
                           code="family_link_ended")
        raise QrCodeInvalidError("this QR code was not issued by this service")

    async def _family(self, uow: UnitOfWork, record: QrCode, ecard: Ecard, card: CardRecord,
                      scopes: frozenset[str], now: datetime, verifier: str) -> Verification | None:
        """A relative's card shown by a holder: described with the holder as presenter and recorded
        in both e-cards' histories; None when the link has ended since (or either e-card is invalid)."""
        presenter = await uow.ecards.get(record.presented_by) if record.presented_by else None
        presenter_card = await uow.cards.get(presenter.card_no) if presenter else None
        if presenter is None or presenter_card is None or "invalid" in (presenter.state, ecard.state):
            return None
        link = next((link for link in await uow.family.live_links(presenter.sign_no)
                     if (link.holder_sign_no, link.relative_sign_no) == (presenter.sign_no, ecard.sign_no)), None)
        if link is None:
            return None
        verification = msgspec.structs.replace(self._describe(ecard, card, scopes, now), presented_by="family",
                                               presenter=await family_member(uow, presenter.card_no))
        await record_on_both(uow, presenter.sign_no, ecard.sign_no, "family_qrcode_verified", now, verifier)
        await uow.audit.record(now, "family.qrcode_verified", actor=verifier, subject=ecard.sign_no, detail={
            "presenter": presenter.sign_no, "link_id": link.id, "card_usable": verification.card_usable,
            "state": ecard.state})
        return verification

    def _describe(self, ecard: Ecard, card: CardRecord, scopes: frozenset[str],
                  now: datetime) -> Verification:
        return Verification(
            subject=self._ecards.subject(ecard.person), sign_no=ecard.sign_no,
            holder_name=mask_name(card.name), holder_id_number=card.id_masked, aab301=card.aab301,
            sign_level=ecard.sign_level, ecard_state=ecard.state,
            card_usable=ecard.state == "active" and card_usable(card),
            card_no=card.card_no if CARD_NUMBER_SCOPE in scopes else None, verified_at=now,
        )
