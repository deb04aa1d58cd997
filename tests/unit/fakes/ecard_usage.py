"""The e-card's usage history in memory, as `SqlEcardUsage` keeps it: ids in insertion order, pages
newest first by time and then id."""

from __future__ import annotations

from app.domain.ecard_usage import RecordedUsage, UsageEvent, UsagePosition
from tests.unit.fakes.state import FakeState


class FakeEcardUsage:
    """`app.domain.ecard_usage.EcardUsageRepository`. The e-card foreign key is not checked."""

    def __init__(self, state: FakeState) -> None:
        self._s = state

    async def record(self, event: UsageEvent) -> None:
        self._s.ecard_usage.append(RecordedUsage(id=len(self._s.ecard_usage) + 1, event=event))

    async def page(self, sign_no: str, after: UsagePosition | None, limit: int) -> list[RecordedUsage]:
        rows = [r for r in self._s.ecard_usage if r.event.sign_no == sign_no
                and (after is None or (r.event.at, r.id) < (after.at, after.id))]
        rows.sort(key=lambda r: (r.event.at, r.id), reverse=True)
        return rows[:limit]
