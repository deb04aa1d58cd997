"""The card lifecycle service: every transition, its audit entry and the e-card rule in one transaction."""

from __future__ import annotations

import hmac
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import msgspec

from app.domain.cards.activation import (
    RequestedApplications,
    activate,
    applications_for,
    normalise_contact,
)
from app.domain.cards.agents import agent_record, validate_agent
from app.domain.cards.lifecycle import LossAction, next_loss_state, require_normal, require_not_lost
from app.domain.cards.model import (
    PIN_ATTEMPTS,
    ActivationChannel,
    Actor,
    CardEvent,
    CardRecord,
    Contact,
    LossKind,
    PinState,
)
from app.domain.cards.pin import (
    PinHasher,
    check_new_pin,
    check_pin_shape,
    initial_pin,
)
from app.domain.cards.replacement import new_card_number, replacement_card
from app.domain.cards.repository import ECardStateReader
from app.domain.cards.sweep import (
    FINANCIAL_ACTIVATION_DAYS,
    TEMPORARY_LOSS,
    SweepReport,
    is_overdue,
    temporary_loss_lapsed,
)
from app.domain.idnumber import parse_id_number
from app.domain.text import ascii_number
from app.errors import Conflict, DomainError, Forbidden, InvalidInput, NotFound, RateLimited

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from app.clock import Clock
    from app.domain.cards.changes import CardChange, CardStateListener
    from app.domain.uow import Storage, UnitOfWork
    from app.security.vault import Vault

    # A step a caller adds to a transition, run in its transaction with the card held, at the moment.
    InTransition = Callable[[UnitOfWork, CardRecord, datetime], Awaitable[None]]

_NUMBER_ATTEMPTS = 32


class PinLockedError(DomainError):
    status = 423
    default_code = "pin_locked"


class CardSnapshot(msgspec.Struct, frozen=True, kw_only=True):
    card: CardRecord
    ecard_state: str | None


class Replacement(msgspec.Struct, frozen=True, kw_only=True):
    old: CardRecord
    new: CardRecord


class CardService:
    def __init__(
        self, storage: Storage, clock: Clock, vault: Vault, listener: CardStateListener, *,
        pin_hasher: PinHasher, ecards: ECardStateReader | None = None,
    ) -> None:
        self._storage = storage
        self._clock = clock
        self._vault = vault
        self._listener = listener
        self._pins = pin_hasher
        self._ecards = ecards

    # -- reading -------------------------------------------------------------------------------

    async def get(self, card_no: str) -> CardSnapshot:
        async with self._storage.unit_of_work() as uow:
            card = await _read(uow, card_no)
            state = await self._ecards.ecard_state(uow, card_no) if self._ecards else None
        return CardSnapshot(card=card, ecard_state=state)

    async def history(self, card_no: str) -> list[CardEvent]:
        async with self._storage.unit_of_work() as uow:
            await _read(uow, card_no)
            return await uow.cards.events(card_no)

    # -- activation ----------------------------------------------------------------------------

    async def activate(
        self, card_no: str, *, channel: ActivationChannel, holder_id_number: str, actor: Actor,
        application: RequestedApplications | None = None, contact: Contact | None = None,
    ) -> CardRecord:
        """Enable one or both applications through `channel` and confirm the holder's contact."""
        holder = self._holder_digest(holder_id_number)
        applications = applications_for(channel, application)
        confirmed = normalise_contact(contact or Contact())
        at = self._clock.now()
        async with self._storage.unit_of_work() as uow:
            card = await _load(uow, card_no)
            agent = self._check_parties(card, holder, actor, at)
            after = activate(card, applications, channel, confirmed, at=at)
            updated = [f for f in ("phone", "address", "postcode") if getattr(confirmed, f) is not None]
            financial_now = card.fin_state != "active" and after.fin_state == "active"
            return await self._commit(
                uow, card, after, "activated", actor=actor, agent=agent, at=at,
                ecard="financial_activated" if financial_now else None,
                detail={"channel": channel, "applications": list(applications),
                        "contact_updated": updated},
            )

    # -- loss, unlock, replacement, cancellation ------------------------------------------------

    async def report_loss(
        self, card_no: str, kind: LossKind, *, actor: Actor, holder_id_number: str | None = None,
        within: InTransition | None = None,
    ) -> CardRecord:
        """A temporary (7 days) or formal (final) loss report. Anyone may report a card lost; the
        holder's ID number is checked when given. `within` runs in the transition's transaction once
        the card is held (the holder's own proof, when the holder acts from an app)."""
        holder = self._holder_digest(holder_id_number) if holder_id_number is not None else None
        action: LossAction = "report_temporary" if kind == "temporary" else "report_formal"
        at = self._clock.now()
        async with self._storage.unit_of_work() as uow:
            card = await _load(uow, card_no)
            agent = self._check_parties(card, holder, actor, at)
            if within is not None:
                await within(uow, card, at)
            loss = next_loss_state(card, action)
            after = msgspec.structs.replace(card, loss_state=loss, loss_since=at)
            event: CardChange = "temporary_loss" if kind == "temporary" else "formal_loss"
            return await self._commit(
                uow, card, after, "loss_reported", actor=actor, agent=agent, at=at, ecard=event,
                detail={"kind": kind},
            )

    async def unlock(self, card_no: str, *, holder_id_number: str | None, actor: Actor,
                     within: InTransition | None = None) -> CardRecord:
        """Lift a temporary loss report, or a 300-day one once the financial application is active.

        The holder's ID number is required at a counter; a holder acting from an app proves who they
        are in `within` instead (run in the transaction once the card is held)."""
        holder = self._holder_digest(holder_id_number) if holder_id_number is not None else None
        at = self._clock.now()
        async with self._storage.unit_of_work() as uow:
            card = await _load(uow, card_no)
            agent = self._check_parties(card, holder, actor, at)
            if within is not None:
                await within(uow, card, at)
            loss = next_loss_state(card, "unlock")
            after = msgspec.structs.replace(card, loss_state=loss, loss_since=None)
            return await self._commit(
                uow, card, after, "unlocked", actor=actor, agent=agent, at=at, ecard="unlocked",
                detail={"lifted": card.loss_state},
            )

    async def replace(
        self, card_no: str, *, holder_id_number: str, actor: Actor, reason: str = "lost",
    ) -> Replacement:
        """Issue a new card number in the same region; the old card becomes invalid (replaced)."""
        holder = self._holder_digest(holder_id_number)
        at = self._clock.now()
        async with self._storage.unit_of_work() as uow:
            old = await _load(uow, card_no)
            agent = self._check_parties(old, holder, actor, at)
            require_normal(old)
            number = await self._fresh_number(uow, old)
            id_number = self._vault.unseal(old.id_sealed, context=old.card_no.encode())
            new = replacement_card(old, number, self._vault.seal(id_number, context=number.encode()), at=at)
            photo = await uow.cards.sealed_photo(old.card_no)
            if photo is not None:
                photo = self._vault.seal(
                    self._vault.unseal(photo, context=old.card_no.encode()), context=number.encode())
            # The old card leaves use before the new one enters it: one card in use per person holds
            # at every statement (a unique index on PostgreSQL). Then the link to the new card.
            retired = msgspec.structs.replace(old, status="replaced", status_since=at, updated_at=at)
            if not await uow.cards.save(retired):
                raise Conflict("the card was changed by another request; retry", code="concurrent_update")
            await uow.cards.add_replacement(old.card_no, new, photo)
            replaced = msgspec.structs.replace(retired, replaced_by=number, version=retired.version + 1)
            replaced = await self._commit(
                uow, old, replaced, "replaced", actor=actor, agent=agent, at=at, ecard="replaced",
                new_card_no=number, detail={"reason": reason, "new_card_no": number},
            )
            await self._record(
                uow, None, new, "issued_as_replacement", actor=actor, agent=agent, at=at,
                detail={"replaces": old.card_no},
            )
        return Replacement(old=replaced, new=new)

    async def cancel(
        self, card_no: str, *, holder_id_number: str, actor: Actor, reason: str,
    ) -> CardRecord:
        """Cancel (注销) a card, e.g. when its holder has died or left the scheme; final."""
        holder = self._holder_digest(holder_id_number)
        at = self._clock.now()
        async with self._storage.unit_of_work() as uow:
            card = await _load(uow, card_no)
            agent = self._check_parties(card, holder, actor, at)
            require_normal(card)
            after = msgspec.structs.replace(card, status="cancelled", status_since=at)
            return await self._commit(
                uow, card, after, "cancelled", actor=actor, agent=agent, at=at, ecard="cancelled",
                detail={"reason": reason},
            )

    # -- PIN -----------------------------------------------------------------------------------

    async def verify_pin(self, card_no: str, pin: str, *, actor: Actor) -> CardRecord:
        """Check a PIN entry. Wrong: `pin_incorrect` with the attempts left, `pin_locked` at the
        sixth. Right but still the initial PIN: `pin_change_required`."""
        pin = ascii_number(pin)
        check_pin_shape(pin, field="pin")
        card, entry = await self._count_attempt(card_no, actor)
        matches = await self._pin_matches(card, pin)
        after = await self._settle_attempt(card, entry, matches, actor, "pin_verified")
        if after.pin.change_required:
            raise Forbidden(
                "the initial PIN must be changed before the card is used", code="pin_change_required")
        return after

    async def change_pin(self, card_no: str, old_pin: str, new_pin: str, *, actor: Actor) -> CardRecord:
        """Replace the PIN, proving the current one; weak new PINs are refused before any attempt
        is counted."""
        old_pin, new_pin = ascii_number(old_pin), ascii_number(new_pin)
        check_pin_shape(old_pin, field="old_pin")
        check_pin_shape(new_pin, field="new_pin")
        async with self._storage.unit_of_work() as uow:
            card = await _read(uow, card_no)
            require_not_lost(card)
        check_new_pin(new_pin, initial=initial_pin(self._holder_id(card)))
        if hmac.compare_digest(old_pin, new_pin):
            raise InvalidInput("new_pin: the same as the current PIN", code="weak_pin",
                               field="new_pin", reason="same_as_current")
        card, entry = await self._count_attempt(card_no, actor)
        matches = await self._pin_matches(card, old_pin)
        new_hash = await self._pins.hash(card_no, new_pin) if matches else None
        return await self._settle_attempt(card, entry, matches, actor, "pin_changed", new_hash=new_hash)

    async def reset_pin(
        self, card_no: str, *, holder_id_number: str, actor: Actor, new_pin: str | None = None,
    ) -> CardRecord:
        """At the counter with the holder's ID: unlock the PIN and set `new_pin`, or the initial PIN
        again (to be changed before use) when none is given."""
        holder_id = parse_id_number(holder_id_number, today=self._clock.now().date(),
                                    field="holder_id_number")
        new_hash = None
        if new_pin is not None:
            new_pin = ascii_number(new_pin)
            check_new_pin(new_pin, initial=initial_pin(holder_id.value))
            new_hash = await self._pins.hash(card_no, new_pin)
        at = self._clock.now()
        async with self._storage.unit_of_work() as uow:
            card = await _load(uow, card_no)
            agent = self._check_parties(card, self._vault.index(holder_id.value), actor, at)
            require_normal(card)
            pin = PinState(hash=new_hash, change_required=new_hash is None, changed_at=at)
            after = msgspec.structs.replace(card, pin=pin)
            return await self._commit(
                uow, card, after, "pin_reset", actor=actor, agent=agent, at=at,
                detail={"initial_pin": new_hash is None},
            )

    # -- the sweep -----------------------------------------------------------------------------

    async def sweep(self, as_of: datetime | None = None) -> SweepReport:
        """Lift temporary loss reports older than 7 days, then report lost the cards whose financial
        application is still inactive 300 days after collection. Running it again changes nothing."""
        moment = as_of or self._clock.now()
        async with self._storage.unit_of_work() as uow:
            lapsing = await uow.cards.temporary_losses_reported_before(moment - TEMPORARY_LOSS)
        lifted = await self._sweep_each(
            lapsing, moment, lambda card: temporary_loss_lapsed(card, moment),
            lambda card: msgspec.structs.replace(
                card, loss_state=next_loss_state(card, "lift_temporary"), loss_since=None),
            "loss_lapsed", "unlocked", lambda _card: {"lifted": "temporary"},
        )
        async with self._storage.unit_of_work() as uow:
            due = await uow.cards.financially_inactive_collected_on_or_before(
                moment.date() - timedelta(days=FINANCIAL_ACTIVATION_DAYS))
        overdue = await self._sweep_each(
            due, moment, lambda card: is_overdue(card, moment),
            lambda card: msgspec.structs.replace(
                card, loss_state=next_loss_state(card, "report_overdue"), loss_since=moment),
            "overdue_loss", "overdue_loss", lambda card: {"collected_on": str(card.collected_on)},
        )
        return SweepReport(as_of=moment, lifted_temporary_losses=lifted, overdue_losses=overdue)

    async def _sweep_each(
        self, candidates: list[str], moment: datetime, still_due: Callable[[CardRecord], bool],
        transition: Callable[[CardRecord], CardRecord], action: str, ecard: CardChange,
        detail: Callable[[CardRecord], dict[str, Any]],
    ) -> list[str]:
        """Apply one sweep rule to each candidate in its own transaction, re-checked on fresh data."""
        done = []
        for card_no in candidates:
            async with self._storage.unit_of_work() as uow:
                card = await _load(uow, card_no)
                if not still_due(card):
                    continue
                await self._commit(uow, card, transition(card), action, actor=Actor(channel="sweep"),
                                   agent=None, at=moment, ecard=ecard, detail=detail(card))
            done.append(card_no)
        return done

    # -- helpers -------------------------------------------------------------------------------

    def _holder_digest(self, holder_id_number: str) -> str:
        """Validate the holder's ID number (before any lookup) and return its keyed digest."""
        parsed = parse_id_number(holder_id_number, today=self._clock.now().date(),
                                 field="holder_id_number")
        return self._vault.index(parsed.value)

    def _check_parties(
        self, card: CardRecord, holder_digest: str | None, actor: Actor, at: datetime,
    ) -> dict[str, str] | None:
        """The holder's ID must be this card's; an agent is validated and returned for the record."""
        if holder_digest is not None and not hmac.compare_digest(holder_digest, card.id_digest):
            raise Forbidden("holder_id_number is not the holder of this card", code="holder_mismatch",
                            field="holder_id_number")
        if actor.agent is None:
            return None
        parsed = validate_agent(actor.agent, holder_digest=card.id_digest, vault=self._vault,
                                today=at.date())
        return agent_record(actor.agent, parsed, self._vault)

    def _holder_id(self, card: CardRecord) -> str:
        return self._vault.unseal(card.id_sealed, context=card.card_no.encode()).decode()

    async def _fresh_number(self, uow: UnitOfWork, old: CardRecord) -> str:
        for _ in range(_NUMBER_ATTEMPTS):
            candidate = new_card_number(old)
            if candidate != old.card_no and not await uow.cards.exists(candidate):
                return candidate
        raise Conflict("no free card number could be drawn; retry", code="card_number_exhausted")

    async def _pin_matches(self, card: CardRecord, pin: str) -> bool:
        if card.pin.hash is None:
            return hmac.compare_digest(pin, initial_pin(self._holder_id(card)))
        return await self._pins.verify(card.pin.hash, card.card_no, pin)

    async def _count_attempt(self, card_no: str, actor: Actor) -> tuple[CardRecord, int]:
        """Count the entry before checking it, so that parallel guesses cannot exceed the limit;
        the card and the entry's number among the failures on record."""
        at = self._clock.now()
        async with self._storage.unit_of_work() as uow:
            card = await _load(uow, card_no)
            self._check_parties(card, None, actor, at)
            require_not_lost(card)
            if card.pin.locked:
                raise PinLockedError("the PIN is locked after 6 wrong entries; reset it at a counter")
            entry = await uow.cards.count_pin_attempt(card_no, limit=PIN_ATTEMPTS)
            if entry is None:
                # Six entries are on record and still being checked: their outcome decides.
                raise RateLimited("other PIN entries for this card are being checked; try again",
                                  code="pin_busy", retry_after=1)
            return await _load(uow, card_no), entry

    async def _settle_attempt(
        self, counted: CardRecord, entry: int, matches: bool, actor: Actor, success: str,
        *, new_hash: str | None = None,
    ) -> CardRecord:
        """Record the outcome of a counted PIN entry; raise after the transaction on a wrong PIN.

        A wrong entry is answered as its place among the failures says (the sixth locks), so that
        entries checked side by side get what they would have got one after another."""
        at = self._clock.now()
        async with self._storage.unit_of_work() as uow:
            card = await _load(uow, counted.card_no)
            agent = self._check_parties(card, None, actor, at)
            if card.pin.hash != counted.pin.hash:
                raise Conflict("the PIN was changed meanwhile; enter it again", code="concurrent_update")
            if matches:
                pin = msgspec.structs.replace(card.pin, failures=0)
                if new_hash is not None:
                    pin = PinState(hash=new_hash, change_required=False, changed_at=at)
                after = msgspec.structs.replace(card, pin=pin)
                return await self._commit(uow, card, after, success, actor=actor, agent=agent, at=at)
            # A right entry settled meanwhile has cleared the failures, this one's among them.
            cleared = card.pin.failures < entry
            locked = not cleared and entry >= PIN_ATTEMPTS
            remaining = PIN_ATTEMPTS - (card.pin.failures if cleared else entry)
            after = msgspec.structs.replace(
                card, pin=msgspec.structs.replace(card.pin, locked_at=at if locked else card.pin.locked_at))
            await self._commit(
                uow, card, after, "pin_locked" if locked else "pin_failed", actor=actor,
                agent=agent, at=at, detail={"failures": card.pin.failures},
            )
        if locked:
            raise PinLockedError("the PIN is locked after 6 wrong entries; reset it at a counter")
        raise Forbidden(f"wrong PIN; {remaining} attempts left", code="pin_incorrect",
                        attempts_remaining=remaining)

    async def _commit(
        self, uow: UnitOfWork, before: CardRecord, after: CardRecord, action: str, *,
        actor: Actor, agent: dict[str, str] | None, at: datetime, ecard: CardChange | None = None,
        new_card_no: str | None = None, detail: dict[str, Any] | None = None,
    ) -> CardRecord:
        """Save one transition with its history and audit entries, and tell the e-card."""
        if not await uow.cards.save(msgspec.structs.replace(after, updated_at=at)):
            raise Conflict("the card was changed by another request; retry", code="concurrent_update")
        await self._record(uow, before, after, action, actor=actor, agent=agent, at=at, detail=detail)
        if ecard is not None:
            await self._listener.card_changed(uow, before.card_no, ecard, at=at, new_card_no=new_card_no)
        return msgspec.structs.replace(after, updated_at=at, version=after.version + 1)

    async def _record(
        self, uow: UnitOfWork, before: CardRecord | None, after: CardRecord, action: str, *,
        actor: Actor, agent: dict[str, str] | None, at: datetime,
        detail: dict[str, Any] | None = None,
    ) -> None:
        event = CardEvent(
            card_no=after.card_no, at=at, action=action, actor=actor.channel, agent=agent,
            before=before.summary() if before else {}, after=after.summary(), detail=detail or {},
        )
        await uow.cards.add_event(event)
        # The audit entry names an agent by keyed digest and power of attorney only: their name and
        # masked ID stay in the card's history, sealed.
        audited_agent = None if agent is None else {
            k: agent[k] for k in ("id_digest", "power_of_attorney_ref") if k in agent}
        await uow.audit.record(at, f"card.{action}", actor=actor.channel, subject=after.card_no, detail={
            "agent": audited_agent, "before": event.before, "after": event.after, **event.detail,
        })


async def _read(uow: UnitOfWork, card_no: str) -> CardRecord:
    card = await uow.cards.get(card_no)
    if card is None:
        raise NotFound(f"no card {card_no!r}", code="card_not_found")
    return card


async def _load(uow: UnitOfWork, card_no: str) -> CardRecord:
    """The card, held for a transition until the unit of work ends."""
    card = await uow.cards.get_for_update(card_no)
    if card is None:
        raise NotFound(f"no card {card_no!r}", code="card_not_found")
    return card
