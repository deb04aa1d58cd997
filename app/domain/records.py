"""Social insurance records (SPEC §8 "Holder self-service"): monthly contributions by insurance
type and the medical individual account, loaded by the bureau and read by the holder.

Records belong to the person (the keyed digest of the ID number, as `cards.id_digest` and
`ecards.person`), not to a card: they outlive a replacement card. Amounts are integer fen.
"""

from __future__ import annotations

import re
from datetime import date
from typing import TYPE_CHECKING, Final, Literal, Protocol, get_args

import msgspec

from app.domain.ecards import holders_ecard
from app.errors import DomainError

if TYPE_CHECKING:
    from app.domain.uow import Storage

Insurance = Literal["pension", "medical", "unemployment", "injury", "maternity"]
INSURANCES: Final[tuple[str, ...]] = get_args(Insurance)
RecordOutcome = Literal["added", "unchanged", "conflict"]
RECENT_ENTRIES: Final = 20
PERIOD = re.compile(r"^([0-9]{4})-(0[1-9]|1[0-2])$")  # YYYY-MM, ASCII digits only


class Contribution(msgspec.Struct, frozen=True, kw_only=True):
    """One month of one insurance for one person; (person, insurance, period) is its natural key."""

    person: str  # keyed digest of the ID number
    insurance: Insurance
    period: str  # YYYY-MM
    base: int  # fen
    employer: int
    personal: int
    paid_on: date
    employer_name: str


class MedicalEntry(msgspec.Struct, frozen=True, kw_only=True):
    """One movement of the medical individual account and the balance after it. `entry_key` is the
    digest of (date, amount, balance, place): the same entry loaded twice is one entry."""

    person: str
    on: date
    amount: int  # fen; negative for a payment out of the account
    balance: int  # fen, after this entry
    place: str
    entry_key: str


class RecordRepository(Protocol):
    async def add_contribution(self, contribution: Contribution) -> RecordOutcome:
        """Insert; `unchanged` when the same row is on record, `conflict` when its key holds
        different amounts, date or employer (left as it is)."""
        ...

    async def add_medical_entry(self, entry: MedicalEntry) -> RecordOutcome:
        """Insert; `unchanged` when the person's entry with this `entry_key` is on record."""
        ...

    async def contributions(self, person: str, insurance: Insurance | None, start: str | None,
                            end: str | None) -> list[Contribution]:
        """The person's contributions with `start <= period <= end` (each bound when given), newest
        period first, then by insurance."""
        ...

    async def medical_entries(self, person: str, limit: int) -> list[MedicalEntry]:
        """The person's latest `limit` entries, newest first (date, then the order they were loaded)."""
        ...


class ContributionTotals(msgspec.Struct, frozen=True, kw_only=True):
    employer: int
    personal: int
    months: int  # distinct periods among the rows


class ContributionStatement(msgspec.Struct, frozen=True, kw_only=True):
    rows: tuple[Contribution, ...]
    totals: ContributionTotals


class MedicalAccount(msgspec.Struct, frozen=True, kw_only=True):
    balance: int | None  # the latest entry's balance; None before any entry
    entries: tuple[MedicalEntry, ...]


def yuan(fen: int) -> str:
    """Fen as a decimal string with two places: 128000 → "1280.00", -3550 → "-35.50"."""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}{whole}.{cents:02d}"


def check_query(insurance: str | None, start: str | None, end: str | None) -> Insurance | None:
    """The insurance filter asked for; `insurance_invalid`, `period_invalid` (not YYYY-MM) or
    `period_range_invalid` (`from` after `to`)."""
    if insurance is not None and insurance not in INSURANCES:
        raise DomainError(f"insurance must be one of {', '.join(INSURANCES)}", code="insurance_invalid",
                          field="insurance")
    for name, value in (("from", start), ("to", end)):
        if value is not None and not PERIOD.match(value):
            raise DomainError(f"{name} must be a month YYYY-MM", code="period_invalid", field=name)
    if start is not None and end is not None and start > end:
        raise DomainError("from must not be after to", code="period_range_invalid", field="from")
    return insurance  # type: ignore[return-value]  # checked against INSURANCES above


class RecordService:
    """The holder's records, found through the holder's e-card as `GET /v1/ecards/me` finds it."""

    def __init__(self, storage: Storage) -> None:
        self._storage = storage

    async def contributions(self, account_id: int, client_id: str, *, insurance: str | None = None,
                            start: str | None = None, end: str | None = None) -> ContributionStatement:
        """Monthly rows and their totals, filtered by insurance type and period."""
        kind = check_query(insurance, start, end)
        async with self._storage.unit_of_work() as uow:
            ecard = await holders_ecard(uow, account_id, client_id)
            rows = tuple(await uow.records.contributions(ecard.person, kind, start, end))
        return ContributionStatement(rows=rows, totals=ContributionTotals(
            employer=sum(r.employer for r in rows), personal=sum(r.personal for r in rows),
            months=len({r.period for r in rows})))

    async def medical_account(self, account_id: int, client_id: str) -> MedicalAccount:
        """The medical individual account's balance and its most recent entries, newest first."""
        async with self._storage.unit_of_work() as uow:
            ecard = await holders_ecard(uow, account_id, client_id)
            entries = tuple(await uow.records.medical_entries(ecard.person, RECENT_ENTRIES))
        return MedicalAccount(balance=entries[0].balance if entries else None, entries=entries)
