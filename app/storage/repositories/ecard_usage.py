"""The e-card's usage history (`ecard_usage`)."""

from __future__ import annotations

from app.domain.ecard_usage import RecordedUsage, UsageEvent, UsagePosition
from app.storage.repositories.codec import from_ts, ts
from app.storage.sql import Sql


class SqlEcardUsage:
    def __init__(self, sql: Sql) -> None:
        self._sql = sql

    async def record(self, event: UsageEvent) -> None:
        await self._sql.run(
            "INSERT INTO ecard_usage (sign_no, kind, at, client_id, party_name, party_kind)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (event.sign_no, event.kind, ts(event.at), event.client_id, event.party_name, event.party_kind),
        )

    async def page(self, sign_no: str, after: UsagePosition | None, limit: int) -> list[RecordedUsage]:
        query = "SELECT * FROM ecard_usage WHERE sign_no = ?"
        params: list[object] = [sign_no]
        if after is not None:
            query += " AND (at < ? OR (at = ? AND id < ?))"
            params += [ts(after.at), ts(after.at), after.id]
        rows = await self._sql.all(query + " ORDER BY at DESC, id DESC LIMIT ?", [*params, limit])
        return [RecordedUsage(id=row["id"], event=UsageEvent(
                    sign_no=row["sign_no"], kind=row["kind"], at=from_ts(row["at"]), client_id=row["client_id"],
                    party_name=row["party_name"], party_kind=row["party_kind"]))
                for row in rows]
