"""Social insurance records in memory, as `SqlRecords` keeps them: contributions by (person,
insurance, period), medical-account entries by (person, entry_key) with ids in loading order."""

from __future__ import annotations

from app.domain.records import Contribution, Insurance, MedicalEntry, RecordOutcome
from tests.unit.fakes.state import FakeState


class FakeRecords:
    """`app.domain.records.RecordRepository`."""

    def __init__(self, state: FakeState) -> None:
        self._s = state

    async def add_contribution(self, contribution: Contribution) -> RecordOutcome:
        key = (contribution.person, contribution.insurance, contribution.period)
        held = self._s.contributions.get(key)
        if held is None:
            self._s.contributions[key] = contribution
            return "added"
        return "unchanged" if held == contribution else "conflict"

    async def add_medical_entry(self, entry: MedicalEntry) -> RecordOutcome:
        if any(e.person == entry.person and e.entry_key == entry.entry_key for e in self._s.medical_entries):
            return "unchanged"
        self._s.medical_entries.append(entry)
        return "added"

    async def contributions(self, person: str, insurance: Insurance | None, start: str | None,
                            end: str | None) -> list[Contribution]:
        rows = [c for c in self._s.contributions.values() if c.person == person
                and (insurance is None or c.insurance == insurance)
                and (start is None or c.period >= start) and (end is None or c.period <= end)]
        rows.sort(key=lambda c: c.insurance)
        rows.sort(key=lambda c: c.period, reverse=True)
        return rows

    async def medical_entries(self, person: str, limit: int) -> list[MedicalEntry]:
        # The list is in loading order, so its index stands in for the SQL id.
        mine = [(e.on, i, e) for i, e in enumerate(self._s.medical_entries) if e.person == person]
        mine.sort(key=lambda t: (t[0], t[1]), reverse=True)
        return [e for _, _, e in mine[:limit]]
