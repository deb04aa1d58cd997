"""Protection at rest for ID numbers and photos.

`seal`/`unseal` use AES-256-GCM with a random nonce; `index` is an HMAC-SHA256 so that an ID number
can be found without storing it in clear. Both keys derive from one 32-byte data key kept in
`ECARD_KEYS_DIR/data.key` (generated on first start in dev, required in prod).
"""

from __future__ import annotations

import hashlib
import hmac
import os
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from app.config import ConfigError

_NONCE = 12
DATA_KEY_FILE = "data.key"


class Vault:
    def __init__(self, data_key: bytes) -> None:
        if len(data_key) != 32:
            raise ValueError("the data key must be 32 bytes")
        self._aead = AESGCM(hmac.new(data_key, b"ecard seal v1", hashlib.sha256).digest())
        self._index_key = hmac.new(data_key, b"ecard index v1", hashlib.sha256).digest()

    def seal(self, plain: bytes, *, context: bytes = b"") -> bytes:
        nonce = os.urandom(_NONCE)
        return nonce + self._aead.encrypt(nonce, plain, context)

    def unseal(self, sealed: bytes, *, context: bytes = b"") -> bytes:
        return self._aead.decrypt(sealed[:_NONCE], sealed[_NONCE:], context)

    def index(self, value: str) -> str:
        return hmac.new(self._index_key, value.encode(), hashlib.sha256).hexdigest()


def check_private_keys(keys_dir: Path) -> None:
    """Refuse key files that other accounts on the host can read (production start-up).

    The data key unseals every ID number and photo, a signing key issues e-cards: a key file
    with any group or other permission is refused, with the command that fixes it."""
    for path in sorted([keys_dir / DATA_KEY_FILE, *keys_dir.rglob("*.pem")]):
        if path.exists() and path.stat().st_mode & 0o077:
            raise ConfigError(
                f"{path} can be read by other accounts (mode {path.stat().st_mode & 0o777:o}); "
                f"run `chmod 600 {path}` before starting in production"
            )


def load_vault(keys_dir: Path, *, create: bool) -> Vault:
    """Read the data key, creating it (mode 0600) when `create` is true and it is missing."""
    path = keys_dir / DATA_KEY_FILE
    if not path.exists():
        if not create:
            raise ConfigError(f"missing data key {path}; it is not generated outside dev")
        keys_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(os.urandom(32))
    return Vault(path.read_bytes())
