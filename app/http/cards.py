"""Physical cards (实体社保卡): for counter, bank, hospital and pharmacy systems with `card:manage`."""

from __future__ import annotations

from datetime import date, datetime

from litestar import Controller, get, post
from litestar.params import FromPath, JSONBody

from app.clock import rfc3339
from app.domain.cards.model import Actor, Agent, CardEvent, CardRecord, Contact, card_number
from app.domain.cards.service import CardSnapshot
from app.domain.cards.sweep import financial_deadline, temporary_loss_lifts_at
from app.domain.idnumber import mask_name
from app.domain.principals import Principal
from app.http.deps import PrincipalDep, ServicesDep
from app.http.openapi import PROBLEMS
from models.cards import (
    ActivationRequest,
    AgentIn,
    AgentRecordView,
    ApplicationView,
    CancellationRequest,
    CardEventView,
    CardHolderView,
    CardView,
    LossReportRequest,
    LossView,
    PinChangeRequest,
    PinResetRequest,
    PinResult,
    PinVerifyRequest,
    PinView,
    ReplacementRequest,
    ReplacementResult,
    UnlockRequest,
)

SCOPE = "card:manage"


def _actor(principal: Principal, agent: AgentIn | None = None) -> Actor:
    client_id = principal.channel(SCOPE)
    return Actor(channel=client_id, agent=None if agent is None else Agent(
        name=agent.name, id_number=agent.id_number, power_of_attorney_ref=agent.power_of_attorney_ref))


def _day(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def _moment(value: datetime | None) -> str | None:
    return None if value is None else rfc3339(value)


def _phone(phone: str | None) -> str | None:
    return None if phone is None or len(phone) < 7 else phone[:3] + "*" * (len(phone) - 7) + phone[-4:]


def card_view(card: CardRecord, ecard_state: str | None = None) -> CardView:
    return CardView(
        card_no=card.card_no, aab301=card.aab301, status=card.status,
        holder=CardHolderView(name=mask_name(card.name), id_number=card.id_masked,
                              phone=_phone(card.phone), address=card.address, postcode=card.postcode),
        social_security=ApplicationView(state=card.ss_state, since=_day(card.ss_since),
                                        channel=card.ss_channel),
        financial=ApplicationView(state=card.fin_state, since=_day(card.fin_since),
                                  channel=card.fin_channel),
        collected_on=_day(card.collected_on), financial_deadline=_day(financial_deadline(card)),
        loss=LossView(state=card.loss_state, since=_moment(card.loss_since),
                      lifts_at=_moment(temporary_loss_lifts_at(card))),
        pin=PinView(change_required=card.pin.change_required, locked=card.pin.locked,
                    attempts_remaining=card.pin.attempts_remaining),
        replaced_by=card.replaced_by, replaces=card.replaces,
        ecard_state=ecard_state,  # type: ignore[arg-type]
        updated_at=_moment(card.updated_at),
    )


def _snapshot_view(snapshot: CardSnapshot) -> CardView:
    return card_view(snapshot.card, snapshot.ecard_state)


def _event_view(event: CardEvent) -> CardEventView:
    agent = event.agent
    return CardEventView(
        at=rfc3339(event.at), action=event.action, actor=event.actor,
        agent=None if agent is None else AgentRecordView(
            name=agent["name"], id_masked=agent["id_masked"],
            power_of_attorney_ref=agent["power_of_attorney_ref"]),
        before=event.before, after=event.after, detail=event.detail,
    )


class CardController(Controller):
    path = "/v1/cards"
    tags = ("physical cards",)

    @get("/{card_no:str}", responses=PROBLEMS)
    async def show(self, card_no: FromPath[str], services: ServicesDep, principal: PrincipalDep) -> CardView:
        """The card record: masked holder, both applications, loss and PIN state, the e-card's state."""
        principal.channel(SCOPE)
        return _snapshot_view(await services.cards.get(card_number(card_no)))

    @get("/{card_no:str}/events", responses=PROBLEMS)
    async def events(self, card_no: FromPath[str], services: ServicesDep,
                     principal: PrincipalDep) -> list[CardEventView]:
        """The card's history of transitions, oldest first (who, through which channel, for whom)."""
        principal.channel(SCOPE)
        return [_event_view(e) for e in await services.cards.history(card_number(card_no))]

    @post("/{card_no:str}/activations", status_code=200, responses=PROBLEMS)
    async def activate(
        self, card_no: FromPath[str], data: JSONBody[ActivationRequest], services: ServicesDep,
        principal: PrincipalDep,
    ) -> CardView:
        """Enable the social security and/or financial application (激活) and confirm the contact."""
        contact = None if data.contact is None else Contact(
            phone=data.contact.phone, address=data.contact.address, postcode=data.contact.postcode)
        card = await services.cards.activate(
            card_number(card_no), channel=data.channel, holder_id_number=data.holder_id_number,
            application=data.application, contact=contact, actor=_actor(principal, data.agent))
        return await self._view(services, card)

    @post("/{card_no:str}/loss-reports", status_code=200, responses=PROBLEMS)
    async def report_loss(
        self, card_no: FromPath[str], data: JSONBody[LossReportRequest], services: ServicesDep,
        principal: PrincipalDep,
    ) -> CardView:
        """Report the card lost (挂失): `temporary` (7 days) or `formal` (final)."""
        card = await services.cards.report_loss(
            card_number(card_no), data.kind, holder_id_number=data.holder_id_number,
            actor=_actor(principal, data.agent))
        return await self._view(services, card)

    @post("/{card_no:str}/unlock", status_code=200, responses=PROBLEMS)
    async def unlock(
        self, card_no: FromPath[str], data: JSONBody[UnlockRequest], services: ServicesDep,
        principal: PrincipalDep,
    ) -> CardView:
        """Lift a loss report (解挂); a 300-day loss only once the financial application is active."""
        card = await services.cards.unlock(
            card_number(card_no), holder_id_number=data.holder_id_number, actor=_actor(principal, data.agent))
        return await self._view(services, card)

    @post("/{card_no:str}/replacements", status_code=201, responses=PROBLEMS)
    async def replace(
        self, card_no: FromPath[str], data: JSONBody[ReplacementRequest], services: ServicesDep,
        principal: PrincipalDep,
    ) -> ReplacementResult:
        """Replace the card (补换卡): a new card number in the same region; the old card is invalid."""
        result = await services.cards.replace(
            card_number(card_no), holder_id_number=data.holder_id_number, reason=data.reason,
            actor=_actor(principal, data.agent))
        return ReplacementResult(old_card=await self._view(services, result.old),
                                 new_card=await self._view(services, result.new))

    @post("/{card_no:str}/cancellation", status_code=200, responses=PROBLEMS)
    async def cancel(
        self, card_no: FromPath[str], data: JSONBody[CancellationRequest], services: ServicesDep,
        principal: PrincipalDep,
    ) -> CardView:
        """Cancel the card (注销); final, its e-card becomes invalid."""
        card = await services.cards.cancel(
            card_number(card_no), holder_id_number=data.holder_id_number, reason=data.reason,
            actor=_actor(principal, data.agent))
        return await self._view(services, card)

    @post("/{card_no:str}/pin/verify", status_code=200, responses=PROBLEMS)
    async def verify_pin(
        self, card_no: FromPath[str], data: JSONBody[PinVerifyRequest], services: ServicesDep,
        principal: PrincipalDep,
    ) -> PinResult:
        """Check a PIN entry: wrong → 403 `pin_incorrect`, sixth wrong → 423 `pin_locked`, the
        initial PIN → 403 `pin_change_required`."""
        card = await services.cards.verify_pin(card_number(card_no), data.pin, actor=_actor(principal))
        return _pin_result(card, verified=True)

    @post("/{card_no:str}/pin/change", status_code=200, responses=PROBLEMS)
    async def change_pin(
        self, card_no: FromPath[str], data: JSONBody[PinChangeRequest], services: ServicesDep,
        principal: PrincipalDep,
    ) -> PinResult:
        """Change the PIN; weak PINs (one digit repeated, runs, the initial PIN) → 422 `weak_pin`."""
        card = await services.cards.change_pin(card_number(card_no), data.old_pin, data.new_pin,
                                               actor=_actor(principal))
        return _pin_result(card)

    @post("/{card_no:str}/pin/reset", status_code=200, responses=PROBLEMS)
    async def reset_pin(
        self, card_no: FromPath[str], data: JSONBody[PinResetRequest], services: ServicesDep,
        principal: PrincipalDep,
    ) -> PinResult:
        """At a counter with the holder's ID number: unlock the PIN, set `new_pin` or restore the
        initial PIN."""
        card = await services.cards.reset_pin(
            card_number(card_no), holder_id_number=data.holder_id_number, new_pin=data.new_pin,
            actor=_actor(principal, data.agent))
        return _pin_result(card)

    @staticmethod
    async def _view(services: ServicesDep, card: CardRecord) -> CardView:
        return _snapshot_view(await services.cards.get(card.card_no))


def _pin_result(card: CardRecord, *, verified: bool | None = None) -> PinResult:
    return PinResult(card_no=card.card_no, verified=verified,
                     pin=PinView(change_required=card.pin.change_required, locked=card.pin.locked,
                                 attempts_remaining=card.pin.attempts_remaining))
