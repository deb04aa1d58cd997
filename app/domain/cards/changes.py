"""What the physical-card lifecycle tells the e-card: one call per change, in its transaction.

(A card's history entries are `app.domain.cards.model.CardEvent`; these are the changes the e-card
follows.)"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal, Protocol

if TYPE_CHECKING:
    from datetime import datetime

    from app.domain.uow import UnitOfWork

# temporary_loss → e-card suspended; unlocked → active again; formal_loss, cancelled, replaced →
# invalid (replaced also gets a fresh e-card on `new_card_no`); overdue_loss is the 300-day rule;
# financial_activated lifts the e-card to sign level 2 (payment needs the financial application).
CardChange = Literal[
    "temporary_loss", "overdue_loss", "unlocked", "formal_loss", "cancelled", "replaced", "financial_activated"
]


class CardStateListener(Protocol):
    async def card_changed(
        self, uow: UnitOfWork, card_no: str, event: CardChange, *, at: datetime,
        new_card_no: str | None = None,
    ) -> None: ...
