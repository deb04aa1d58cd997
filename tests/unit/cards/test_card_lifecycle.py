"""The state machine table: every loss state × action, and the final statuses."""

from __future__ import annotations

import pytest

from app.domain.cards.lifecycle import LOSS_TRANSITIONS, next_loss_state, require_not_lost
from app.errors import Conflict
from tests.unit.fakes import card

ALLOWED = [
    ("report_temporary", "none", "temporary"),
    ("report_formal", "none", "formal"),
    ("report_formal", "temporary", "formal"),
    ("report_formal", "overdue", "formal"),
    ("unlock", "temporary", "none"),
    ("lift_temporary", "temporary", "none"),
    ("report_overdue", "none", "overdue"),
]

REFUSED = [
    ("report_temporary", "temporary", "already_reported_lost"),
    ("report_temporary", "overdue", "already_reported_lost"),
    ("report_temporary", "formal", "formal_loss_irreversible"),
    ("report_formal", "formal", "already_reported_lost"),
    ("unlock", "none", "not_reported_lost"),
    ("unlock", "formal", "formal_loss_irreversible"),
    ("lift_temporary", "overdue", "not_temporarily_lost"),
    ("report_overdue", "temporary", "not_due"),
]


def test_table_covers_every_action_and_loss_state() -> None:
    for outcomes in LOSS_TRANSITIONS.values():
        assert set(outcomes) == {"none", "temporary", "formal", "overdue"}


@pytest.mark.parametrize(("action", "before", "after"), ALLOWED)
def test_allowed_transition_moves_to_the_tabled_state(action, before, after) -> None:
    assert next_loss_state(card(loss_state=before), action) == after


@pytest.mark.parametrize(("action", "before", "code"), REFUSED)
def test_forbidden_transition_is_a_conflict_naming_why(action, before, code) -> None:
    with pytest.raises(Conflict) as refused:
        next_loss_state(card(loss_state=before), action)
    assert refused.value.code == code
    assert refused.value.status == 409


def test_unlock_after_300_day_loss_refused_before_financial_activation() -> None:
    with pytest.raises(Conflict) as refused:
        next_loss_state(card(loss_state="overdue", fin_state="inactive"), "unlock")
    assert refused.value.code == "financial_application_inactive"


def test_unlock_after_300_day_loss_allowed_once_financial_active() -> None:
    assert next_loss_state(card(loss_state="overdue", fin_state="active"), "unlock") == "none"


@pytest.mark.parametrize(("status", "code"), [("replaced", "card_replaced"), ("cancelled", "card_cancelled")])
def test_replaced_or_cancelled_card_refuses_every_action(status, code) -> None:
    for action in LOSS_TRANSITIONS:
        with pytest.raises(Conflict) as refused:
            next_loss_state(card(status=status, replaced_by="A99999999"), action)
        assert refused.value.code == code


def test_card_reported_lost_cannot_be_used() -> None:
    with pytest.raises(Conflict) as refused:
        require_not_lost(card(loss_state="temporary"))
    assert refused.value.code == "card_reported_lost"
