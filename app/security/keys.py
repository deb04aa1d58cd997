"""ES256 signing keys kept in `ECARD_KEYS_DIR/signing/`: one PEM per key id and a small index.

The index (`index.json`) lists every key with the time it was created and, once a newer key took
over, the time it stopped signing (`retired_at`). Exactly one key is active. A retired key's public
half stays in the JWKS for as long as a token it signed may still be valid: until `retired_at` plus
the longest lifetime of any token this service signs.

`ecard keys rotate` may run while the server is up; the server notices the rewritten index on its
next use of the store and reloads it, so the new key signs from then on.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import hashlib
import json
import os
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import msgspec
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from app.config import ConfigError

SIGNING_DIR = "signing"
INDEX_FILE = "index.json"
LOCK_FILE = ".lock"
ALGORITHM = "ES256"


class KeyEntry(msgspec.Struct, frozen=True, kw_only=True):
    kid: str
    created_at: datetime
    retired_at: datetime | None = None


class KeyIndex(msgspec.Struct, frozen=True, kw_only=True):
    keys: tuple[KeyEntry, ...] = ()


class SigningKey(msgspec.Struct, frozen=True, kw_only=True):
    kid: str
    private_key: ec.EllipticCurvePrivateKey
    created_at: datetime


class PublicKey(msgspec.Struct, frozen=True, kw_only=True):
    kid: str
    public_key: ec.EllipticCurvePublicKey
    created_at: datetime
    retired_at: datetime | None


def public_jwk(key: ec.EllipticCurvePublicKey) -> dict[str, str]:
    """The RFC 7517 JWK members of a P-256 public key (without kid/alg/use)."""
    numbers = key.public_numbers()
    return {
        "kty": "EC",
        "crv": "P-256",
        "x": _b64(numbers.x.to_bytes(32, "big")),
        "y": _b64(numbers.y.to_bytes(32, "big")),
    }


def thumbprint(key: ec.EllipticCurvePublicKey) -> str:
    """RFC 7638 JWK thumbprint (SHA-256, base64url): the key id."""
    jwk = public_jwk(key)
    canonical = json.dumps({k: jwk[k] for k in ("crv", "kty", "x", "y")}, separators=(",", ":"))
    return _b64(hashlib.sha256(canonical.encode()).digest())


class KeyStore:
    """The signing keys of one keys directory, reloaded when another process rotates them."""

    def __init__(self, keys_dir: Path) -> None:
        self.directory = keys_dir / SIGNING_DIR
        self._guard = threading.Lock()
        self._stamp: tuple[int, int] | None = None
        self._index = KeyIndex()
        self._private: dict[str, ec.EllipticCurvePrivateKey] = {}

    @property
    def index_path(self) -> Path:
        return self.directory / INDEX_FILE

    def exists(self) -> bool:
        return self.index_path.exists()

    def active(self) -> SigningKey:
        """The one key that signs now."""
        index = self._current()
        entry = next(e for e in reversed(index.keys) if e.retired_at is None)
        return SigningKey(kid=entry.kid, private_key=self._private[entry.kid],
                          created_at=entry.created_at)

    def all_keys(self) -> list[PublicKey]:
        """Every key ever created here, oldest first."""
        return [
            PublicKey(kid=e.kid, public_key=self._private[e.kid].public_key(),
                      created_at=e.created_at, retired_at=e.retired_at)
            for e in self._current().keys
        ]

    def published(self, now: datetime, max_token_lifetime: timedelta) -> list[PublicKey]:
        """Keys whose signatures may still be on a valid token: active ones, and retired ones
        until `retired_at + max_token_lifetime`. Newest first."""
        keys = [
            k for k in self.all_keys()
            if k.retired_at is None or k.retired_at + max_token_lifetime > now
        ]
        return list(reversed(keys))

    def jwks(self, now: datetime, max_token_lifetime: timedelta) -> dict[str, Any]:
        """The public JWK Set (RFC 7517) to serve at `/.well-known/jwks.json`."""
        return {
            "keys": [
                {**public_jwk(k.public_key), "kid": k.kid, "alg": ALGORITHM, "use": "sig"}
                for k in self.published(now, max_token_lifetime)
            ]
        }

    def create_first(self, now: datetime) -> SigningKey:
        """Generate the first key unless another process already did."""
        with self._locked():
            if not self.exists():
                self._write_new_key(KeyIndex(), now)
        return self.active()

    def rotate(self, now: datetime) -> SigningKey:
        """Generate a key that signs from `now` on; the previous active key is retired at `now`."""
        with self._locked():
            index = self._read_index() if self.exists() else KeyIndex()
            retired = tuple(
                msgspec.structs.replace(e, retired_at=now) if e.retired_at is None else e
                for e in index.keys
            )
            self._write_new_key(KeyIndex(keys=retired), now)
        return self.active()

    # -- internals -------------------------------------------------------------------------------

    def _current(self) -> KeyIndex:
        """The index, reloaded from disk when its file changed since the last look."""
        try:
            info = self.index_path.stat()
        except FileNotFoundError as exc:
            raise ConfigError(f"no signing keys in {self.directory}") from exc
        stamp = (info.st_mtime_ns, info.st_ino)
        with self._guard:
            if stamp != self._stamp:
                index = self._read_index()
                private = {e.kid: self._private.get(e.kid) or self._load_pem(e.kid) for e in index.keys}
                if not any(e.retired_at is None for e in index.keys):
                    raise ConfigError(f"{self.index_path} names no active signing key")
                self._index, self._private, self._stamp = index, private, stamp
            return self._index

    def _read_index(self) -> KeyIndex:
        try:
            return msgspec.json.decode(self.index_path.read_bytes(), type=KeyIndex)
        except (OSError, msgspec.ValidationError, msgspec.DecodeError) as exc:
            raise ConfigError(f"unreadable signing key index {self.index_path}: {exc}") from exc

    def _load_pem(self, kid: str) -> ec.EllipticCurvePrivateKey:
        path = self._pem_path(kid)
        try:
            key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        except (OSError, ValueError) as exc:
            raise ConfigError(f"unreadable signing key {path}: {exc}") from exc
        if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
            raise ConfigError(f"{path} is not a P-256 private key")
        if thumbprint(key.public_key()) != kid:
            raise ConfigError(f"{path} does not hold the key {kid}")
        return key

    def _pem_path(self, kid: str) -> Path:
        return self.directory / f"{kid}.pem"

    def _write_new_key(self, index: KeyIndex, now: datetime) -> None:
        key = ec.generate_private_key(ec.SECP256R1())
        kid = thumbprint(key.public_key())
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        fd = os.open(self._pem_path(kid), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(pem)
            handle.flush()
            os.fsync(handle.fileno())
        updated = KeyIndex(keys=(*index.keys, KeyEntry(kid=kid, created_at=now)))
        # Write the index beside itself and rename: a reader sees the old or the new, never half.
        temporary = self.index_path.with_suffix(".tmp")
        temporary.write_bytes(msgspec.json.format(msgspec.json.encode(updated)))
        os.replace(temporary, self.index_path)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """An exclusive lock across processes, so that two rotations cannot both win."""
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        with open(self.directory / LOCK_FILE, "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)


def load_key_store(keys_dir: Path, *, create: bool, now: datetime) -> KeyStore:
    """Open the signing keys; create the first key when `create` is true (dev and tests).

    Without keys and without `create` (production) this raises ConfigError: the service must not
    start signing with a key nobody provisioned.
    """
    store = KeyStore(keys_dir)
    if not store.exists():
        if not create:
            raise ConfigError(
                f"no signing keys in {store.directory}; run `ecard keys rotate` to create one"
            )
        store.create_first(now)
    store.active()  # load and check every key now rather than on the first request
    return store


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
