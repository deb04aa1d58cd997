"""Card PIN rules: the initial PIN, weak PINs, and a keyed slow hash for stored PINs.

A 6-digit PIN has only a million values, so a plain hash is no protection once the table leaks. The
stored hash is argon2id over an HMAC of the PIN keyed with the data key (through `Vault.index`): the
table alone is useless without the key, and with the key every guess still costs an argon2 run.
"""

from __future__ import annotations

import asyncio
import hmac
import re
from typing import Protocol

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from app.errors import InvalidInput
from app.security.vault import Vault

_PIN = re.compile(r"[0-9]{6}")
_ASCENDING = "0123456789"
_DESCENDING = "9876543210"


def initial_pin(id_number: str) -> str:
    """The last six digits of the ID number; when it ends in the check character X, the six digits
    before it (the X cannot be typed on a PIN pad)."""
    digits = id_number[:-1] if id_number.endswith("X") else id_number
    return digits[-6:]


def check_pin_shape(pin: str, *, field: str) -> None:
    if not _PIN.fullmatch(pin):
        raise InvalidInput(f"{field}: a PIN is exactly six digits", code="invalid_pin", field=field)


def weakness(pin: str, *, initial: str) -> str | None:
    """Why `pin` is too easy to guess, or None: one digit repeated, a run up or down, the initial PIN."""
    if len(set(pin)) == 1:
        return "repeated_digit"
    if pin in _ASCENDING or pin in _DESCENDING:
        return "sequential_digits"
    if hmac.compare_digest(pin, initial):
        return "initial_pin"
    return None


def check_new_pin(pin: str, *, initial: str, field: str = "new_pin") -> None:
    """Refuse a new PIN that is malformed or weak (422 `invalid_pin` / `weak_pin`)."""
    check_pin_shape(pin, field=field)
    reason = weakness(pin, initial=initial)
    if reason is not None:
        raise InvalidInput(
            f"{field}: too easy to guess ({reason.replace('_', ' ')})", code="weak_pin", field=field,
            reason=reason,
        )


class PinHasher(Protocol):
    async def hash(self, card_no: str, pin: str) -> str: ...

    async def verify(self, stored: str, card_no: str, pin: str) -> bool: ...


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
