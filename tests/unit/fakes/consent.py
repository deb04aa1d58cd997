"""Consent prompts and authorization codes in memory, as `SqlConsents` keeps them."""

from __future__ import annotations

from datetime import datetime
from typing import Literal, cast

import msgspec

from app.domain.consent import AuthorizationCode, Consent
from app.storage.sql import Duplicate
from tests.unit.fakes.state import FakeState


class FakeConsents:
    """`app.domain.consent.ConsentRepository`: a decision and a code's use are each written once."""

    def __init__(self, state: FakeState) -> None:
        self._s = state

    async def add(self, consent: Consent) -> None:
        if consent.id in self._s.consents:
            raise Duplicate(f"consent {consent.id}")
        # Stored undecided, whatever the value says: the insert does not write the decision.
        self._s.consents[consent.id] = msgspec.structs.replace(consent, account_id=None, decision=None)

    async def get(self, consent_id: str) -> Consent | None:
        return self._s.consents.get(consent_id)

    async def decide(self, consent_id: str, account_id: int, decision: str, at: datetime) -> bool:
        consent = self._s.consents.get(consent_id)
        if consent is None or consent.decision is not None:
            return False
        self._s.consents[consent_id] = msgspec.structs.replace(
            consent, account_id=account_id, decision=cast(Literal["allow", "deny"], decision))
        return True

    async def add_code(self, code: AuthorizationCode) -> None:
        codes = self._s.authorization_codes
        if code.code_hash in codes or any(c.grant_id == code.grant_id for c in codes.values()):
            raise Duplicate(f"authorization code of grant {code.grant_id}")
        codes[code.code_hash] = msgspec.structs.replace(code, used_at=None)

    async def find_code(self, code_hash: str) -> AuthorizationCode | None:
        return self._s.authorization_codes.get(code_hash)

    async def use_code(self, code_hash: str, at: datetime) -> bool:
        code = self._s.authorization_codes.get(code_hash)
        if code is None or code.used_at is not None:
            return False
        self._s.authorization_codes[code_hash] = msgspec.structs.replace(code, used_at=at)
        return True
