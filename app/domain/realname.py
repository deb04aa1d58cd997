"""Real-name check (实名认证): name + citizen ID number against the registry of physical cards."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Literal, Protocol

import msgspec

from app.domain.cards.model import card_usability
from app.domain.idnumber import mask_name, parse_id_number
from app.domain.limits import DailyLimit
from app.domain.text import normalise_name
from app.errors import Conflict, InvalidInput, NotFound
from app.security.secrets import new_token

if TYPE_CHECKING:
    from app.clock import Clock
    from app.domain.cards.model import CardRecord
    from app.domain.uow import Storage
    from app.security.vault import Vault

REALNAME_TTL = timedelta(minutes=30)
NAME_MAX = 64
# Wrong name and ID number pairs allowed per day (README, "Real-name check limits"), in three
# buckets. A holder mistyping their own name has three tries; one account can probe at most five
# pairs, so it cannot hunt through ID numbers; and one ID number takes at most twenty wrong names
# from all accounts together, which bounds guessing a name spread over many accounts while a
# stranger, with one account, cannot use up the holder's day.
FAILURES_PER_ACCOUNT_AND_ID = 3
FAILURES_PER_ACCOUNT = 5
FAILURES_PER_ID = 20
_REFUSAL = "too many failed real-name checks today"
PER_ACCOUNT_AND_ID = DailyLimit("realname:account-id", FAILURES_PER_ACCOUNT_AND_ID, _REFUSAL)
PER_ACCOUNT = DailyLimit("realname:account", FAILURES_PER_ACCOUNT, _REFUSAL)
PER_ID = DailyLimit("realname:id", FAILURES_PER_ID, _REFUSAL)


# What a real-name check is for: a claim, or one of the holder's own acts (app/domain/holder_acts.py).
Purpose = Literal["claim", "manage"]


class RealnameCheck(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    account_id: int
    client_id: str
    card_no: str
    created_at: datetime
    expires_at: datetime


class RealnameRepository(Protocol):
    async def add(self, check: RealnameCheck) -> None: ...

    async def get(self, check_id: str) -> RealnameCheck | None: ...


class RealnameResult(msgspec.Struct, frozen=True, kw_only=True):
    check: RealnameCheck
    card: CardRecord


class RealnameService:
    def __init__(self, storage: Storage, clock: Clock, vault: Vault) -> None:
        self._storage = storage
        self._clock = clock
        self._vault = vault

    async def check(self, account_id: int, client_id: str, name: str, id_number: str,
                    purpose: Purpose = "claim") -> RealnameResult:
        """The card of this name and ID number. For a claim it must be usable; before one of the
        holder's own acts (`manage`) it must only be in use, lost or not."""
        now = self._clock.now()
        clean_name = normalise_name(name)
        if not clean_name or len(clean_name) > NAME_MAX:
            raise InvalidInput(f"name: 1 to {NAME_MAX} characters", code="invalid_name", field="name")
        # Validated before any lookup, so malformed numbers never touch the registry.
        parsed = parse_id_number(id_number, today=now.date())
        id_digest = self._vault.index(parsed.value)
        buckets = ((PER_ACCOUNT_AND_ID, f"{account_id}:{id_digest}"), (PER_ACCOUNT, str(account_id)),
                   (PER_ID, id_digest))
        async with self._storage.unit_of_work() as uow:
            # Every check is counted as a failure first and given back when it matches: one
            # transaction, so racing checks cannot get more tries than the buckets hold.
            for limit, key in buckets:
                if not await limit.take(uow.limits, key, now):
                    raise limit.refused(now)
            cards = await uow.cards.by_id_digest(id_digest)
            matching = [c for c in cards if normalise_name(c.name) == clean_name]
            if matching:
                for limit, key in buckets:
                    await limit.give_back(uow.limits, key, now)
            else:
                await uow.audit.record(now, "realname.mismatch", actor=client_id,
                                       subject=f"account:{account_id}")
        if not matching:
            raise NotFound("no card matches this name and ID number", code="realname_mismatch")
        # Prefer the card in use; replaced ones stay on record beside their successor.
        matching.sort(key=lambda c: (c.status != "normal", c.loss_state != "none"))
        card = matching[0]
        reason = card_usability(card) if purpose == "claim" else (
            None if card.status == "normal" else f"the card has been {card.status}")
        if reason is not None:
            raise Conflict(reason, code="card_not_usable", card_status=card.status,
                           loss_state=card.loss_state)
        check = RealnameCheck(id=new_token(16), account_id=account_id, client_id=client_id,
                              card_no=card.card_no, created_at=now, expires_at=now + REALNAME_TTL)
        async with self._storage.unit_of_work() as uow:
            await uow.realname.add(check)
            await uow.audit.record(now, "realname.passed", actor=client_id,
                                   subject=f"account:{account_id}", detail={"card_no": card.card_no})
        return RealnameResult(check=check, card=card)

    async def get(self, check_id: str, account_id: int) -> RealnameResult:
        """A still-valid check made by this account (face sessions build on it)."""
        now = self._clock.now()
        async with self._storage.unit_of_work() as uow:
            check = await uow.realname.get(check_id)
            card = await uow.cards.get(check.card_no) if check else None
        if check is None or check.account_id != account_id or card is None:
            raise NotFound("no such real-name check for this account", code="unknown_realname")
        if check.expires_at <= now:
            raise InvalidInput("the real-name check has expired; check again", code="realname_expired")
        return RealnameResult(check=check, card=card)


def masked_holder(card: CardRecord) -> dict[str, str]:
    return {"name": mask_name(card.name), "id_number": card.id_masked}
