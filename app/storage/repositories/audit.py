"""The append-only audit log (`audit_log`)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from app.domain.audit import AuditEntry
from app.storage.repositories.codec import dumps, from_ts, ts
from app.storage.sql import Sql


class SqlAudit:
    def __init__(self, sql: Sql) -> None:
        self._sql = sql

    async def record(self, at: datetime, action: str, *, actor: str, subject: str | None = None,
                     detail: dict[str, Any] | None = None) -> None:
        await self._sql.run(
            "INSERT INTO audit_log (at, action, actor, subject, detail) VALUES (?, ?, ?, ?, ?)",
            (ts(at), action, actor, subject, dumps(detail or {})),
        )

    async def entries(self, *, subject: str | None = None, action_prefix: str = "") -> list[AuditEntry]:
        query = "SELECT * FROM audit_log WHERE action LIKE ? ESCAPE '\\'"
        params: list[str] = [action_prefix.replace("%", "\\%").replace("_", "\\_") + "%"]
        if subject is not None:
            query += " AND subject = ?"
            params.append(subject)
        rows = await self._sql.all(query + " ORDER BY id", params)
        return [AuditEntry(id=row["id"], at=from_ts(row["at"]), action=row["action"], actor=row["actor"],
                           subject=row["subject"], detail=json.loads(row["detail"]))
                for row in rows]
