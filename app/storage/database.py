"""The embedded SQLite database: one connection, WAL, one unit of work at a time on it.

aiosqlite runs one connection on its own thread. Coroutines sharing that connection would see each
other's open transactions, so a unit of work holds `Database.lock` while it uses the connection.
The rules do not lean on that lock: one e-card per person, single-use codes, limits and the rest
are held by constraints and conditional updates, the same statements that hold them on PostgreSQL
where transactions truly overlap (tests/contract races them on both). Several processes on one
file (`ecard serve --workers N`, the CLI beside the server) are kept apart by SQLite's own locking,
`BEGIN IMMEDIATE` with a busy timeout."""

from __future__ import annotations

import asyncio
import os
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path

import aiosqlite

BUSY_TIMEOUT_MS = 5000


def owner_only(path: Path) -> None:
    """Create the database file readable by its owner only (0600), or make it so.

    SQLite gives the -wal and -shm files it creates the mode of the database file, so they follow.
    The file holds sealed ID numbers and photos, names and every token digest: no other account on
    the host has any business reading it.
    """
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        for member in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
            if member.exists() and member.stat().st_mode & 0o077:
                member.chmod(0o600)


class Database:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.lock = asyncio.Lock()
        self._conn: aiosqlite.Connection | None = None
        # A second connection for health probes: in WAL mode it reads beside a running write, so
        # /health never queues behind the units of work holding `lock`.
        self._probe: aiosqlite.Connection | None = None

    async def open(self) -> None:
        """Open the file, set pragmas and apply pending migrations."""
        if self.path.parent != Path():
            self.path.parent.mkdir(parents=True, exist_ok=True)
        owner_only(self.path)
        conn = await aiosqlite.connect(self.path, isolation_level=None)
        conn.row_factory = sqlite3.Row
        await conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        await conn.execute("PRAGMA journal_mode = WAL")
        await conn.execute("PRAGMA foreign_keys = ON")
        await conn.execute("PRAGMA synchronous = NORMAL")
        self._conn = conn
        await migrate(conn)
        probe = await aiosqlite.connect(self.path, isolation_level=None)
        await probe.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        await probe.execute("PRAGMA query_only = ON")
        self._probe = probe

    async def close(self) -> None:
        if self._probe is not None:
            await self._probe.close()
            self._probe = None
        if self._conn is not None:
            await self._conn.close()
            self._conn = None

    @property
    def connection(self) -> aiosqlite.Connection:
        if self._conn is None:
            raise RuntimeError("database is not open")
        return self._conn

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """A write transaction: committed on success, rolled back on any exception."""
        async with self.lock:
            conn = self.connection
            await conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                await conn.execute("ROLLBACK")
                raise
            await conn.execute("COMMIT")

    @staticmethod
    def unavailable(exc: BaseException) -> bool:
        """The file cannot be used at the moment (locked past the busy timeout, unreadable, its
        disk failing), as opposed to a statement the service got wrong."""
        message = str(exc)
        return isinstance(exc, sqlite3.OperationalError) and any(
            cause in message for cause in ("locked", "unable to open", "disk I/O", "readonly"))

    async def ping(self) -> bool:
        """Read the schema version through the probe connection; False when the file cannot be read."""
        if self._probe is None:
            return False
        try:
            cursor = await self._probe.execute("SELECT max(version) FROM schema_migrations")
            row = await cursor.fetchone()
        except sqlite3.Error:
            return False
        return row is not None and row[0] is not None


def migration_scripts() -> list[tuple[int, str, str]]:
    """(version, name, sql) for every file in `app/storage/migrations`, in version order."""
    folder = resources.files("app.storage") / "migrations"
    scripts = []
    for entry in folder.iterdir():
        if entry.name.endswith(".sql"):
            version = int(entry.name.split("_", 1)[0])
            scripts.append((version, entry.name, entry.read_text(encoding="utf-8")))
    scripts.sort()
    versions = [v for v, _, _ in scripts]
    if len(set(versions)) != len(versions):
        raise RuntimeError(f"duplicate migration versions: {versions}")
    return scripts


async def migrate(conn: aiosqlite.Connection) -> list[int]:
    """Apply every migration not yet recorded in `schema_migrations`; returns those applied."""
    await conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
    )
    cursor = await conn.execute("SELECT version FROM schema_migrations")
    done = {row[0] for row in await cursor.fetchall()}
    applied = []
    for version, name, sql in migration_scripts():
        if version in done:
            continue
        # executescript would commit implicitly; run the statements inside one transaction.
        await conn.execute("BEGIN IMMEDIATE")
        try:
            cursor = await conn.execute(
                "SELECT 1 FROM schema_migrations WHERE version = ?", (version,)
            )
            if await cursor.fetchone() is not None:  # another process got there first
                await conn.execute("ROLLBACK")
                continue
            for statement in _statements(sql):
                await conn.execute(statement)
            await conn.execute(
                "INSERT INTO schema_migrations (version, name, applied_at)"
                " VALUES (?, ?, strftime('%Y-%m-%dT%H:%M:%SZ','now'))",
                (version, name),
            )
        except BaseException:
            await conn.execute("ROLLBACK")
            raise
        await conn.execute("COMMIT")
        applied.append(version)
    return applied


def _statements(sql: str) -> list[str]:
    statements, buffer = [], ""
    for line in sql.splitlines(keepends=True):
        if line.lstrip().startswith("--"):
            continue
        buffer += line
        if sqlite3.complete_statement(buffer):
            statements.append(buffer.strip())
            buffer = ""
    if buffer.strip():
        statements.append(buffer.strip())
    return statements
