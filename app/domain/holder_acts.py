"""The holder's own acts from an app (scope `ecard:manage`): report the physical card temporarily
lost, lift that report, cancel the e-card.

Each act is proven by a face session that passed within 10 minutes on the holder's card and is
spent on it (`app.domain.face_proof`). The card's history names the app's channel as the one that
acted; the e-card and the status list follow in the same transaction, so a relying party sees the
change at once. What stays with the counter is refused with a code naming why: a formal loss
report (`formal_loss_at_counter`), lifting a loss made by the 300-day rule (`unlock_at_counter`),
and, through the card's own rules, anything on a card reported formally lost, replaced or
cancelled.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

from app.domain.cards.model import Actor, CardEvent, LossKind
from app.domain.ecard_usage import UsageKind, usage_event
from app.domain.ecards import holders_ecard
from app.domain.face_proof import spend_face_pass
from app.domain.family import end_links_of
from app.errors import Conflict

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable
    from datetime import datetime

    from app.clock import Clock
    from app.domain.cards.model import CardRecord
    from app.domain.cards.service import CardService
    from app.domain.ecards import Ecard, EcardService, EcardView
    from app.domain.uow import Storage, UnitOfWork


class _Done(Exception):
    """The face session was spent on this very act and what it did still stands: a retry."""


class HolderActs:
    def __init__(self, storage: Storage, clock: Clock, cards: CardService, ecards: EcardService) -> None:
        self._storage = storage
        self._clock = clock
        self._cards = cards
        self._ecards = ecards

    async def report_loss(self, account_id: int, client_id: str, face_session_id: str,
                          kind: LossKind = "temporary") -> EcardView:
        """Report the holder's physical card temporarily lost (临时挂失); the e-card is suspended."""
        if kind != "temporary":
            raise Conflict("a formal loss report is made at a counter, with the holder's ID",
                           code="formal_loss_at_counter")
        ecard = await self._ecard(account_id, client_id)
        with contextlib.suppress(_Done):
            await self._cards.report_loss(
                ecard.card_no, "temporary", actor=Actor(channel=client_id),
                within=self._proven(account_id, client_id, face_session_id, ecard, "loss_reported",
                                    stands=lambda card: card.status == "normal" and card.loss_state == "temporary"))
        return await self._ecards.me(account_id, client_id)

    async def unlock(self, account_id: int, client_id: str, face_session_id: str) -> EcardView:
        """Lift the card's temporary loss report (解挂); the e-card is active again."""
        ecard = await self._ecard(account_id, client_id)
        proof = self._proven(account_id, client_id, face_session_id, ecard, "unlocked",
                             stands=lambda card: card.status == "normal" and card.loss_state == "none")

        async def temporary_only(uow: UnitOfWork, card: CardRecord, at: datetime) -> None:
            if card.status == "normal" and card.loss_state == "overdue":
                # 如因金融应用未启用导致卡片社保应用被挂失，持卡人需启用卡片金融应用后，到人社部门解挂。
                raise Conflict("the card was reported lost by the 300-day rule: enable the financial "
                               "application at the bank, then have it unlocked at a counter",
                               code="unlock_at_counter", loss_state=card.loss_state)
            await proof(uow, card, at)

        with contextlib.suppress(_Done):
            await self._cards.unlock(ecard.card_no, holder_id_number=None, actor=Actor(channel=client_id),
                                     within=temporary_only)
        return await self._ecards.me(account_id, client_id)

    async def cancel(self, account_id: int, client_id: str, face_session_id: str) -> None:
        """Cancel the e-card (注销电子社保卡): it becomes invalid at once; the physical card is not
        touched, and a later claim issues a new e-card."""
        now = self._clock.now()
        async with self._storage.unit_of_work() as uow:
            found = await holders_ecard(uow, account_id, client_id)
            # The card is held first, as every card transition holds it before it changes the
            # e-card: a loss report or unlock at a counter comes wholly before or after this.
            card = await uow.cards.get_for_update(found.card_no)
            ecard = await uow.ecards.get(found.sign_no) or found
            act = f"ecard_cancel:{ecard.sign_no}"
            if ecard.state == "invalid":
                session = await uow.face_sessions.get(face_session_id)
                if session is not None and session.account_id == account_id and session.spent_on == act:
                    return  # this very cancellation, sent again
                raise Conflict("the e-card is no longer valid", code="ecard_invalid", state=ecard.state)
            if not await spend_face_pass(uow, face_session_id, account_id=account_id, card_no=ecard.card_no,
                                         act=act, now=now):
                return
            await uow.ecards.cancel(ecard.sign_no, now)
            await end_links_of(uow, ecard.sign_no, now, actor=client_id)
            await uow.ecard_usage.record(usage_event(ecard.sign_no, "cancelled", now,
                                                     await uow.channels.get(client_id), client_id))
            if card is not None:
                summary = card.summary()
                await uow.cards.add_event(CardEvent(
                    card_no=card.card_no, at=now, action="ecard_cancelled", actor=client_id, agent=None,
                    before=summary, after=summary,
                    detail={"sign_no": ecard.sign_no, "face_session": face_session_id}))
            await uow.audit.record(now, "ecard.cancelled_by_holder", actor=client_id, subject=ecard.sign_no,
                                   detail={"account_id": account_id, "card_no": ecard.card_no,
                                           "face_session": face_session_id})

    async def _ecard(self, account_id: int, client_id: str) -> Ecard:
        """The holder's e-card through this channel; its card is what the acts touch."""
        async with self._storage.unit_of_work() as uow:
            ecard = await holders_ecard(uow, account_id, client_id)
        if ecard.state == "invalid":
            raise Conflict("the e-card is no longer valid; claim it again or go to a counter",
                           code="ecard_invalid", state=ecard.state)
        return ecard

    @staticmethod
    def _proven(account_id: int, client_id: str, face_session_id: str, ecard: Ecard, kind: UsageKind, *,
                stands: Callable[[CardRecord], bool]) -> Callable[[UnitOfWork, CardRecord, datetime], Awaitable[None]]:
        """The step the card transition runs with the card held: spend the face session on the act
        and put the act in the e-card's usage history, both undone if the transition is refused.

        A session already spent on this act (a retry after a lost answer, or a twin request that
        won) ends the transition with `_Done` while the card is as the act left it (`stands`);
        once the card has moved on, the session is `409 face_session_used` like any spent one."""
        act = f"{kind}:{ecard.card_no}"

        async def step(uow: UnitOfWork, card: CardRecord, at: datetime) -> None:
            if not await spend_face_pass(uow, face_session_id, account_id=account_id, card_no=card.card_no,
                                         act=act, now=at):
                if stands(card):
                    raise _Done
                raise Conflict("this face session was used already; pass a new face verification",
                               code="face_session_used")
            await uow.ecard_usage.record(usage_event(ecard.sign_no, kind, at, await uow.channels.get(client_id),
                                                     client_id))

        return step
