"""Fixed-window rate-limit counters in SQLite (`rate_counters`)."""

from __future__ import annotations

import aiosqlite


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
