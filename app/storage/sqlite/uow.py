"""The unit of work: one transaction, the repositories bound to it (SQLite's storage here; the
same unit of work serves PostgreSQL, app/storage/postgres.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from app.security.vault import Vault
from app.storage.database import Database
from app.storage.sql import Sql, SqliteSql
from app.storage.sqlite.accounts import SqliteAccounts, SqliteSmsCodes, SqliteTokens
from app.storage.sqlite.audit import SqliteAudit
from app.storage.sqlite.cards import SqliteCards
from app.storage.sqlite.channels import SqliteChannels
from app.storage.sqlite.consent import SqliteConsents
from app.storage.sqlite.ecards import SqliteEcards, SqliteQrCodes
from app.storage.sqlite.face_sessions import SqliteFaceSessions
from app.storage.sqlite.holders import HolderSeal
from app.storage.sqlite.leases import SqliteLeases
from app.storage.sqlite.limits import SqliteLimits
from app.storage.sqlite.realname import SqliteRealname


class SqlUnitOfWork:
    """The repositories of one transaction, on any database that `Sql` speaks to."""

    def __init__(self, sql: Sql, holders: HolderSeal) -> None:
        self.sql = sql
        self.connection = getattr(sql, "connection", None)  # raw access, for tests that arrange a row by hand
        self.channels = SqliteChannels(sql)
        self.accounts = SqliteAccounts(sql)
        self.sms_codes = SqliteSmsCodes(sql)
        self.tokens = SqliteTokens(sql)
        self.consents = SqliteConsents(sql)
        self.cards = SqliteCards(sql, holders)
        self.realname = SqliteRealname(sql)
        self.limits = SqliteLimits(sql)
        self.audit = SqliteAudit(sql)
        self.ecards = SqliteEcards(sql)
        self.qrcodes = SqliteQrCodes(sql)
        self.face_sessions = SqliteFaceSessions(sql)
        self.leases = SqliteLeases(sql)


class SqliteStorage:
    def __init__(self, database: Database, vault: Vault) -> None:
        self.database = database
        self.holders = HolderSeal(vault)

    @asynccontextmanager
    async def unit_of_work(self) -> AsyncIterator[SqlUnitOfWork]:
        async with self.database.transaction() as conn:
            yield SqlUnitOfWork(SqliteSql(conn), self.holders)

    async def ping(self) -> bool:
        return await self.database.ping()
