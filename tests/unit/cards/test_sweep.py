"""The sweep: the 300-day financial-activation rule and the 7-day temporary loss, against a clock."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from app.domain.cards.sweep import end_of_day, financial_deadline
from tests.unit.fakes import START, World, card

COLLECTED = date(2025, 1, 1)
DEADLINE = COLLECTED + timedelta(days=300)  # 2025-10-28


def test_deadline_is_300_days_after_collection() -> None:
    assert financial_deadline(card(collected_on=COLLECTED)) == date(2025, 10, 28)


def test_no_deadline_once_financial_application_is_active() -> None:
    assert financial_deadline(card(collected_on=COLLECTED, fin_state="active")) is None


async def test_card_without_financial_activation_is_reported_lost_after_300_days(w: World) -> None:
    w.put(card(collected_on=COLLECTED))
    report = await w.service.sweep(end_of_day(DEADLINE))
    assert report.overdue_losses == ["A12345678"]
    assert w.get("A12345678").loss_state == "overdue"
    assert w.listener.calls == [("A12345678", "overdue_loss", None)]


async def test_card_is_not_reported_lost_on_day_300(w: World) -> None:
    w.put(card(collected_on=COLLECTED))
    report = await w.service.sweep(end_of_day(DEADLINE - timedelta(days=1)))
    assert report.overdue_losses == []
    assert w.get("A12345678").loss_state == "none"


async def test_financially_active_card_is_left_alone(w: World) -> None:
    w.put(card(collected_on=COLLECTED, fin_state="active"))
    report = await w.service.sweep(end_of_day(date(2027, 1, 1)))
    assert report.overdue_losses == []


async def test_sweep_is_idempotent(w: World) -> None:
    w.put(card(collected_on=COLLECTED))
    w.put(card("A00000002", fin_state="active", loss_state="temporary", loss_since=START))
    as_of = START + timedelta(days=400)
    first = await w.service.sweep(as_of)
    audit_after_first = len(w.audit)
    second = await w.service.sweep(as_of)
    assert (first.overdue_losses, first.lifted_temporary_losses) == (["A12345678"], ["A00000002"])
    assert (second.overdue_losses, second.lifted_temporary_losses) == ([], [])
    assert len(w.audit) == audit_after_first


async def test_temporary_loss_lifts_itself_after_seven_days(w: World) -> None:
    w.put(card(collected_on=None, loss_state="temporary", loss_since=START))
    w.clock.advance(timedelta(days=7))
    report = await w.service.sweep()
    assert report.lifted_temporary_losses == ["A12345678"]
    assert w.get("A12345678").loss_state == "none"
    assert w.listener.calls == [("A12345678", "unlocked", None)]
    assert w.audit[-1].action == "card.loss_lapsed"


async def test_temporary_loss_still_holds_before_seven_days(w: World) -> None:
    w.put(card(loss_state="temporary", loss_since=START))
    w.clock.advance(timedelta(days=7) - timedelta(seconds=1))
    report = await w.service.sweep()
    assert report.lifted_temporary_losses == []
    assert w.get("A12345678").loss_state == "temporary"


async def test_lapsed_temporary_loss_past_300_days_becomes_a_300_day_loss(w: World) -> None:
    w.put(card(collected_on=COLLECTED, loss_state="temporary", loss_since=datetime(2025, 11, 1, tzinfo=UTC)))
    report = await w.service.sweep(end_of_day(date(2025, 11, 10)))
    assert report.lifted_temporary_losses == report.overdue_losses == ["A12345678"]
    assert w.get("A12345678").loss_state == "overdue"


async def test_formal_loss_is_never_lifted_by_the_sweep(w: World) -> None:
    w.put(card(loss_state="formal", loss_since=START))
    await w.service.sweep(START + timedelta(days=30))
    assert w.get("A12345678").loss_state == "formal"


async def test_replaced_card_is_not_swept(w: World) -> None:
    w.put(card(collected_on=COLLECTED, status="replaced", replaced_by="A99999999"))
    report = await w.service.sweep(end_of_day(date(2027, 1, 1)))
    assert report.overdue_losses == []
