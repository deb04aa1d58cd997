"""Leases (`leases` table); see app/domain/leases.py."""

from __future__ import annotations

from datetime import datetime, timedelta

from app.storage.repositories.codec import ts
from app.storage.sql import Sql


class SqlLeases:
    def __init__(self, sql: Sql) -> None:
        self._sql = sql

    async def acquire(self, name: str, holder: str, now: datetime, ttl: timedelta) -> bool:
        return await self._sql.one(
            "INSERT INTO leases (name, holder, expires_at) VALUES (?, ?, ?)"
            " ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at"
            " WHERE leases.holder = excluded.holder OR leases.expires_at <= ?"
            " RETURNING holder",
            (name, holder, ts(now + ttl), ts(now)),
        ) is not None
