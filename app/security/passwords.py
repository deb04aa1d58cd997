"""Password hashing with argon2id, run off the event loop (it is deliberately slow)."""

from __future__ import annotations

import asyncio

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

# RFC 9106 second recommended option (64 MiB, 3 passes), kept lighter on parallelism for 2 cores.
_hasher = PasswordHasher(time_cost=3, memory_cost=64 * 1024, parallelism=2)


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(_hasher.hash, password)


async def verify_password(stored: str, password: str) -> bool:
    def check() -> bool:
        try:
            return _hasher.verify(stored, password)
        except (VerificationError, InvalidHashError):
            return False

    return await asyncio.to_thread(check)


# A hash to verify against when the account does not exist, so that timing does not reveal it.
DUMMY_HASH = _hasher.hash("not a real password")


class Argon2Passwords:
    """The service's password hashing (`app.domain.accounts.PasswordHasher`)."""

    async def hash(self, password: str) -> str:
        return await hash_password(password)

    async def verify(self, stored: str | None, password: str) -> bool:
        """False for no account, after the same work as for one: timing does not tell them apart."""
        return await verify_password(stored if stored is not None else DUMMY_HASH, password) and stored is not None
