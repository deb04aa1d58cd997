"""The `storage` fixture, parametrised by adapter: SQLite, PostgreSQL, and the in-memory storage the
domain's unit tests use (tests/unit/fakes)."""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
import pytest

from app.domain.uow import Storage
from app.storage.database import Database
from app.storage.postgres import PgDatabase, PgSql
from app.storage.repositories.uow import SqlStorage
from app.storage.sql import SqliteSql
from tests.contract.rows import VAULT
from tests.unit.fakes import FakeStorage


@asynccontextmanager
async def sqlite_storage(folder: Path) -> AsyncIterator[Storage]:
    database = Database(folder / "contract.db")
    await database.open()
    try:
        yield SqlStorage(database, VAULT, SqliteSql)
    finally:
        await database.close()


@asynccontextmanager
async def postgres_storage() -> AsyncIterator[Storage]:
    """A fresh schema in the `test` database (ECARD_TEST_POSTGRES_DSN), dropped afterwards. There
    is no skipping: without a server this fails, and `.ci/run` starts the machine's cluster."""
    dsn = os.environ.get("ECARD_TEST_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/test")
    schema = f"contract_{secrets.token_hex(6)}"
    admin = await asyncpg.connect(dsn)
    await admin.execute(f"CREATE SCHEMA {schema}")
    database = PgDatabase(dsn, max_size=4, server_settings={"search_path": schema})
    try:
        await database.open()
        yield SqlStorage(database, VAULT, PgSql)
    finally:
        await database.close()
        await admin.execute(f"DROP SCHEMA {schema} CASCADE")
        await admin.close()


@pytest.fixture(params=["sqlite", "postgres", "memory"])
async def storage(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Storage]:
    """Every adapter, and the in-memory storage the domain's unit tests use (tests/unit/fakes)."""
    if request.param == "memory":
        yield FakeStorage()
        return
    opened = sqlite_storage(tmp_path) if request.param == "sqlite" else postgres_storage()
    async with opened as adapter:
        yield adapter
