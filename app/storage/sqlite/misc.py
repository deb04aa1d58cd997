"""Small repositories: real-name checks, rate-limit counters, the audit log."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import aiosqlite

from app.domain.audit import AuditEntry
from app.domain.realname import RealnameCheck
from app.storage.sqlite.codec import dumps, from_ts, ts


class SqliteRealname:
    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn

    async def add(self, check: RealnameCheck) -> None:
        await self._conn.execute(
            "INSERT INTO realname_checks (id, account_id, client_id, card_no, created_at, expires_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (check.id, check.account_id, check.client_id, check.card_no, ts(check.created_at),
             ts(check.expires_at)),
        )

    async def get(self, check_id: str) -> RealnameCheck | None:
        cursor = await self._conn.execute("SELECT * FROM realname_checks WHERE id = ?", (check_id,))
        row = await cursor.fetchone()
        if row is None:
            return None
        return RealnameCheck(id=row["id"], account_id=row["account_id"], client_id=row["client_id"],
                             card_no=row["card_no"], created_at=from_ts(row["created_at"]),
                             expires_at=from_ts(row["expires_at"]))


class SqliteLimits:
    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn

    async def count(self, bucket: str, window: str) -> int:
        cursor = await self._conn.execute(
            "SELECT count FROM rate_counters WHERE bucket = ? AND window = ?", (bucket, window))
        row = await cursor.fetchone()
        return 0 if row is None else int(row[0])

    async def increment(self, bucket: str, window: str) -> int:
        cursor = await self._conn.execute(
            "INSERT INTO rate_counters (bucket, window, count) VALUES (?, ?, 1)"
            " ON CONFLICT (bucket, window) DO UPDATE SET count = count + 1 RETURNING count",
            (bucket, window))
        row = await cursor.fetchone()
        assert row is not None
        return int(row[0])

    async def take(self, bucket: str, window: str, limit: int) -> bool:
        if limit <= 0:
            return False
        cursor = await self._conn.execute(
            "INSERT INTO rate_counters (bucket, window, count) VALUES (?, ?, 1)"
            " ON CONFLICT (bucket, window) DO UPDATE SET count = count + 1 WHERE count < ?"
            " RETURNING count",
            (bucket, window, limit))
        return await cursor.fetchone() is not None

    async def give_back(self, bucket: str, window: str) -> None:
        await self._conn.execute(
            "UPDATE rate_counters SET count = count - 1 WHERE bucket = ? AND window = ? AND count > 0",
            (bucket, window))


class SqliteAudit:
    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn

    async def record(self, at: datetime, action: str, *, actor: str, subject: str | None = None,
                     detail: dict[str, Any] | None = None) -> None:
        await self._conn.execute(
            "INSERT INTO audit_log (at, action, actor, subject, detail) VALUES (?, ?, ?, ?, ?)",
            (ts(at), action, actor, subject, dumps(detail or {})),
        )

    async def entries(self, *, subject: str | None = None, action_prefix: str = "") -> list[AuditEntry]:
        query = "SELECT * FROM audit_log WHERE action LIKE ? ESCAPE '\\'"
        params: list[str] = [action_prefix.replace("%", "\\%").replace("_", "\\_") + "%"]
        if subject is not None:
            query += " AND subject = ?"
            params.append(subject)
        cursor = await self._conn.execute(query + " ORDER BY id", params)
        return [AuditEntry(id=row["id"], at=from_ts(row["at"]), action=row["action"], actor=row["actor"],
                           subject=row["subject"], detail=json.loads(row["detail"]))
                for row in await cursor.fetchall()]
