"""The time rules run by the sweep: the 300-day financial-activation rule and the 7-day temporary loss."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import msgspec

from app.domain.cards.model import CardRecord

# 自领卡之日起300天内 … 启用金融应用，否则该卡社保应用将被挂失: the collection day counts as day 1,
# so the financial application must be active before collected_on + 300 days.
FINANCIAL_ACTIVATION_DAYS = 300
# 临时挂失 is valid for 7 days and then lifts by itself.
TEMPORARY_LOSS = timedelta(days=7)


class SweepReport(msgspec.Struct, frozen=True, kw_only=True):
    as_of: datetime
    lifted_temporary_losses: list[str]
    overdue_losses: list[str]


def financial_deadline(card: CardRecord) -> date | None:
    """The day the 300-day rule reports the card lost, while it can still apply."""
    if card.collected_on is None or card.fin_state == "active":
        return None
    return card.collected_on + timedelta(days=FINANCIAL_ACTIVATION_DAYS)


def temporary_loss_lifts_at(card: CardRecord) -> datetime | None:
    if card.loss_state != "temporary" or card.loss_since is None:
        return None
    return card.loss_since + TEMPORARY_LOSS


def is_overdue(card: CardRecord, as_of: datetime) -> bool:
    deadline = financial_deadline(card)
    return (
        card.status == "normal" and card.loss_state == "none"
        and deadline is not None and as_of.date() >= deadline
    )


def temporary_loss_lapsed(card: CardRecord, as_of: datetime) -> bool:
    lifts_at = temporary_loss_lifts_at(card)
    return card.status == "normal" and lifts_at is not None and lifts_at <= as_of


def end_of_day(day: date) -> datetime:
    """`ecard sweep --as-of DATE` means everything due on or before that date."""
    return datetime.combine(day, time.max, tzinfo=UTC)
