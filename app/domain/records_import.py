"""`ecard records import`: social insurance records from JSON lines, with exact decimal amounts.

A line is a monthly contribution (`"kind": "contribution"`) or a medical-account entry
(`"kind": "medical_account"`). Amounts are decimal strings ("1280.00") or JSON numbers read as
decimals, never through a float, with at most two places; they are stored as integer fen. The ID
number is kept only as its keyed digest. Natural keys make a re-run change nothing: person +
insurance + period for a contribution, person + digest of (date, amount, balance, place) for a
medical entry.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from app.domain.idnumber import parse_id_number
from app.domain.records import INSURANCES, PERIOD, Contribution, Insurance, MedicalEntry
from app.domain.registry import BadRow, ImportReport, RowError, import_lines
from app.errors import DomainError

if TYPE_CHECKING:
    from app.clock import Clock
    from app.domain.uow import Storage
    from app.security.vault import Vault

CONTRIBUTION_KEYS: Final = frozenset({"kind", "id_number", "insurance", "period", "base", "employer",
                                      "personal", "paid_on", "employer_name"})
MEDICAL_KEYS: Final = frozenset({"kind", "id_number", "date", "amount", "balance", "place"})
BATCH: Final = 500
MAX_TEXT: Final = 200
# A month's contribution or one account movement is far below a billion yuan; larger is a typo.
MAX_YUAN: Final = Decimal(10) ** 9
_AMOUNT = re.compile(r"^-?[0-9]+(\.[0-9]{1,2})?$")  # ASCII digits, no exponent, no separators
_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")

Record = Contribution | MedicalEntry


def parse_line(text: str) -> dict[str, Any]:
    """A line as a JSON object whose numbers are `Decimal` (exact), never float."""
    try:
        row = json.loads(text, parse_float=Decimal, parse_int=Decimal)
    except json.JSONDecodeError as exc:
        raise BadRow(f"not JSON: {exc.msg} at column {exc.colno}") from None
    except RecursionError:
        raise BadRow("not JSON this service reads: nested too deeply") from None
    except (ValueError, InvalidOperation) as exc:
        raise BadRow(f"not JSON this service reads: {exc}") from None
    if not isinstance(row, dict):
        raise BadRow("not a JSON object")
    return row


def fen(value: object, key: str, *, signed: bool = False) -> int:
    """An exact amount in fen: a decimal string or a JSON number, at most two decimal places."""
    if isinstance(value, str):
        if not _AMOUNT.match(value):
            raise BadRow(f"{key}: a decimal amount like \"1280.00\" (at most two decimal places)")
        amount = Decimal(value)
    elif isinstance(value, Decimal):
        amount = value
    else:
        raise BadRow(f"{key}: a decimal amount like \"1280.00\"")
    if not amount.is_finite() or abs(amount) >= MAX_YUAN:
        raise BadRow(f"{key}: out of range")
    scaled = amount * 100
    if scaled != scaled.to_integral_value():
        raise BadRow(f"{key}: at most two decimal places")
    if scaled < 0 and not signed:
        raise BadRow(f"{key}: must not be negative")
    return int(scaled)


def iso_date(value: object, key: str, today: date) -> date:
    if not isinstance(value, str) or not _DATE.match(value):
        raise BadRow(f"{key}: a date YYYY-MM-DD")
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise BadRow(f"{key}: a date YYYY-MM-DD") from None
    if day > today:
        raise BadRow(f"{key}: in the future")
    return day


def period(value: object, today: date) -> str:
    if not isinstance(value, str) or not PERIOD.match(value):
        raise BadRow("period: a month YYYY-MM")
    if value > f"{today:%Y-%m}":
        raise BadRow("period: in the future")
    return value


def text(value: object, key: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise BadRow(f"{key}: missing or empty")
    if len(value.strip()) > MAX_TEXT:
        raise BadRow(f"{key}: more than {MAX_TEXT} characters")
    return value.strip()


def entry_key(on: date, amount: int, balance: int, place: str) -> str:
    """The natural key of a medical-account entry, from its values as stored (so "35.5" and "35.50"
    are one entry)."""
    canonical = json.dumps([on.isoformat(), amount, balance, place], ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


class RecordParser:
    """Turns one JSON-lines row into a record, or raises `BadRow` saying why not."""

    def __init__(self, vault: Vault) -> None:
        self._vault = vault

    def record(self, row: dict[str, Any], today: date) -> Record:
        kind = row.get("kind")
        if kind == "contribution":
            known = CONTRIBUTION_KEYS
        elif kind == "medical_account":
            known = MEDICAL_KEYS
        else:
            raise BadRow('kind: "contribution" or "medical_account"')
        unknown = sorted(set(row) - known)
        if unknown:
            raise BadRow(f"unknown keys: {', '.join(unknown)}")
        missing = sorted(k for k in known if row.get(k) is None)
        if missing:
            raise BadRow(f"missing: {', '.join(missing)}")
        if not isinstance(row["id_number"], str):
            raise BadRow("id_number: must be text")
        try:
            person = self._vault.index(parse_id_number(row["id_number"], today=today).value)
        except DomainError as exc:
            raise BadRow(exc.detail) from None
        if kind == "medical_account":
            on = iso_date(row["date"], "date", today)
            amount, balance = fen(row["amount"], "amount", signed=True), fen(row["balance"], "balance")
            place = text(row["place"], "place")
            return MedicalEntry(person=person, on=on, amount=amount, balance=balance, place=place,
                                entry_key=entry_key(on, amount, balance, place))
        insurance = row["insurance"]
        if insurance not in INSURANCES:
            raise BadRow(f"insurance: one of {', '.join(INSURANCES)}")
        insured: Insurance = insurance
        return Contribution(
            person=person, insurance=insured, period=period(row["period"], today),
            base=fen(row["base"], "base"), employer=fen(row["employer"], "employer"),
            personal=fen(row["personal"], "personal"), paid_on=iso_date(row["paid_on"], "paid_on", today),
            employer_name=text(row["employer_name"], "employer_name"),
        )


class RecordImporter:
    def __init__(self, storage: Storage, clock: Clock, vault: Vault) -> None:
        self._storage = storage
        self._clock = clock
        self._parser = RecordParser(vault)

    async def import_file(self, path: Path, progress: Callable[[int], None] | None = None) -> ImportReport:
        """Load a JSON-lines file; bad lines are reported by number and skipped, good lines load.

        `progress` is called with the number of lines handled since the previous call.
        """
        today = self._clock.now().date()
        return await import_lines(path, lambda line: self._parser.record(parse_line(line), today), self._store,
                                  progress, BATCH)

    async def _store(self, batch: list[tuple[int, Record]], report: ImportReport) -> None:
        async with self._storage.unit_of_work() as uow:
            outcomes = [await (uow.records.add_contribution(r) if isinstance(r, Contribution)
                               else uow.records.add_medical_entry(r)) for _, r in batch]
        for (line_no, record), outcome in zip(batch, outcomes, strict=True):
            if outcome == "added":
                report.added += 1
            elif outcome == "unchanged":
                report.unchanged += 1
            elif isinstance(record, Contribution):
                report.conflicts.append(RowError(
                    line_no, f"{record.insurance} {record.period} of this person is on record with "
                             "different data; not changed"))
