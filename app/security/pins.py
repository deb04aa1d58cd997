"""A keyed slow hash for stored card PINs.

A 6-digit PIN has only a million values, so a plain hash is no protection once the table leaks. The
stored hash is argon2id over an HMAC of the PIN keyed with the data key (through `Vault.index`): the
table alone is useless without the key, and with the key every guess still costs an argon2 run.
"""

from __future__ import annotations

import asyncio

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from app.security.vault import Vault


class PepperedPinHasher:
    """argon2id(HMAC(data key, card number + PIN)), computed off the event loop."""

    # OWASP's argon2id minimum (19 MiB, 2 passes): the keyed HMAC carries most of the protection.
    def __init__(self, vault: Vault, *, time_cost: int = 2, memory_cost: int = 19 * 1024) -> None:
        self._vault = vault
        self._argon = PasswordHasher(time_cost=time_cost, memory_cost=memory_cost, parallelism=1)

    def _peppered(self, card_no: str, pin: str) -> str:
        return self._vault.index(f"card-pin\x00{card_no}\x00{pin}")

    async def hash(self, card_no: str, pin: str) -> str:
        return await asyncio.to_thread(self._argon.hash, self._peppered(card_no, pin))

    async def verify(self, stored: str, card_no: str, pin: str) -> bool:
        peppered = self._peppered(card_no, pin)

        def check() -> bool:
            try:
                return self._argon.verify(stored, peppered)
            except (VerificationError, InvalidHashError):
                return False

        return await asyncio.to_thread(check)
