"""Signing and verifying the service's JWS tokens (RFC 7515/7519, with RFC 8725 in mind).

Every token type has its own `typ` (`ecard+jwt`, `statuslist+jwt`), and verification insists on the
one it expects, so that no token can pass for another. The only accepted algorithm is ES256; `none`,
HS256 (the classic public-key-as-HMAC-secret forgery) and everything else are refused before any
key is looked at.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import jwt

from app.security.keys import ALGORITHM

if TYPE_CHECKING:
    from app.security.keys import KeyStore

ALLOWED_ALGORITHMS = (ALGORITHM,)
ECARD_TYP = "ecard+jwt"
STATUS_LIST_TYP = "statuslist+jwt"


class JwsError(Exception):
    """The token is malformed, forged, of another type, signed by an unknown key or expired."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Signer:
    """Signs claims with the key store's active key."""

    def __init__(self, keys: KeyStore) -> None:
        self._keys = keys

    def kid(self) -> str:
        """The id of the key that signs now."""
        return self._keys.active().kid

    def sign(self, claims: dict[str, Any], *, typ: str) -> str:
        key = self._keys.active()
        return jwt.encode(
            claims, key.private_key, algorithm=ALGORITHM, headers={"kid": key.kid, "typ": typ}
        )


def verify(
    token: str, *, typ: str, keys: KeyStore, now: datetime, max_token_lifetime: timedelta,
    issuer: str | None = None, leeway: timedelta = timedelta(seconds=30),
) -> dict[str, Any]:
    """Check a compact JWS of type `typ` against the published keys; return its claims.

    `exp` is checked against `now` (the service's clock), not the host's time.
    """
    try:
        header = jwt.get_unverified_header(token)
    except jwt.InvalidTokenError as exc:
        raise JwsError("malformed") from exc
    if header.get("alg") not in ALLOWED_ALGORITHMS:
        raise JwsError("algorithm not allowed")
    if header.get("typ") != typ:
        raise JwsError("wrong token type")
    kid = header.get("kid")
    key = next((k for k in keys.published(now, max_token_lifetime) if k.kid == kid), None)
    if key is None:
        raise JwsError("unknown key")
    try:
        claims: dict[str, Any] = jwt.decode(
            token, key.public_key, algorithms=list(ALLOWED_ALGORITHMS),
            options={"verify_exp": False, "verify_iat": False, "verify_nbf": False,
                     "verify_aud": False, "verify_iss": False, "require": ["iat"]},
        )
    except jwt.InvalidTokenError as exc:
        raise JwsError("bad signature or claims") from exc
    exp = claims.get("exp")
    if exp is not None and (not isinstance(exp, int) or exp + leeway.total_seconds() <= now.timestamp()):
        raise JwsError("expired")
    if issuer is not None and claims.get("iss") != issuer:
        raise JwsError("wrong issuer")
    return claims
