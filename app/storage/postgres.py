"""PostgreSQL through asyncpg: a connection pool, the schema migrations, and `Sql` on a transaction.

asyncpg rather than psycopg 3: it speaks PostgreSQL's binary protocol natively, is the faster of the
two for many small statements, and its `copy_records_to_table` gives the bulk card import COPY.
The repositories are the same classes as on SQLite (app/storage/repositories/), speaking `Sql`; only
the placeholders differ (`?` becomes `$1`, `$2`, …).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from functools import lru_cache
from importlib import resources
from urllib.parse import urlsplit

import asyncpg

from app.config import ConfigError
from app.errors import Unavailable
from app.storage.sql import Duplicate, Params, Row, text_params

# Every process that opens the database migrates it under this advisory lock, one at a time.
MIGRATION_LOCK = 0x6563617264  # "ecard"


@lru_cache(maxsize=512)
def numbered(query: str) -> str:
    """`?` placeholders as PostgreSQL's `$1`, `$2`, … (none of the repositories' string literals
    contains a `?`)."""
    count = 0

    def number(_: re.Match[str]) -> str:
        nonlocal count
        count += 1
        return f"${count}"

    return re.sub(r"\?", number, query)


class PgSql:
    """`Sql` on one asyncpg connection (inside the caller's transaction).

    A write that may break a unique constraint runs in a savepoint. On PostgreSQL a failed
    statement aborts the whole transaction, whereas the repositories, like SQLite, answer a
    duplicate with False and go on in the same transaction."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.connection = conn

    @asynccontextmanager
    async def _guarded(self, query: str) -> AsyncIterator[None]:
        if not _WRITES.match(query):
            yield
            return
        try:
            async with self.connection.transaction():  # a savepoint inside the unit of work
                yield
        except asyncpg.UniqueViolationError as exc:
            raise Duplicate(str(exc)) from exc

    async def one(self, query: str, params: Params = ()) -> Row | None:
        async with self._guarded(query):
            row: Row | None = await self.connection.fetchrow(numbered(query), *text_params(params))
        return row

    async def all(self, query: str, params: Params = ()) -> list[Row]:
        async with self._guarded(query):
            return list(await self.connection.fetch(numbered(query), *text_params(params)))

    async def run(self, query: str, params: Params = ()) -> int:
        async with self._guarded(query):
            status: str = await self.connection.execute(numbered(query), *text_params(params))
        # "UPDATE 3", "DELETE 0", "INSERT 0 1": the last number is the rows changed.
        last = status.rsplit(" ", 1)[-1]
        return int(last) if last.isdigit() else 0

    async def copy(self, table: str, columns: Sequence[str], rows: Sequence[Params]) -> None:
        try:
            async with self.connection.transaction():
                await self.connection.copy_records_to_table(
                    table, columns=list(columns), records=[tuple(r) for r in rows])
        except asyncpg.UniqueViolationError as exc:
            raise Duplicate(str(exc)) from exc


_WRITES = re.compile(r"\s*(INSERT|UPDATE)\b", re.IGNORECASE)


def migration_scripts() -> list[tuple[int, str, str]]:
    """(version, name, sql) of `app/storage/migrations/postgres`, in version order."""
    folder = resources.files("app.storage") / "migrations" / "postgres"
    scripts = [
        (int(entry.name.split("_", 1)[0]), entry.name, entry.read_text(encoding="utf-8"))
        for entry in folder.iterdir()
        if entry.name.endswith(".sql")
    ]
    return sorted(scripts)


# The database cannot be used at the moment — the server unreachable or restarting, the database
# or role gone, no connection slot free — as opposed to a statement the service got wrong: the
# client gets 503 `database_unavailable`, not a 500.
UNAVAILABLE: tuple[type[BaseException], ...] = (
    ConnectionError, TimeoutError, asyncpg.PostgresConnectionError, asyncpg.exceptions.InvalidCatalogNameError,
    asyncpg.exceptions.OperatorInterventionError, asyncpg.exceptions.InsufficientResourcesError,
    asyncpg.exceptions.InvalidAuthorizationSpecificationError,
)


def where(dsn: str) -> str:
    """HOST:PORT/DATABASE of a PostgreSQL URL, without its credentials; ConfigError when it does
    not name a database or its port is not a number."""
    parts = urlsplit(dsn)
    try:
        port = parts.port
    except ValueError:
        server = parts.netloc.rpartition("@")[2]
        raise ConfigError(f"ECARD_DATABASE_URL: the port of {server!r} is not a number") from None
    database = parts.path.lstrip("/")
    if not database or not (parts.hostname or "host=" in parts.query):
        raise ConfigError("ECARD_DATABASE_URL must name a server and a database: postgresql://USER@HOST:PORT/DB")
    return f"{parts.hostname or 'socket'}:{port or 5432}/{database}"


class PgDatabase:
    """A pool of connections to one PostgreSQL database (or one schema of it)."""

    def __init__(self, dsn: str, *, min_size: int = 1, max_size: int = 10,
                 server_settings: dict[str, str] | None = None) -> None:
        self.where = where(dsn)
        self.dsn = dsn
        self._sizes = (min_size, max_size)
        self._settings = server_settings or {}
        self._pool: asyncpg.Pool | None = None

    async def open(self) -> None:
        """Open the pool and apply the migrations not yet applied; `database_unavailable`, naming the
        database and the reason in one line, when it cannot be used."""
        try:
            self._pool = await asyncpg.create_pool(
                self.dsn, min_size=self._sizes[0], max_size=self._sizes[1], server_settings=self._settings)
            async with self._pool.acquire() as conn:
                await migrate(conn)
        except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            await self.close()
            raise Unavailable(f"cannot use the PostgreSQL database {self.where}: {exc}",
                              code="database_unavailable") from exc

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    @property
    def pool(self) -> asyncpg.Pool:
        if self._pool is None:
            raise RuntimeError("database is not open")
        return self._pool

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[asyncpg.Connection]:
        """A transaction on a pooled connection: committed on success, rolled back on an exception."""
        async with self.pool.acquire() as conn, conn.transaction():
            yield conn

    @staticmethod
    def unavailable(exc: BaseException) -> bool:
        return isinstance(exc, UNAVAILABLE)

    async def ping(self) -> bool:
        try:
            async with self.pool.acquire(timeout=2) as conn:
                return bool(await conn.fetchval("SELECT 1") == 1)
        except (OSError, asyncpg.PostgresError, TimeoutError):
            return False


async def migrate(conn: asyncpg.Connection) -> list[int]:
    """Apply every migration not yet recorded, each in its own transaction, under an advisory lock
    so that processes starting together migrate one after the other."""
    applied: list[int] = []
    await conn.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK)
    try:
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())")
        done = {row["version"] for row in await conn.fetch("SELECT version FROM schema_migrations")}
        for version, name, sql in migration_scripts():
            if version in done:
                continue
            async with conn.transaction():
                await conn.execute(sql)
                await conn.execute("INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", version, name)
            applied.append(version)
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK)
    return applied

