"""Social insurance records (`contributions`, `medical_account_entries`)."""

from __future__ import annotations

from datetime import date

from app.domain.records import Contribution, Insurance, MedicalEntry, RecordOutcome
from app.storage.sql import Row, Sql


class SqlRecords:
    def __init__(self, sql: Sql) -> None:
        self._sql = sql

    async def add_contribution(self, contribution: Contribution) -> RecordOutcome:
        c = contribution
        values = (c.base, c.employer, c.personal, c.paid_on.isoformat(), c.employer_name)
        added = await self._sql.run(
            "INSERT INTO contributions (person, insurance, period, base, employer, personal, paid_on,"
            " employer_name) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (person, insurance, period) DO NOTHING",
            (c.person, c.insurance, c.period, *values),
        )
        if added:
            return "added"
        row = await self._sql.one(
            "SELECT base, employer, personal, paid_on, employer_name FROM contributions"
            " WHERE person = ? AND insurance = ? AND period = ?", (c.person, c.insurance, c.period))
        return "unchanged" if row is not None and tuple(row[i] for i in range(5)) == values else "conflict"

    async def add_medical_entry(self, entry: MedicalEntry) -> RecordOutcome:
        e = entry
        added = await self._sql.run(
            "INSERT INTO medical_account_entries (person, entry_key, on_date, amount, balance, place)"
            " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (person, entry_key) DO NOTHING",
            (e.person, e.entry_key, e.on.isoformat(), e.amount, e.balance, e.place),
        )
        return "added" if added else "unchanged"

    async def contributions(self, person: str, insurance: Insurance | None, start: str | None,
                            end: str | None) -> list[Contribution]:
        query = "SELECT * FROM contributions WHERE person = ?"
        params: list[object] = [person]
        for condition, value in (("insurance = ?", insurance), ("period >= ?", start), ("period <= ?", end)):
            if value is not None:
                query += f" AND {condition}"
                params.append(value)
        rows = await self._sql.all(query + " ORDER BY period DESC, insurance", params)
        return [_contribution(row) for row in rows]

    async def medical_entries(self, person: str, limit: int) -> list[MedicalEntry]:
        rows = await self._sql.all(
            "SELECT * FROM medical_account_entries WHERE person = ? ORDER BY on_date DESC, id DESC LIMIT ?",
            (person, limit))
        return [MedicalEntry(person=row["person"], on=date.fromisoformat(row["on_date"]), amount=row["amount"],
                             balance=row["balance"], place=row["place"], entry_key=row["entry_key"])
                for row in rows]


def _contribution(row: Row) -> Contribution:
    return Contribution(person=row["person"], insurance=row["insurance"], period=row["period"], base=row["base"],
                        employer=row["employer"], personal=row["personal"],
                        paid_on=date.fromisoformat(row["paid_on"]), employer_name=row["employer_name"])
