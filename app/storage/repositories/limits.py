"""Fixed-window rate-limit counters (`rate_counters`). `window` is quoted: PostgreSQL reserves it."""
from __future__ import annotations

from app.storage.sql import Sql


class SqlLimits:
    def __init__(self, sql: Sql) -> None:
        self._sql = sql

    async def count(self, bucket: str, window: str) -> int:
        row = await self._sql.one(
            "SELECT count FROM rate_counters WHERE bucket = ? AND \"window\" = ?", (bucket, window))
        return 0 if row is None else int(row[0])

    async def take(self, bucket: str, window: str, limit: int) -> bool:
        if limit <= 0:
            return False
        return await self._sql.one(
            "INSERT INTO rate_counters (bucket, \"window\", count) VALUES (?, ?, 1)"
            " ON CONFLICT (bucket, \"window\") DO UPDATE SET count = rate_counters.count + 1"
            " WHERE rate_counters.count < ?"
            " RETURNING count",
            (bucket, window, limit)) is not None

    async def give_back(self, bucket: str, window: str) -> None:
        await self._sql.run(
            "UPDATE rate_counters SET count = count - 1 WHERE bucket = ? AND \"window\" = ? AND count > 0",
            (bucket, window))
