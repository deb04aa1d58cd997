from __future__ import annotations

from datetime import datetime

from app.domain.accounts import Account, SmsCode, TokenRecord
from app.storage.repositories.codec import dumps, from_ts, loads_tuple, opt_ts, ts
from app.storage.sql import Duplicate, Sql


class SqlAccounts:
    def __init__(self, sql: Sql) -> None:
        self._sql = sql

    async def add(self, phone: str, password_hash: str, at: datetime) -> int | None:
        try:
            row = await self._sql.one(
                "INSERT INTO accounts (phone, password_hash, created_at) VALUES (?, ?, ?) RETURNING id",
                (phone, password_hash, ts(at)),
            )
        except Duplicate:
            return None
        return None if row is None else int(row["id"])

    async def by_phone(self, phone: str) -> Account | None:
        row = await self._sql.one("SELECT * FROM accounts WHERE phone = ?", (phone,))
        if row is None:
            return None
        return Account(id=row["id"], phone=row["phone"], password_hash=row["password_hash"],
                       created_at=from_ts(row["created_at"]))


class SqlSmsCodes:
    def __init__(self, sql: Sql) -> None:
        self._sql = sql

    async def latest(self, phone: str) -> SmsCode | None:
        row = await self._sql.one(
            "SELECT * FROM sms_codes WHERE phone = ? ORDER BY id DESC LIMIT 1", (phone,))
        if row is None:
            return None
        return SmsCode(id=row["id"], phone=row["phone"], code_hash=row["code_hash"],
                       created_at=from_ts(row["created_at"]), expires_at=from_ts(row["expires_at"]),
                       attempts=row["attempts"], consumed_at=opt_ts(row["consumed_at"]))

    async def add(self, phone: str, code_hash: str, created_at: datetime, expires_at: datetime) -> None:
        await self._sql.run(
            "INSERT INTO sms_codes (phone, code_hash, created_at, expires_at) VALUES (?, ?, ?, ?)",
            (phone, code_hash, ts(created_at), ts(expires_at)),
        )

    async def take_try(self, code_id: int, limit: int) -> bool:
        changed = await self._sql.run(
            "UPDATE sms_codes SET attempts = attempts + 1 WHERE id = ? AND consumed_at IS NULL AND attempts < ?",
            (code_id, limit))
        return changed == 1

    async def consume(self, code_id: int, at: datetime) -> bool:
        changed = await self._sql.run(
            "UPDATE sms_codes SET consumed_at = ? WHERE id = ? AND consumed_at IS NULL", (ts(at), code_id))
        return changed == 1

    async def deliver(self, phone: str, body: str, at: datetime) -> None:
        await self._sql.run("INSERT INTO sms_outbox (phone, body, sent_at) VALUES (?, ?, ?)",
                                 (phone, body, ts(at)))

    async def outbox(self, phone: str) -> list[tuple[str, datetime]]:
        rows = await self._sql.all(
            "SELECT body, sent_at FROM sms_outbox WHERE phone = ? ORDER BY id DESC LIMIT 20", (phone,))
        return [(row["body"], from_ts(row["sent_at"])) for row in rows]


class SqlTokens:
    def __init__(self, sql: Sql) -> None:
        self._sql = sql

    async def add(self, token: TokenRecord) -> None:
        await self._sql.run(
            "INSERT INTO tokens (token_hash, kind, account_id, client_id, scopes, grant_id, created_at,"
            " expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (token.token_hash, token.kind, token.account_id, token.client_id,
             dumps(list(token.scopes)), token.grant_id, ts(token.created_at), ts(token.expires_at)),
        )

    async def find(self, token_hash: str) -> TokenRecord | None:
        row = await self._sql.one("SELECT * FROM tokens WHERE token_hash = ?", (token_hash,))
        if row is None:
            return None
        return TokenRecord(
            token_hash=row["token_hash"], kind=row["kind"], account_id=row["account_id"],
            client_id=row["client_id"], scopes=loads_tuple(row["scopes"]), grant_id=row["grant_id"],
            created_at=from_ts(row["created_at"]), expires_at=from_ts(row["expires_at"]),
            revoked_at=opt_ts(row["revoked_at"]),
        )

    async def revoke(self, token_hash: str, at: datetime) -> bool:
        changed = await self._sql.run(
            "UPDATE tokens SET revoked_at = ? WHERE token_hash = ? AND revoked_at IS NULL",
            (ts(at), token_hash))
        return changed == 1

    async def revoke_grant(self, grant_id: str, at: datetime) -> int:
        return await self._sql.run(
            "UPDATE tokens SET revoked_at = ? WHERE grant_id = ? AND revoked_at IS NULL", (ts(at), grant_id))
