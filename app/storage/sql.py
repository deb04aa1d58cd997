"""The SQL the repositories speak, whatever the database: five calls on one transaction.

Repositories are written once against `Sql`; an adapter per database (`SqliteSql` here) runs the
statements. Statements use `?` placeholders and the SQL that SQLite and PostgreSQL share
(`INSERT … ON CONFLICT … DO UPDATE … WHERE`, `RETURNING`, partial indexes). A unique or foreign
key violation is raised as `Duplicate`, whichever driver reported it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any, Protocol

import aiosqlite

from app.errors import DomainError

Params = Sequence[Any]


class Row(Protocol):
    """A result row, read by column name or position (sqlite3.Row and asyncpg's Record both do)."""

    def __getitem__(self, key: str | int, /) -> Any: ...


class Duplicate(Exception):
    """A statement broke a unique (or primary key) constraint."""


def text_params(params: Params) -> tuple[Any, ...]:
    """The parameters of a statement, refused when a text holds the NUL character: PostgreSQL
    cannot store it in text at all, so no database is asked to (a path, query or JSON string
    with U+0000 is answered 400 `invalid_request` on every adapter, never a server error)."""
    values = tuple(params)
    if any(isinstance(value, str) and "\x00" in value for value in values):
        raise DomainError("a text value contains the NUL character (U+0000)", code="invalid_request")
    return values


class Sql(Protocol):
    async def one(self, query: str, params: Params = ()) -> Row | None:
        """The first row of a query (or of a statement's RETURNING), if any."""
        ...

    async def all(self, query: str, params: Params = ()) -> list[Row]: ...

    async def run(self, query: str, params: Params = ()) -> int:
        """Run a statement; the number of rows it changed."""
        ...

    async def copy(self, table: str, columns: Sequence[str], rows: Sequence[Params]) -> None:
        """Insert many rows by the database's bulk path (COPY on PostgreSQL); all or none."""
        ...


class SqliteSql:
    """`Sql` on one aiosqlite connection (inside the caller's transaction)."""

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self.connection = conn

    async def one(self, query: str, params: Params = ()) -> Row | None:
        try:
            cursor = await self.connection.execute(query, text_params(params))
        except sqlite3.IntegrityError as exc:
            raise _duplicate_or(exc) from exc
        row: sqlite3.Row | None = await cursor.fetchone()
        await cursor.close()
        return row

    async def all(self, query: str, params: Params = ()) -> list[Row]:
        cursor = await self.connection.execute(query, text_params(params))
        return list(await cursor.fetchall())

    async def run(self, query: str, params: Params = ()) -> int:
        try:
            cursor = await self.connection.execute(query, text_params(params))
        except sqlite3.IntegrityError as exc:
            raise _duplicate_or(exc) from exc
        return cursor.rowcount

    async def copy(self, table: str, columns: Sequence[str], rows: Sequence[Params]) -> None:
        # SQLite has no COPY; one prepared INSERT run over the rows is its bulk path. A savepoint
        # makes it all or none, as COPY is.
        insert = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"  # noqa: S608
        await self.connection.execute("SAVEPOINT copy_rows")
        try:
            await self.connection.executemany(insert, [tuple(r) for r in rows])
        except BaseException as exc:
            await self.connection.execute("ROLLBACK TO copy_rows")
            await self.connection.execute("RELEASE copy_rows")
            if isinstance(exc, sqlite3.IntegrityError):
                raise _duplicate_or(exc) from exc
            raise
        await self.connection.execute("RELEASE copy_rows")


def _duplicate_or(exc: sqlite3.IntegrityError) -> Exception:
    message = str(exc)
    return Duplicate(message) if "UNIQUE" in message or "PRIMARY KEY" in message else exc
