"""The electronic social security card (电子社保卡): claim, views, channel links, and how it follows
the physical card.

One person has at most one e-card that is not invalid (实名 + 实人 + 实卡): a repeated claim, from
the same or another channel, returns it and links the channel. The e-card token is a JWS
(`typ` `ecard+jwt`, ES256) whose `jti` is the sign number (签发号) and whose `status` claim points
into a status list, so that relying parties can check it offline.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Final, Literal, Protocol

import msgspec

from app.domain.cards.model import card_usable
from app.domain.ecard_usage import DEFAULT_PAGE, UsagePage, check_page, read_page, usage_event
from app.domain.idnumber import mask_name
from app.domain.status_list import (
    FILL_LIMIT,
    LIST_SIZE,
    EcardState,
    StatusListRepository,
    StatusListService,
    random_index,
)
from app.errors import Conflict, Forbidden, NotFound, Unavailable
from app.security.jose import ECARD_TYP

if TYPE_CHECKING:
    from app.clock import Clock
    from app.domain.cards.changes import CardChange
    from app.domain.cards.model import CardRecord
    from app.domain.uow import Storage, UnitOfWork
    from app.security.jose import Signer
    from app.security.vault import Vault

# A claim must follow a passed face session (实人) of the same person this closely.
FACE_WINDOW: Final = timedelta(minutes=10)
# How long one signed e-card token is good for; a repeated claim signs a fresh one.
ECARD_TOKEN_LIFETIME: Final = timedelta(days=30)
_INDEX_ATTEMPTS = 64


class PassedFace(msgspec.Struct, frozen=True, kw_only=True):
    """A face session that passed: liveness and 1:1 match against this card's photo."""

    card_no: str
    session_id: str
    completed_at: datetime


class FaceEvidence(Protocol):
    """The port the face verification offers the claim."""

    async def passed_since(self, account_id: int, since: datetime) -> PassedFace | None:
        """The latest session of this account that passed at or after `since`, if any."""
        ...


class Ecard(msgspec.Struct, frozen=True, kw_only=True):
    sign_no: str  # 签发号
    person: str  # keyed digest of the holder's ID number (cards.id_digest)
    card_no: str
    state: EcardState
    sign_level: Literal[1, 2]
    status_list: int
    status_idx: int
    issued_at: datetime
    expires_at: datetime
    state_since: datetime
    replaced_by: str | None = None
    cancelled_at: datetime | None = None  # the holder cancelled it (from an app)


class ChannelLink(msgspec.Struct, frozen=True, kw_only=True):
    client_id: str
    account_id: int
    linked_at: datetime


class EcardRepository(StatusListRepository, Protocol):
    async def add(self, ecard: Ecard) -> bool:
        """Insert; False when the person already has a live e-card or the index is taken."""
        ...

    async def get(self, sign_no: str) -> Ecard | None: ...

    async def live_for_person(self, person: str) -> Ecard | None:
        """The person's e-card that is not invalid, if any."""
        ...

    async def live_for_card(self, card_no: str) -> Ecard | None: ...

    async def set_sign_level(self, sign_no: str, level: Literal[1, 2]) -> None: ...

    async def latest_for_card(self, card_no: str) -> Ecard | None:
        """The card's most recent e-card in any state."""
        ...

    async def for_holder(self, account_id: int, client_id: str | None) -> Ecard | None:
        """The newest e-card linked to this account (through `client_id`, or any channel when
        None), a live one before an invalid one."""
        ...

    async def set_state(self, sign_no: str, state: EcardState, at: datetime,
                        replaced_by: str | None = None) -> None:
        """Change the state and move its status list's revision. Invalid is final: an invalid
        e-card is never made active or suspended again, whatever a racing writer read."""
        ...

    async def cancel(self, sign_no: str, at: datetime) -> bool:
        """Make a live e-card invalid at its holder's wish, noting when, and move its status list's
        revision; False when it was invalid already."""
        ...

    async def renew(self, sign_no: str, expires_at: datetime) -> None: ...

    async def link(self, sign_no: str, client_id: str, account_id: int, at: datetime) -> bool:
        """Link a channel; False when it was linked already."""
        ...

    async def unlink(self, sign_no: str, client_id: str) -> int:
        """Remove every link of `client_id` to this e-card; the number removed."""
        ...

    async def links(self, sign_no: str) -> list[ChannelLink]: ...

    async def copy_links(self, from_sign_no: str, to_sign_no: str, at: datetime) -> None: ...

    async def status_list_with_room(self, size: int, fill_limit: float, at: datetime) -> int:
        """The id of the newest list that is less than `fill_limit` full, created if need be."""
        ...

    async def index_taken(self, list_id: int, index: int) -> bool: ...


class Holder(msgspec.Struct, frozen=True, kw_only=True):
    name: str  # masked: 张*
    id_number: str  # masked: 440305********123X


class EcardView(msgspec.Struct, frozen=True, kw_only=True):
    ecard: Ecard
    holder: Holder
    aab301: str  # the issuing region's 6-digit administrative code
    channels: tuple[ChannelLink, ...]
    status_uri: str


class IssuedEcard(msgspec.Struct, frozen=True, kw_only=True):
    view: EcardView
    token: str
    created: bool


def sign_level(card: CardRecord) -> Literal[1, 2]:
    """1: identity and query services; 2: payment too, which needs the financial application."""
    return 2 if card.fin_state == "active" else 1


def new_sign_no(aab301: str) -> str:
    """签发号: the issuing region, a marker, and 96 random bits (uniqueness is also enforced)."""
    return f"{aab301}E{secrets.token_hex(12).upper()}"


async def holders_ecard(uow: UnitOfWork, account_id: int, client_id: str | None) -> Ecard:
    """The e-card this account holds through this channel (any channel when None), a live one
    before an invalid one; `404 ecard_not_found` when none is linked."""
    ecard = await uow.ecards.for_holder(account_id, client_id)
    if ecard is None:
        raise NotFound("no e-card is linked to this account and channel", code="ecard_not_found")
    return ecard


class EcardService:
    def __init__(self, storage: Storage, clock: Clock, *, signer: Signer, vault: Vault,
                 face: FaceEvidence, status_lists: StatusListService, issuer: str) -> None:
        self._storage = storage
        self._clock = clock
        self._signer = signer
        self._vault = vault
        self._face = face
        self._status_lists = status_lists
        self._issuer = issuer.rstrip("/")

    async def claim(self, account_id: int, client_id: str) -> IssuedEcard:
        """Issue the person's e-card, or return the existing one and link this channel."""
        now = self._clock.now()
        face = await self._face.passed_since(account_id, now - FACE_WINDOW)
        if face is None:
            raise Forbidden("a face verification of the holder must pass within "
                            f"{int(FACE_WINDOW.total_seconds() // 60)} minutes before the claim",
                            code="face_verification_required")
        async with self._storage.unit_of_work() as uow:
            card = await uow.cards.get(face.card_no)
            if card is None:
                raise NotFound("the verified card is not on record", code="card_not_found")
            if not card_usable(card):
                raise Conflict("the card is not activated, is reported lost, or was replaced or "
                               "cancelled", code="card_not_usable", card_status=card.status,
                               loss_state=card.loss_state, ss_state=card.ss_state)
            ecard = await uow.ecards.live_for_person(card.id_digest)
            created = False
            if ecard is None:
                ecard = await self._create(uow, card, now)
                created = ecard is not None
                # A claim racing on another process won: this one answers with its e-card.
                ecard = ecard or await uow.ecards.live_for_person(card.id_digest)
            if ecard is None:
                raise Conflict("another claim for this person is in progress; try again", code="claim_conflict")
            if ecard.state != "active":
                raise Conflict("the e-card is suspended", code="ecard_not_active", state=ecard.state)
            expires_at = now + ECARD_TOKEN_LIFETIME
            await uow.ecards.renew(ecard.sign_no, expires_at)
            ecard = msgspec.structs.replace(ecard, expires_at=expires_at)
            linked = await uow.ecards.link(ecard.sign_no, client_id, account_id, now)
            channel = await uow.channels.get(client_id)
            await uow.ecard_usage.record(usage_event(ecard.sign_no, "claimed", now, channel, client_id))
            if linked:
                await uow.ecard_usage.record(usage_event(ecard.sign_no, "channel_linked", now, channel, client_id))
            await uow.audit.record(
                now, "ecard.issued" if created else "ecard.claimed_again", actor=client_id,
                subject=ecard.sign_no,
                detail={"account_id": account_id, "card_no": card.card_no,
                        "face_session": face.session_id, "channel_linked": linked},
            )
            view = await self._view(uow, ecard, card)
        token = self._token(view, client_id, now)
        return IssuedEcard(view=view, token=token, created=created)

    async def renew(self, account_id: int, client_id: str) -> IssuedEcard:
        """A fresh token for the holder's active e-card: the same sign number, a new expiry."""
        now = self._clock.now()
        async with self._storage.unit_of_work() as uow:
            ecard = await holders_ecard(uow, account_id, client_id)
            card = await uow.cards.get(ecard.card_no)
            if card is None:
                raise NotFound("the e-card's card is not on record", code="card_not_found")
            if ecard.state != "active" or not card_usable(card):
                raise Conflict("only an active e-card can be renewed", code="ecard_not_active",
                               state=ecard.state)
            expires_at = now + ECARD_TOKEN_LIFETIME
            await uow.ecards.renew(ecard.sign_no, expires_at)
            ecard = msgspec.structs.replace(ecard, expires_at=expires_at)
            await uow.audit.record(now, "ecard.renewed", actor=client_id, subject=ecard.sign_no,
                                   detail={"account_id": account_id, "expires_at": expires_at.isoformat()})
            view = await self._view(uow, ecard, card)
        return IssuedEcard(view=view, token=self._token(view, client_id, now), created=False)

    async def me(self, account_id: int, client_id: str | None) -> EcardView:
        """The e-card this account holds through this channel (any channel when None)."""
        async with self._storage.unit_of_work() as uow:
            ecard = await holders_ecard(uow, account_id, client_id)
            card = await uow.cards.get(ecard.card_no)
            if card is None:
                raise NotFound("the e-card's card is not on record", code="card_not_found")
            return await self._view(uow, ecard, card)

    async def usage(self, account_id: int, client_id: str, *, limit: int = DEFAULT_PAGE,
                    cursor: str | None = None) -> UsagePage:
        """A page of the holder's e-card's usage history, newest first."""
        after = check_page(limit, cursor)
        async with self._storage.unit_of_work() as uow:
            ecard = await holders_ecard(uow, account_id, client_id)
            return await read_page(uow, ecard.sign_no, after, limit)

    async def unlink(self, account_id: int, client_id: str | None, target_client_id: str) -> None:
        """Remove `target_client_id`'s link to the holder's e-card; other channels keep theirs."""
        now = self._clock.now()
        async with self._storage.unit_of_work() as uow:
            ecard = await holders_ecard(uow, account_id, client_id)
            if await uow.ecards.unlink(ecard.sign_no, target_client_id) == 0:
                raise NotFound(f"channel {target_client_id!r} holds no link to this e-card",
                               code="channel_not_linked")
            await uow.ecard_usage.record(usage_event(ecard.sign_no, "channel_unlinked", now,
                                               await uow.channels.get(target_client_id), target_client_id))
            await uow.audit.record(now, "ecard.channel_unlinked", actor=client_id or f"account:{account_id}",
                                   subject=ecard.sign_no, detail={"client_id": target_client_id})

    async def card_changed(self, uow: UnitOfWork, card_no: str, event: CardChange, *, at: datetime,
                           new_card_no: str | None = None) -> None:
        """Make the e-card follow its physical card (called inside the card's transaction); an
        e-card made invalid ends its family links in the same transaction."""
        # The family service builds on e-cards (and QR codes, face proof): imported here, not above.
        from app.domain.family import end_links_of  # noqa: PLC0415
        if event == "financial_activated":
            live = await uow.ecards.live_for_card(card_no)
            if live is not None and live.sign_level == 1:
                await uow.ecards.set_sign_level(live.sign_no, 2)
                await uow.audit.record(at, "ecard.sign_level", actor="card_lifecycle", subject=live.sign_no,
                                       detail={"card_no": card_no, "sign_level": 2})
            return
        target: EcardState
        if event in ("temporary_loss", "overdue_loss"):
            target = "suspended"
        elif event == "unlocked":
            target = "active"
        else:  # formal_loss, cancelled, replaced
            target = "invalid"
        ecard = await uow.ecards.live_for_card(card_no)
        if ecard is None and event == "replaced":
            # A formal loss has already invalidated the e-card; the replacement card still gets a
            # fresh one, unless that e-card was reissued before or its holder cancelled it (then
            # only a new claim issues one).
            latest = await uow.ecards.latest_for_card(card_no)
            reissue = latest is not None and latest.replaced_by is None and latest.cancelled_at is None
            ecard = latest if reissue else None
        if ecard is None:
            return
        if ecard.state != target:
            await uow.ecards.set_state(ecard.sign_no, target, at)
            await uow.audit.record(at, f"ecard.{target}", actor="card_lifecycle", subject=ecard.sign_no,
                                   detail={"card_no": card_no, "event": event})
        if target == "invalid":
            await end_links_of(uow, ecard.sign_no, at)
        if event != "replaced" or new_card_no is None:
            return
        new_card = await uow.cards.get(new_card_no)
        if new_card is None:
            raise NotFound(f"replacement card {new_card_no} is not on record", code="card_not_found")
        fresh = await self._create(uow, new_card, at)
        if fresh is None:
            raise Conflict("the holder's e-card changed meanwhile; try again", code="claim_conflict")
        if not card_usable(new_card):
            await uow.ecards.set_state(fresh.sign_no, "suspended", at)
        await uow.ecards.set_state(ecard.sign_no, "invalid", at, replaced_by=fresh.sign_no)
        await end_links_of(uow, ecard.sign_no, at)
        await uow.ecards.copy_links(ecard.sign_no, fresh.sign_no, at)
        await uow.audit.record(at, "ecard.reissued", actor="card_lifecycle", subject=fresh.sign_no,
                               detail={"card_no": new_card_no, "replaces": ecard.sign_no})

    async def _create(self, uow: UnitOfWork, card: CardRecord, at: datetime) -> Ecard | None:
        """A new e-card for the card's holder at a free status-list index; None when an e-card of
        the person went live meanwhile (a racing claim won: the unique index says so)."""
        list_id = await uow.ecards.status_list_with_room(LIST_SIZE, FILL_LIMIT, at)
        for _ in range(_INDEX_ATTEMPTS):
            index = random_index(LIST_SIZE)
            if await uow.ecards.index_taken(list_id, index):
                continue
            ecard = Ecard(
                sign_no=new_sign_no(card.aab301), person=card.id_digest, card_no=card.card_no,
                state="active", sign_level=sign_level(card), status_list=list_id, status_idx=index,
                issued_at=at, expires_at=at + ECARD_TOKEN_LIFETIME, state_since=at,
            )
            if await uow.ecards.add(ecard):
                await self._status_lists.changed(uow, list_id, at)
                return ecard
            if await uow.ecards.live_for_person(card.id_digest) is not None:
                return None
            # A claim running beside this one took the index after it was read as free: draw again.
        raise Unavailable("no free status list index; try again", code="status_list_full")

    async def _view(self, uow: UnitOfWork, ecard: Ecard, card: CardRecord) -> EcardView:
        return EcardView(
            ecard=ecard, holder=Holder(name=mask_name(card.name), id_number=card.id_masked),
            aab301=card.aab301, channels=tuple(await uow.ecards.links(ecard.sign_no)),
            status_uri=self._status_lists.uri(ecard.status_list),
        )

    def subject(self, person: str) -> str:
        """The pseudonymous `sub`: stable per person, reveals nothing of the ID number."""
        return self._vault.index(f"ecard-subject:{person}")[:32]

    def _token(self, view: EcardView, client_id: str, now: datetime) -> str:
        ecard = view.ecard
        claims: dict[str, Any] = {
            "iss": self._issuer,
            "sub": self.subject(ecard.person),
            "jti": ecard.sign_no,
            "iat": int(now.timestamp()),
            "exp": int(ecard.expires_at.timestamp()),
            "card_no": ecard.card_no,
            "aab301": view.aab301,
            "sign_level": ecard.sign_level,
            "channel": client_id,
            "holder": {"name": view.holder.name, "id_number": view.holder.id_number},
            "status": {"status_list": {"idx": ecard.status_idx, "uri": view.status_uri}},
        }
        return self._signer.sign(claims, typ=ECARD_TYP)
