"""Leases in SQLite: one holder at a time across connections (processes), renewable, taken over
once expired."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

from app.storage.database import Database
from app.storage.repositories.leases import SqlLeases
from app.storage.sql import SqliteSql

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
TTL = timedelta(minutes=90)


async def acquire(database: Database, holder: str, at: datetime) -> bool:
    async with database.transaction() as conn:
        return await SqlLeases(SqliteSql(conn)).acquire("card-sweep", holder, at, TTL)


async def test_one_holder_at_a_time_renewed_and_taken_over_after_expiry(tmp_path: Path) -> None:
    first, second = Database(tmp_path / "e.db"), Database(tmp_path / "e.db")
    await first.open()
    await second.open()
    try:
        taken = await asyncio.gather(acquire(first, "host-a:1:x", NOW), acquire(second, "host-b:2:y", NOW))
        assert sorted(taken) == [False, True]
        leader, other = ("host-a:1:x", "host-b:2:y") if taken[0] else ("host-b:2:y", "host-a:1:x")
        assert await acquire(first, leader, NOW + timedelta(minutes=60))  # renewed
        assert not await acquire(second, other, NOW + timedelta(minutes=120))  # still within the renewal
        assert await acquire(second, other, NOW + timedelta(minutes=151))  # expired: taken over
        assert not await acquire(first, leader, NOW + timedelta(minutes=152))
    finally:
        await first.close()
        await second.close()
