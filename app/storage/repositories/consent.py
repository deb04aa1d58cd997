from __future__ import annotations

from datetime import datetime

from app.domain.consent import AuthorizationCode, Consent
from app.storage.repositories.codec import dumps, from_ts, loads_tuple, opt_ts, ts
from app.storage.sql import Sql


class SqlConsents:
    def __init__(self, sql: Sql) -> None:
        self._sql = sql

    async def add(self, consent: Consent) -> None:
        await self._sql.run(
            "INSERT INTO consents (id, client_id, redirect_uri, scopes, state, code_challenge,"
            " created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (consent.id, consent.client_id, consent.redirect_uri, dumps(list(consent.scopes)),
             consent.state, consent.code_challenge, ts(consent.created_at), ts(consent.expires_at)),
        )

    async def get(self, consent_id: str) -> Consent | None:
        row = await self._sql.one("SELECT * FROM consents WHERE id = ?", (consent_id,))
        if row is None:
            return None
        return Consent(
            id=row["id"], client_id=row["client_id"], redirect_uri=row["redirect_uri"],
            scopes=loads_tuple(row["scopes"]), state=row["state"], code_challenge=row["code_challenge"],
            created_at=from_ts(row["created_at"]), expires_at=from_ts(row["expires_at"]),
            account_id=row["account_id"], decision=row["decision"],
        )

    async def decide(self, consent_id: str, account_id: int, decision: str, at: datetime) -> bool:
        changed = await self._sql.run(
            "UPDATE consents SET account_id = ?, decision = ?, decided_at = ?"
            " WHERE id = ? AND decision IS NULL",
            (account_id, decision, ts(at), consent_id),
        )
        return changed == 1

    async def add_code(self, code: AuthorizationCode) -> None:
        await self._sql.run(
            "INSERT INTO authorization_codes (code_hash, grant_id, consent_id, account_id, client_id,"
            " redirect_uri, scopes, code_challenge, created_at, expires_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (code.code_hash, code.grant_id, code.consent_id, code.account_id, code.client_id,
             code.redirect_uri, dumps(list(code.scopes)), code.code_challenge, ts(code.created_at),
             ts(code.expires_at)),
        )

    async def find_code(self, code_hash: str) -> AuthorizationCode | None:
        row = await self._sql.one(
            "SELECT * FROM authorization_codes WHERE code_hash = ?", (code_hash,))
        if row is None:
            return None
        return AuthorizationCode(
            code_hash=row["code_hash"], grant_id=row["grant_id"], consent_id=row["consent_id"],
            account_id=row["account_id"], client_id=row["client_id"], redirect_uri=row["redirect_uri"],
            scopes=loads_tuple(row["scopes"]), code_challenge=row["code_challenge"],
            created_at=from_ts(row["created_at"]), expires_at=from_ts(row["expires_at"]),
            used_at=opt_ts(row["used_at"]),
        )

    async def use_code(self, code_hash: str, at: datetime) -> bool:
        changed = await self._sql.run(
            "UPDATE authorization_codes SET used_at = ? WHERE code_hash = ? AND used_at IS NULL",
            (ts(at), code_hash))
        return changed == 1
