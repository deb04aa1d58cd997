"""Social insurance records as the holder reads them. Amounts are decimal strings with two places
("1280.00", "-35.50"), never JSON numbers, so no client reads them through a float."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from models.base import Wire

Amount = Annotated[str, msgspec.Meta(pattern=r"^-?[0-9]+\.[0-9]{2}$", description="yuan, two decimal places",
                                     examples=["1280.00"])]
Insurance = Literal["pension", "medical", "unemployment", "injury", "maternity"]


class ContributionRow(Wire):
    """One month of one insurance."""

    period: str  # YYYY-MM
    insurance: Insurance
    base: Amount
    employer: Amount
    personal: Amount
    paid_on: str  # YYYY-MM-DD
    employer_name: str


class ContributionTotals(Wire):
    employer: Amount
    personal: Amount
    months: int  # distinct months among the rows


class Contributions(Wire):
    """The rows asked for, newest month first (then by insurance), and their totals."""

    rows: list[ContributionRow]
    totals: ContributionTotals


class MedicalAccountEntry(Wire):
    date: str  # YYYY-MM-DD
    amount: Amount  # negative for a payment out of the account
    balance: Amount  # after this entry
    place: str


class MedicalAccount(Wire):
    """The medical individual account: the latest entry's balance (absent before any entry) and the
    20 most recent entries, newest first."""

    entries: list[MedicalAccountEntry]
    balance: Amount | None = None
