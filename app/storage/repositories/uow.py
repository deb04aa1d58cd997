"""The unit of work: one transaction, the repositories bound to it, on SQLite or PostgreSQL alike."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, Protocol

from app.errors import Unavailable
from app.security.vault import Vault
from app.storage.repositories.accounts import SqlAccounts, SqlSmsCodes, SqlTokens
from app.storage.repositories.audit import SqlAudit
from app.storage.repositories.cards import SqlCards
from app.storage.repositories.channels import SqlChannels
from app.storage.repositories.consent import SqlConsents
from app.storage.repositories.ecard_usage import SqlEcardUsage
from app.storage.repositories.ecards import SqlEcards, SqlQrCodes
from app.storage.repositories.face_sessions import SqlFaceSessions
from app.storage.repositories.family import SqlFamily
from app.storage.repositories.holders import HolderSeal
from app.storage.repositories.leases import SqlLeases
from app.storage.repositories.limits import SqlLimits
from app.storage.repositories.realname import SqlRealname
from app.storage.repositories.records import SqlRecords
from app.storage.sql import Sql


class SqlUnitOfWork:
    """The repositories of one transaction, on any database that `Sql` speaks to."""

    def __init__(self, sql: Sql, holders: HolderSeal) -> None:
        self.sql = sql
        self.connection = getattr(sql, "connection", None)  # raw access, for tests that arrange a row by hand
        self.channels = SqlChannels(sql)
        self.accounts = SqlAccounts(sql)
        self.sms_codes = SqlSmsCodes(sql)
        self.tokens = SqlTokens(sql)
        self.consents = SqlConsents(sql)
        self.cards = SqlCards(sql, holders)
        self.realname = SqlRealname(sql)
        self.limits = SqlLimits(sql)
        self.audit = SqlAudit(sql)
        self.ecards = SqlEcards(sql)
        self.qrcodes = SqlQrCodes(sql)
        self.ecard_usage = SqlEcardUsage(sql)
        self.face_sessions = SqlFaceSessions(sql)
        self.leases = SqlLeases(sql)
        self.records = SqlRecords(sql)
        self.family = SqlFamily(sql)


class Transactional(Protocol):
    """A database as storage needs it: transactions on its connections, and a liveness probe."""

    def transaction(self) -> AbstractAsyncContextManager[Any]: ...

    def unavailable(self, exc: BaseException) -> bool:
        """Whether an error says the database cannot be used at the moment (not a bug)."""
        ...

    async def ping(self) -> bool: ...


class SqlStorage:
    """`Storage` on a database: each unit of work is one of its transactions, spoken to through the
    `Sql` adapter of that database (`SqliteSql` for app/storage/database.py, `PgSql` for
    app/storage/postgres.py)."""

    def __init__(self, database: Transactional, vault: Vault, sql: Callable[[Any], Sql]) -> None:
        self.database = database
        self.holders = HolderSeal(vault)
        self._sql = sql

    @asynccontextmanager
    async def unit_of_work(self) -> AsyncIterator[SqlUnitOfWork]:
        try:
            async with self.database.transaction() as conn:
                yield SqlUnitOfWork(self._sql(conn), self.holders)
        except Exception as exc:
            if self.database.unavailable(exc):
                raise Unavailable("the database is unavailable; try again shortly",
                                  code="database_unavailable") from exc
            raise

    async def ping(self) -> bool:
        return await self.database.ping()
