"""Card PIN rules: the initial PIN and weak PINs; stored PINs are hashed by a `PinHasher`
(app/security/pins.py)."""

from __future__ import annotations

import hmac
import re
from typing import Protocol

from app.errors import InvalidInput

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
