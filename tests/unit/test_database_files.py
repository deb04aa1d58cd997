"""The database file and its WAL are readable by their owner only."""

from __future__ import annotations

from pathlib import Path

from app.storage.database import Database


async def test_a_new_database_and_its_wal_are_0600(tmp_path: Path) -> None:
    database = Database(tmp_path / "ecard.db")
    await database.open()
    try:
        async with database.transaction() as conn:
            await conn.execute("INSERT INTO rate_counters (bucket, window, count) VALUES ('b', 'w', 1)")
        files = [tmp_path / "ecard.db", tmp_path / "ecard.db-wal", tmp_path / "ecard.db-shm"]
        assert all(path.exists() for path in files)
        assert {oct(path.stat().st_mode & 0o777) for path in files} == {oct(0o600)}
    finally:
        await database.close()


async def test_an_existing_database_readable_by_others_is_made_private(tmp_path: Path) -> None:
    path = tmp_path / "ecard.db"
    database = Database(path)
    await database.open()
    await database.close()
    path.chmod(0o644)

    database = Database(path)
    await database.open()
    await database.close()

    assert path.stat().st_mode & 0o777 == 0o600
