"""Accounts, SMS codes, tokens and channels in memory (`app.domain.accounts`, `app.domain.channels`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

from app.domain.accounts import Account, SmsCode, TokenRecord
from app.domain.channels import Channel
from tests.unit.fakes.state import FakeState


class FakeAccounts:
    def __init__(self, state: FakeState) -> None:
        self._s = state

    async def add(self, phone: str, password_hash: str, at: datetime) -> int | None:
        if any(a.phone == phone for a in self._s.accounts.values()):
            return None
        account_id = len(self._s.accounts) + 1
        self._s.accounts[account_id] = Account(id=account_id, phone=phone, password_hash=password_hash,
                                               created_at=at)
        return account_id

    async def by_phone(self, phone: str) -> Account | None:
        return next((a for a in self._s.accounts.values() if a.phone == phone), None)


class FakeSmsCodes:
    def __init__(self, state: FakeState) -> None:
        self._s = state

    async def latest(self, phone: str) -> SmsCode | None:
        return next((c for c in reversed(self._s.sms_codes) if c.phone == phone), None)

    async def add(self, phone: str, code_hash: str, created_at: datetime, expires_at: datetime) -> None:
        self._s.sms_codes.append(SmsCode(id=len(self._s.sms_codes) + 1, phone=phone, code_hash=code_hash,
                                         created_at=created_at, expires_at=expires_at, attempts=0,
                                         consumed_at=None))

    def _replace(self, code_id: int, **changes: Any) -> None:
        index = code_id - 1
        self._s.sms_codes[index] = msgspec.structs.replace(self._s.sms_codes[index], **changes)

    async def take_try(self, code_id: int, limit: int) -> bool:
        code = self._s.sms_codes[code_id - 1]
        if code.consumed_at is not None or code.attempts >= limit:
            return False
        self._replace(code_id, attempts=code.attempts + 1)
        return True

    async def consume(self, code_id: int, at: datetime) -> bool:
        if self._s.sms_codes[code_id - 1].consumed_at is not None:
            return False
        self._replace(code_id, consumed_at=at)
        return True

    async def deliver(self, phone: str, body: str, at: datetime) -> None:
        self._s.outbox.append((phone, body, at))

    async def outbox(self, phone: str) -> list[tuple[str, datetime]]:
        return [(body, at) for p, body, at in reversed(self._s.outbox) if p == phone][:20]


class FakeTokens:
    def __init__(self, state: FakeState) -> None:
        self._s = state

    async def add(self, token: TokenRecord) -> None:
        self._s.tokens[token.token_hash] = token

    async def find(self, token_hash: str) -> TokenRecord | None:
        return self._s.tokens.get(token_hash)

    async def revoke(self, token_hash: str, at: datetime) -> bool:
        token = self._s.tokens.get(token_hash)
        if token is None or token.revoked_at is not None:
            return False
        self._s.tokens[token_hash] = msgspec.structs.replace(token, revoked_at=at)
        return True

    async def revoke_grant(self, grant_id: str, at: datetime) -> int:
        live = [t for t in self._s.tokens.values() if t.grant_id == grant_id and t.revoked_at is None]
        for token in live:
            self._s.tokens[token.token_hash] = msgspec.structs.replace(token, revoked_at=at)
        return len(live)


class FakeChannels:
    def __init__(self, state: FakeState) -> None:
        self._s = state

    async def add(self, channel: Channel) -> bool:
        if channel.client_id in self._s.channels:
            return False
        self._s.channels[channel.client_id] = channel
        return True

    async def get(self, client_id: str) -> Channel | None:
        return self._s.channels.get(client_id)
