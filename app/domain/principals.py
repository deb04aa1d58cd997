"""Who is calling: a bearer token resolved to a principal, and the checks endpoints make on it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import msgspec

from app.errors import Forbidden, InsufficientScope, Unauthenticated
from app.security.secrets import digest

if TYPE_CHECKING:
    from app.clock import Clock
    from app.domain.uow import Storage

# user: the citizen's own login token (consent decisions, account pages);
# delegated: a channel acting for a citizen (authorization_code grant);
# channel: a channel acting for itself (client_credentials: relying parties, counters).
PrincipalKind = Literal["user", "delegated", "channel"]


class Principal(msgspec.Struct, frozen=True, kw_only=True):
    kind: PrincipalKind
    account_id: int | None
    client_id: str | None
    scopes: frozenset[str]

    def user(self) -> int:
        """The citizen's account, for endpoints only the citizen's own login may call."""
        if self.kind != "user" or self.account_id is None:
            raise Forbidden("this endpoint needs the citizen's own login token", code="user_token_required")
        return self.account_id

    def acting_for_user(self, scope: str) -> tuple[int, str]:
        """(account_id, client_id) of a channel token acting for a citizen with `scope`."""
        if self.kind != "delegated" or self.account_id is None or self.client_id is None:
            raise Forbidden("this endpoint needs a channel token granted by the citizen",
                            code="delegated_token_required")
        self.require(scope)
        return self.account_id, self.client_id

    def acting_for_user_with_any(self, *scopes: str) -> tuple[int, str]:
        """As `acting_for_user`, for endpoints that serve several scopes (the face check proves a
        claim and the holder's own acts alike); `insufficient_scope` names the first."""
        held = next((scope for scope in scopes if scope in self.scopes), scopes[0])
        return self.acting_for_user(held)

    def channel(self, scope: str) -> str:
        """client_id of a channel acting for itself (client_credentials) with `scope`."""
        if self.kind != "channel" or self.client_id is None:
            raise Forbidden("this endpoint needs a client_credentials token", code="channel_token_required")
        self.require(scope)
        return self.client_id

    def require(self, scope: str) -> None:
        if scope not in self.scopes:
            raise InsufficientScope(f"the token lacks scope {scope}", required_scope=scope)


async def authenticate(storage: Storage, clock: Clock, token: str) -> Principal:
    """Resolve a bearer token; unknown, expired and revoked tokens are all `invalid_token`."""
    async with storage.unit_of_work() as uow:
        record = await uow.tokens.find(digest(token))
    if record is None or record.revoked_at is not None or record.expires_at <= clock.now():
        raise Unauthenticated("the access token is unknown, expired or revoked")
    if record.kind == "user":
        return Principal(kind="user", account_id=record.account_id, client_id=None, scopes=frozenset())
    if record.kind == "access":
        kind: PrincipalKind = "delegated" if record.account_id is not None else "channel"
        return Principal(kind=kind, account_id=record.account_id, client_id=record.client_id,
                         scopes=frozenset(record.scopes))
    raise Unauthenticated("a refresh token is not an access token")
