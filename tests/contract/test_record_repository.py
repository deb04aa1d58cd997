"""Social insurance records: one contribution per person, insurance and month (the same row again is
unchanged, different data a conflict left alone); medical entries once per key, newest first."""

from __future__ import annotations

from datetime import date

import msgspec

from app.domain.records import Contribution, Insurance, MedicalEntry
from app.domain.records_import import entry_key
from app.domain.uow import Storage


def contribution(period: str, insurance: Insurance = "pension", person: str = "p1", **changes: object) -> Contribution:
    row = Contribution(person=person, insurance=insurance, period=period, base=800000, employer=128000,
                       personal=64000, paid_on=date(2025, 2, 15), employer_name="深圳市某科技有限公司")
    return msgspec.structs.replace(row, **changes)


def entry(on: date, amount: int, balance: int, person: str = "p1", place: str = "某药房") -> MedicalEntry:
    return MedicalEntry(person=person, on=on, amount=amount, balance=balance, place=place,
                        entry_key=entry_key(on, amount, balance, place))


async def test_a_contribution_is_kept_once_per_person_insurance_and_month(storage: Storage) -> None:
    async with storage.unit_of_work() as uow:
        assert await uow.records.add_contribution(contribution("2025-01")) == "added"
        assert await uow.records.add_contribution(contribution("2025-01")) == "unchanged"
        assert await uow.records.add_contribution(contribution("2025-01", personal=1)) == "conflict"
        assert await uow.records.add_contribution(contribution("2025-01", "medical")) == "added"
        assert await uow.records.add_contribution(contribution("2025-01", person="p2")) == "added"
    async with storage.unit_of_work() as uow:
        rows = await uow.records.contributions("p1", "pension", None, None)
    assert rows == [contribution("2025-01")]  # the conflicting row changed nothing


async def test_contributions_are_filtered_and_read_newest_month_first(storage: Storage) -> None:
    async with storage.unit_of_work() as uow:
        for period in ("2024-12", "2025-02", "2025-01"):
            for insurance in ("unemployment", "pension"):
                await uow.records.add_contribution(contribution(period, insurance))  # type: ignore[arg-type]
        await uow.records.add_contribution(contribution("2025-03", person="p2"))
    async with storage.unit_of_work() as uow:
        every = await uow.records.contributions("p1", None, None, None)
        pension = await uow.records.contributions("p1", "pension", "2025-01", "2025-02")
        after = await uow.records.contributions("p1", None, "2025-02", None)
        none = await uow.records.contributions("p3", None, None, None)
    assert [(c.period, c.insurance) for c in every] == [
        ("2025-02", "pension"), ("2025-02", "unemployment"), ("2025-01", "pension"),
        ("2025-01", "unemployment"), ("2024-12", "pension"), ("2024-12", "unemployment")]
    assert [c.period for c in pension] == ["2025-02", "2025-01"]
    assert [(c.period, c.insurance) for c in after] == [("2025-02", "pension"), ("2025-02", "unemployment")]
    assert none == []


async def test_a_medical_entry_is_kept_once_and_entries_are_read_newest_first(storage: Storage) -> None:
    async with storage.unit_of_work() as uow:
        assert await uow.records.add_medical_entry(entry(date(2025, 3, 1), 50000, 150000)) == "added"
        assert await uow.records.add_medical_entry(entry(date(2025, 3, 5), -3550, 146450)) == "added"
        # Two payments on one day: the one loaded later is the newer.
        assert await uow.records.add_medical_entry(entry(date(2025, 3, 5), -1000, 145450)) == "added"
        assert await uow.records.add_medical_entry(entry(date(2025, 3, 5), -3550, 146450)) == "unchanged"
        assert await uow.records.add_medical_entry(entry(date(2025, 3, 9), -100, 900, person="p2")) == "added"
    async with storage.unit_of_work() as uow:
        entries = await uow.records.medical_entries("p1", 20)
        latest = await uow.records.medical_entries("p1", 2)
    assert [e.balance for e in entries] == [145450, 146450, 150000]
    assert entries[1] == entry(date(2025, 3, 5), -3550, 146450)
    assert [e.balance for e in latest] == [145450, 146450]


async def test_records_roll_back_with_their_transaction(storage: Storage) -> None:
    try:
        async with storage.unit_of_work() as uow:
            await uow.records.add_contribution(contribution("2025-01"))
            await uow.records.add_medical_entry(entry(date(2025, 3, 1), 100, 100))
            raise RuntimeError("the import failed")
    except RuntimeError:
        pass
    async with storage.unit_of_work() as uow:
        assert await uow.records.contributions("p1", None, None, None) == []
        assert await uow.records.medical_entries("p1", 20) == []
