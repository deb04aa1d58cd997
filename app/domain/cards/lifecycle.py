"""The card state machine: which loss-state transitions exist, and why the others are refused.

A card's `status` is `normal` until it is replaced or cancelled; both are final. While it is normal,
its `loss_state` moves as the table below says. Every cell is either the state the card moves to or
the refusal (a 409 with a code naming why). Guards that depend on more than the loss state (the
financial application before lifting a 300-day loss) follow the table.
"""

from __future__ import annotations

from typing import Final, Literal

import msgspec

from app.domain.cards.model import CardRecord, LossState
from app.errors import Conflict

LossAction = Literal[
    "report_temporary",  # 临时挂失, at a counter or the hotline
    "report_formal",  # 正式挂失, cannot be undone; the card can only be replaced
    "unlock",  # 解挂, at a counter
    "lift_temporary",  # the sweep: a temporary loss report lapses after 7 days
    "report_overdue",  # the sweep: the 300-day rule
]


class Refusal(msgspec.Struct, frozen=True):
    code: str
    detail: str


_ALREADY = Refusal("already_reported_lost", "the card is already reported lost")
_FORMAL = Refusal("formal_loss_irreversible", "a formal loss report cannot be undone; replace the card")
_NOT_LOST = Refusal("not_reported_lost", "the card is not reported lost")
_NOT_TEMPORARY = Refusal("not_temporarily_lost", "the card has no temporary loss report")
_NOT_DUE = Refusal("not_due", "the 300-day rule does not apply to a card already reported lost")

# action → {loss state before → loss state after | refusal}
LOSS_TRANSITIONS: Final[dict[LossAction, dict[LossState, LossState | Refusal]]] = {
    "report_temporary": {"none": "temporary", "temporary": _ALREADY, "formal": _FORMAL, "overdue": _ALREADY},
    "report_formal": {"none": "formal", "temporary": "formal", "formal": _ALREADY, "overdue": "formal"},
    "unlock": {"none": _NOT_LOST, "temporary": "none", "formal": _FORMAL, "overdue": "none"},
    "lift_temporary": {"none": _NOT_TEMPORARY, "temporary": "none", "formal": _NOT_TEMPORARY,
                       "overdue": _NOT_TEMPORARY},
    "report_overdue": {"none": "overdue", "temporary": _NOT_DUE, "formal": _NOT_DUE, "overdue": _NOT_DUE},
}


def require_normal(card: CardRecord) -> None:
    """Refuse any operation on a card that was replaced or cancelled: it is no longer valid."""
    if card.status == "replaced":
        raise Conflict(
            f"card {card.card_no} was replaced by {card.replaced_by}", code="card_replaced",
            replaced_by=card.replaced_by,
        )
    if card.status == "cancelled":
        raise Conflict(f"card {card.card_no} is cancelled", code="card_cancelled")


def require_not_lost(card: CardRecord) -> None:
    """Refuse using a card (PIN, social security activation) while any loss report stands."""
    require_normal(card)
    if card.loss_state != "none":
        raise Conflict(
            f"card {card.card_no} is reported lost ({card.loss_state})", code="card_reported_lost",
            loss_state=card.loss_state,
        )


def next_loss_state(card: CardRecord, action: LossAction) -> LossState:
    """The loss state `action` moves the card to, or a Conflict naming why it may not."""
    require_normal(card)
    outcome = LOSS_TRANSITIONS[action][card.loss_state]
    if isinstance(outcome, Refusal):
        raise Conflict(outcome.detail, code=outcome.code, loss_state=card.loss_state)
    if action == "unlock" and card.loss_state == "overdue" and card.fin_state != "active":
        # 如因金融应用未启用导致卡片社保应用被挂失，持卡人需启用卡片金融应用后，到人社部门解挂。
        raise Conflict(
            "the card was reported lost by the 300-day rule; enable the financial application "
            "at the bank first, then unlock", code="financial_application_inactive",
        )
    return outcome
