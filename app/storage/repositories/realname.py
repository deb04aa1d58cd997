"""Real-name checks (`realname_checks`)."""

from __future__ import annotations

from app.domain.realname import RealnameCheck
from app.storage.repositories.codec import from_ts, ts
from app.storage.sql import Sql


class SqlRealname:
    def __init__(self, sql: Sql) -> None:
        self._sql = sql

    async def add(self, check: RealnameCheck) -> None:
        await self._sql.run(
            "INSERT INTO realname_checks (id, account_id, client_id, card_no, created_at, expires_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (check.id, check.account_id, check.client_id, check.card_no, ts(check.created_at),
             ts(check.expires_at)),
        )

    async def get(self, check_id: str) -> RealnameCheck | None:
        row = await self._sql.one("SELECT * FROM realname_checks WHERE id = ?", (check_id,))
        if row is None:
            return None
        return RealnameCheck(id=row["id"], account_id=row["account_id"], client_id=row["client_id"],
                             card_no=row["card_no"], created_at=from_ts(row["created_at"]),
                             expires_at=from_ts(row["expires_at"]))
