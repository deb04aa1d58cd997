"""The unit of work: one transaction, the repositories bound to it (SQLite's storage here; the
same unit of work serves PostgreSQL, app/storage/postgres.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from app.security.vault import Vault
from app.storage.database import Database
from app.storage.repositories.accounts import SqlAccounts, SqlSmsCodes, SqlTokens
from app.storage.repositories.audit import SqlAudit
from app.storage.repositories.cards import SqlCards
from app.storage.repositories.channels import SqlChannels
from app.storage.repositories.consent import SqlConsents
from app.storage.repositories.ecards import SqlEcards, SqlQrCodes
from app.storage.repositories.face_sessions import SqlFaceSessions
from app.storage.repositories.holders import HolderSeal
from app.storage.repositories.leases import SqlLeases
from app.storage.repositories.limits import SqlLimits
from app.storage.repositories.realname import SqlRealname
from app.storage.sql import Sql, SqliteSql


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
        self.face_sessions = SqlFaceSessions(sql)
        self.leases = SqlLeases(sql)


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
