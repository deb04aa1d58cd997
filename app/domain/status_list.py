"""Status lists in the IETF Token Status List format (draft-ietf-oauth-status-list).

A list is an array of 2-bit entries, one per issued e-card: 0 valid, 1 invalid, 2 suspended. Entry
`i` sits in byte `i // 4` at bit `2 * (i % 4)` counted from the least significant bit. The array is
compressed with DEFLATE in the ZLIB format (RFC 1950) and carried base64url-encoded in the
`status_list.lst` claim of a token whose `typ` is `statuslist+jwt` and whose `sub` is the list's
URI. Indices are drawn at random, so that neighbouring entries say nothing about issue order, and an
index is never handed out twice.
"""

from __future__ import annotations

import base64
import secrets
import zlib
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Final, Literal, Protocol

import msgspec

from app.errors import NotFound
from app.security.jose import STATUS_LIST_TYP

if TYPE_CHECKING:
    from app.clock import Clock
    from app.domain.uow import Storage, UnitOfWork
    from app.security.jose import Signer

BITS: Final = 2
ENTRIES_PER_BYTE: Final = 8 // BITS
VALID: Final = 0
INVALID: Final = 1
SUSPENDED: Final = 2
# 2^17 entries = 32 KiB before compression; a new list starts when one is three quarters full, so
# that drawing a random free index stays cheap.
LIST_SIZE: Final = 1 << 17
FILL_LIMIT: Final = 3 / 4
# Relying parties may cache a fetched list this long (the `ttl` claim); the token itself is good for
# a day, after which a cached copy must not be trusted at all.
TTL: Final = timedelta(minutes=5)
STATUS_LIST_LIFETIME: Final = timedelta(days=1)

EcardState = Literal["active", "suspended", "invalid"]
STATUS_OF_STATE: Final[dict[str, int]] = {"active": VALID, "suspended": SUSPENDED, "invalid": INVALID}


def status_value(state: EcardState) -> int:
    return STATUS_OF_STATE[state]


def pack(size: int, entries: Iterable[tuple[int, int]]) -> bytes:
    """The uncompressed array of `size` entries with `entries` as (index, value) set."""
    array = bytearray((size * BITS + 7) // 8)
    mask = (1 << BITS) - 1
    for index, value in entries:
        if not 0 <= index < size or not 0 <= value <= mask:
            raise ValueError(f"entry {index}={value} does not fit a {size}-entry {BITS}-bit list")
        byte, slot = divmod(index, ENTRIES_PER_BYTE)
        shift = slot * BITS
        array[byte] = (array[byte] & ~(mask << shift)) | (value << shift)
    return bytes(array)


def read(array: bytes, index: int) -> int:
    """The value of entry `index` in an uncompressed array."""
    byte, slot = divmod(index, ENTRIES_PER_BYTE)
    return (array[byte] >> (slot * BITS)) & ((1 << BITS) - 1)


def encode_lst(array: bytes) -> str:
    """The `lst` member: base64url (no padding) of the ZLIB-compressed array."""
    return base64.urlsafe_b64encode(zlib.compress(array, 9)).rstrip(b"=").decode()


def decode_lst(lst: str) -> bytes:
    """The uncompressed array of an `lst` member (for relying parties and tests)."""
    return zlib.decompress(base64.urlsafe_b64decode(lst + "=" * (-len(lst) % 4)))


def random_index(size: int) -> int:
    return secrets.randbelow(size)


class StatusListInfo(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    size: int
    revision: int


class StatusListRepository(Protocol):
    async def status_list(self, list_id: int) -> StatusListInfo | None: ...

    async def status_entries(self, list_id: int) -> list[tuple[int, EcardState]]:
        """(index, e-card state) of every e-card that holds an index in the list."""
        ...

    async def touch_status_list(self, list_id: int, at: datetime) -> None:
        """Move the list's revision: one of its entries changed."""
        ...


class _Signed(msgspec.Struct, frozen=True):
    revision: int
    kid: str
    signed_at: datetime
    token: str


class StatusListService:
    """Serves signed status list tokens, re-signing only when an entry or the signing key changed."""

    def __init__(self, storage: Storage, clock: Clock, signer: Signer, issuer: str) -> None:
        self._storage = storage
        self._clock = clock
        self._signer = signer
        self._issuer = issuer.rstrip("/")
        self._cache: dict[int, _Signed] = {}

    def uri(self, list_id: int) -> str:
        """The list's URI: where it is served, and the `sub` of its token."""
        return f"{self._issuer}/v1/status-lists/{list_id}"

    async def changed(self, uow: UnitOfWork, list_id: int, at: datetime) -> None:
        await uow.ecards.touch_status_list(list_id, at)

    async def token(self, list_id: int) -> str:
        """The signed `statuslist+jwt` of list `list_id`."""
        now = self._clock.now()
        async with self._storage.unit_of_work() as uow:
            info = await uow.ecards.status_list(list_id)
            if info is None:
                raise NotFound(f"no status list {list_id}", code="status_list_not_found")
            cached = self._cache.get(list_id)
            kid = self._signer.kid()
            if (cached is not None and cached.revision == info.revision and cached.kid == kid
                    and now - cached.signed_at < TTL):
                return cached.token
            entries = await uow.ecards.status_entries(list_id)
        array = pack(info.size, ((index, status_value(state)) for index, state in entries))
        claims: dict[str, Any] = {
            "iss": self._issuer,
            "sub": self.uri(list_id),
            "iat": int(now.timestamp()),
            "exp": int((now + STATUS_LIST_LIFETIME).timestamp()),
            "ttl": int(TTL.total_seconds()),
            "status_list": {"bits": BITS, "lst": encode_lst(array)},
        }
        token = self._signer.sign(claims, typ=STATUS_LIST_TYP)
        self._cache[list_id] = _Signed(info.revision, kid, now, token)
        return token
