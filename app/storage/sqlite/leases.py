"""Leases in SQLite (`leases` table); see app/domain/leases.py."""

from __future__ import annotations

from datetime import datetime, timedelta

import aiosqlite

from app.storage.sqlite.codec import ts


class SqliteLeases:
    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn

    async def acquire(self, name: str, holder: str, now: datetime, ttl: timedelta) -> bool:
        cursor = await self._conn.execute(
            "INSERT INTO leases (name, holder, expires_at) VALUES (?, ?, ?)"
            " ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at"
            " WHERE leases.holder = excluded.holder OR leases.expires_at <= ?"
            " RETURNING holder",
            (name, holder, ts(now + ttl), ts(now)),
        )
        return await cursor.fetchone() is not None
