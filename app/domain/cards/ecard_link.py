"""The state of the e-card that follows a physical card, for the card view."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from app.domain.uow import UnitOfWork


class LiveEcardState:
    """The state of the e-card last issued on the card: `active`, `suspended`, or `invalid` (after
    a formal loss, replacement or cancellation, as the status list says); None when no e-card was
    ever claimed on this card."""

    async def ecard_state(self, uow: UnitOfWork, card_no: str) -> str | None:
        ecard = await uow.ecards.live_for_card(card_no) or await uow.ecards.latest_for_card(card_no)
        return None if ecard is None else ecard.state
