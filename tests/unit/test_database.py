"""The SQLite file: pragmas, versioned migrations, the append-only audit log."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from app.storage.database import Database, migration_scripts


async def test_pragmas_are_set(tmp_path: Path) -> None:
    db = Database(tmp_path / "e.db")
    await db.open()
    try:
        conn = db.connection
        assert (await (await conn.execute("PRAGMA journal_mode")).fetchone())[0] == "wal"
        assert (await (await conn.execute("PRAGMA foreign_keys")).fetchone())[0] == 1
        assert (await (await conn.execute("PRAGMA busy_timeout")).fetchone())[0] >= 1000
    finally:
        await db.close()


async def test_migrations_apply_once_and_are_recorded(tmp_path: Path) -> None:
    for _ in range(2):
        db = Database(tmp_path / "e.db")
        await db.open()
        await db.close()
    with sqlite3.connect(tmp_path / "e.db") as conn:
        versions = [row[0] for row in conn.execute("SELECT version FROM schema_migrations ORDER BY version")]
    assert versions == [v for v, _, _ in migration_scripts()]
    assert versions[0] == 1


async def test_audit_log_refuses_updates_and_deletes(tmp_path: Path) -> None:
    db = Database(tmp_path / "e.db")
    await db.open()
    try:
        async with db.transaction() as conn:
            await conn.execute("INSERT INTO audit_log (at, action, actor) VALUES ('t', 'a', 'x')")
        for statement in ("UPDATE audit_log SET actor = 'y'", "DELETE FROM audit_log"):
            with pytest.raises(sqlite3.IntegrityError, match="append-only"):
                async with db.transaction() as conn:
                    await conn.execute(statement)
    finally:
        await db.close()


async def test_failed_transaction_leaves_nothing_behind(tmp_path: Path) -> None:
    db = Database(tmp_path / "e.db")
    await db.open()
    try:
        async def insert_then_fail() -> None:
            async with db.transaction() as conn:
                await conn.execute("INSERT INTO audit_log (at, action, actor) VALUES ('t', 'a', 'x')")
                raise RuntimeError("midway")

        with pytest.raises(RuntimeError):
            await insert_then_fail()
        async with db.transaction() as conn:
            count = (await (await conn.execute("SELECT count(*) FROM audit_log")).fetchone())[0]
        assert count == 0
    finally:
        await db.close()
