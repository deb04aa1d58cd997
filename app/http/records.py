"""The holder's social insurance records: contributions and the medical individual account.
Called by a channel acting for the citizen with scope `ecard:records`."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get
from litestar.params import QueryParameter

from app.domain.records import yuan
from app.http.deps import PrincipalDep, ServicesDep
from app.http.openapi import PROBLEMS
from models.records import (
    ContributionRow,
    Contributions,
    ContributionTotals,
    MedicalAccount,
    MedicalAccountEntry,
)


class RecordController(Controller):
    path = "/v1/ecards/me"
    tags = ("social insurance records",)

    @get("/contributions", responses=PROBLEMS)
    async def contributions(
        self, services: ServicesDep, principal: PrincipalDep,
        insurance: Annotated[str | None, QueryParameter(
            description="pension, medical, unemployment, injury or maternity (400 `insurance_invalid` "
                        "otherwise); all when absent")] = None,
        start: Annotated[str | None, QueryParameter(
            name="from", description="the first month, YYYY-MM (400 `period_invalid` otherwise)")] = None,
        end: Annotated[str | None, QueryParameter(
            name="to", description="the last month, YYYY-MM; not before `from` (400 `period_range_invalid`)",
        )] = None,
    ) -> Contributions:
        """The holder's monthly contributions, newest month first, with the employer's and the
        personal totals and the number of months.

        Scope `ecard:records`; amounts are decimal strings ("1280.00").
        """
        account_id, client_id = principal.acting_for_user("ecard:records")
        statement = await services.records.contributions(account_id, client_id, insurance=insurance,
                                                         start=start, end=end)
        return Contributions(
            rows=[ContributionRow(period=r.period, insurance=r.insurance, base=yuan(r.base),
                                  employer=yuan(r.employer), personal=yuan(r.personal),
                                  paid_on=r.paid_on.isoformat(), employer_name=r.employer_name)
                  for r in statement.rows],
            totals=ContributionTotals(employer=yuan(statement.totals.employer),
                                      personal=yuan(statement.totals.personal), months=statement.totals.months),
        )

    @get("/medical-account", responses=PROBLEMS)
    async def medical_account(self, services: ServicesDep, principal: PrincipalDep) -> MedicalAccount:
        """The medical individual account's balance (after its latest entry) and the 20 most recent
        entries, newest first.

        Scope `ecard:records`; amounts are decimal strings, negative for a payment out of the account.
        """
        account_id, client_id = principal.acting_for_user("ecard:records")
        account = await services.records.medical_account(account_id, client_id)
        return MedicalAccount(
            balance=None if account.balance is None else yuan(account.balance),
            entries=[MedicalAccountEntry(date=e.on.isoformat(), amount=yuan(e.amount), balance=yuan(e.balance),
                                         place=e.place) for e in account.entries],
        )
