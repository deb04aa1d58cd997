"""The state of the e-card that follows a physical card, for the card view."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from app.domain.uow import UnitOfWork


class LiveEcardState:
    """`active` or `suspended` for the card's live e-card; None when it has none (never claimed,
    or invalid since a formal loss, replacement or cancellation)."""

    async def ecard_state(self, uow: UnitOfWork, card_no: str) -> str | None:
        ecard = await uow.ecards.live_for_card(card_no)
        return None if ecard is None else ecard.state
