"""OAuth-like consent (授权提示 → 允许): authorization code flow with PKCE S256, per RFC 6749/7636.

Two steps, as in authlib: the prompt (`authorize`) and the user's decision (`decide`), then the
channel's back-channel exchange at the token endpoint (`exchange_code`, `refresh`,
`client_credentials`). A code lives 60 s and is single use; presenting it again revokes every token
issued from it.
"""

from __future__ import annotations

import base64
import hashlib
import re
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal, Protocol
from urllib.parse import urlencode, urlsplit, urlunsplit

import msgspec

from app.domain.accounts import TokenRecord, rotate_refresh_token
from app.domain.scopes import CHANNEL_SCOPES, SCOPES, USER_SCOPES
from app.errors import DomainError, NotFound
from app.security.secrets import digest, new_token

if TYPE_CHECKING:
    from app.clock import Clock
    from app.domain.channels import Channel
    from app.domain.uow import Storage, UnitOfWork

CODE_TTL = timedelta(seconds=60)
CONSENT_TTL = timedelta(minutes=10)
ACCESS_TTL = timedelta(minutes=10)
REFRESH_TTL = timedelta(days=30)
_VERIFIER = re.compile(r"^[A-Za-z0-9\-._~]{43,128}$")
_CHALLENGE = re.compile(r"^[A-Za-z0-9\-_]{43}$")


class OAuthError(DomainError):
    """An RFC 6749 error: `code` is the RFC error code, repeated as `error` for OAuth clients."""

    status = 400
    default_code = "invalid_request"

    def __init__(self, detail: str, *, code: str | None = None, status: int | None = None,
                 **extra: Any) -> None:
        super().__init__(detail, code=code, **extra)
        self.extra.setdefault("error", self.code)
        self.extra.setdefault("error_description", detail)
        if status is not None:
            self.status = status  # type: ignore[misc]


class Consent(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    client_id: str
    redirect_uri: str
    scopes: tuple[str, ...]
    state: str | None
    code_challenge: str
    created_at: datetime
    expires_at: datetime
    account_id: int | None = None
    decision: Literal["allow", "deny"] | None = None


class AuthorizationCode(msgspec.Struct, frozen=True, kw_only=True):
    code_hash: str
    grant_id: str
    consent_id: str
    account_id: int
    client_id: str
    redirect_uri: str
    scopes: tuple[str, ...]
    code_challenge: str
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None = None


class ConsentRepository(Protocol):
    async def add(self, consent: Consent) -> None: ...

    async def get(self, consent_id: str) -> Consent | None: ...

    async def decide(self, consent_id: str, account_id: int, decision: str, at: datetime) -> bool:
        """Record the decision once; False when it was decided already."""
        ...

    async def add_code(self, code: AuthorizationCode) -> None: ...

    async def find_code(self, code_hash: str) -> AuthorizationCode | None: ...

    async def use_code(self, code_hash: str, at: datetime) -> bool:
        """Mark used; False when it had been used already."""
        ...


class AuthorizeRequest(msgspec.Struct, frozen=True, kw_only=True):
    response_type: str | None
    client_id: str | None
    redirect_uri: str | None
    scope: str | None
    state: str | None
    code_challenge: str | None
    code_challenge_method: str | None


class ScopeDescription(msgspec.Struct, frozen=True):
    scope: str
    zh: str
    en: str


class Prompt(msgspec.Struct, frozen=True, kw_only=True):
    consent_id: str
    client_id: str
    channel_name: str
    scopes: tuple[ScopeDescription, ...]
    redirect_uri: str
    expires_at: datetime


class IssuedTokens(msgspec.Struct, frozen=True, kw_only=True):
    access_token: str
    expires_in: int
    scope: str
    refresh_token: str | None = None


def s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def with_query(uri: str, params: dict[str, str]) -> str:
    parts = urlsplit(uri)
    query = "&".join(q for q in (parts.query, urlencode(params)) if q)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))


class ConsentService:
    def __init__(self, storage: Storage, clock: Clock) -> None:
        self._storage = storage
        self._clock = clock

    async def authorize(self, req: AuthorizeRequest) -> Prompt:
        """Validate an authorization request and record the prompt the user will answer."""
        if not req.client_id:
            raise OAuthError("client_id is required")
        async with self._storage.unit_of_work() as uow:
            channel = await uow.channels.get(req.client_id)
        if channel is None or channel.kind not in {"app", "miniprogram"}:
            raise OAuthError("unknown client_id, or a channel that cannot act for users",
                             code="invalid_client", status=400)
        # Until the redirect URI is known to be the channel's own, errors are never redirected.
        if not req.redirect_uri or req.redirect_uri not in channel.redirect_uris:
            raise OAuthError("redirect_uri is not registered for this channel (exact match)",
                             code="invalid_redirect_uri")
        if req.response_type != "code":
            raise OAuthError("response_type must be code", code="unsupported_response_type")
        if req.code_challenge_method != "S256":
            raise OAuthError("PKCE with code_challenge_method=S256 is required", code="invalid_request",
                             field="code_challenge_method")
        if not req.code_challenge or not _CHALLENGE.match(req.code_challenge):
            raise OAuthError("code_challenge must be the base64url SHA-256 of the verifier",
                             field="code_challenge")
        scopes = requested_scopes(req.scope, channel, allowed=USER_SCOPES)
        now = self._clock.now()
        consent = Consent(
            id=new_token(16), client_id=channel.client_id, redirect_uri=req.redirect_uri,
            scopes=scopes, state=req.state, code_challenge=req.code_challenge,
            created_at=now, expires_at=now + CONSENT_TTL,
        )
        async with self._storage.unit_of_work() as uow:
            await uow.consents.add(consent)
        return Prompt(
            consent_id=consent.id, client_id=channel.client_id, channel_name=channel.name,
            scopes=tuple(ScopeDescription(s, *SCOPES[s]) for s in scopes),
            redirect_uri=consent.redirect_uri, expires_at=consent.expires_at,
        )

    async def decide(self, consent_id: str, account_id: int, decision: Literal["allow", "deny"]) -> str:
        """Record the user's answer; returns the redirect location for the channel."""
        now = self._clock.now()
        code = new_token(32)
        async with self._storage.unit_of_work() as uow:
            consent = await uow.consents.get(consent_id)
            if consent is None:
                raise NotFound("no such consent prompt", code="unknown_consent")
            if consent.expires_at <= now:
                raise OAuthError("the consent prompt has expired; start again", code="consent_expired")
            if not await uow.consents.decide(consent_id, account_id, decision, now):
                raise OAuthError("the consent prompt was answered already", code="consent_used",
                                 status=409)
            params = {} if consent.state is None else {"state": consent.state}
            await uow.audit.record(now, f"consent.{decision}", actor=f"account:{account_id}",
                                   subject=consent.client_id, detail={"scopes": list(consent.scopes)})
            if decision == "deny":
                return with_query(consent.redirect_uri, {"error": "access_denied", **params})
            await uow.consents.add_code(AuthorizationCode(
                code_hash=digest(code), grant_id=new_token(12), consent_id=consent.id,
                account_id=account_id, client_id=consent.client_id, redirect_uri=consent.redirect_uri,
                scopes=consent.scopes, code_challenge=consent.code_challenge,
                created_at=now, expires_at=now + CODE_TTL,
            ))
        return with_query(consent.redirect_uri, {"code": code, **params})

    async def authenticate_client(self, client_id: str | None, client_secret: str | None) -> Channel:
        """RFC 6749 §2.3: confidential channels prove themselves with their secret."""
        if not client_id:
            raise OAuthError("client authentication failed", code="invalid_client", status=401)
        async with self._storage.unit_of_work() as uow:
            channel = await uow.channels.get(client_id)
        if channel is None:
            raise OAuthError("client authentication failed", code="invalid_client", status=401)
        if channel.is_public:
            if client_secret:
                raise OAuthError("a public client has no secret", code="invalid_client", status=401)
        elif not client_secret or not channel.secret_matches(client_secret):
            raise OAuthError("client authentication failed", code="invalid_client", status=401)
        return channel

    async def exchange_code(self, channel: Channel, code: str, redirect_uri: str | None,
                            verifier: str | None) -> IssuedTokens:
        """Exchange a code for tokens. A code is good for one try: a failed check (a wrong PKCE
        verifier, another client, another redirect URI) uses it up too, so that a stolen code
        cannot be tried against more verifiers (RFC 9700 §2.1.1)."""
        now = self._clock.now()
        refusal: OAuthError | None = None
        async with self._storage.unit_of_work() as uow:
            record = await uow.consents.find_code(digest(code))
            if record is None:
                raise OAuthError("unknown authorization code", code="invalid_grant")
            # Marking it used is the check that counts: of two exchanges racing on one code,
            # only one changes the row; the other is a replay.
            if record.used_at is not None or not await uow.consents.use_code(record.code_hash, now):
                revoked = await uow.tokens.revoke_grant(record.grant_id, now)
                await uow.audit.record(now, "oauth.code_replayed", actor=channel.client_id,
                                       subject=record.grant_id, detail={"revoked_tokens": revoked})
                refusal = OAuthError("the authorization code was used already; its tokens are revoked",
                                     code="invalid_grant")
            else:
                try:
                    self._check_code(record, channel, redirect_uri, verifier, now)
                except OAuthError as failed:
                    # Committed with the code used up; the refusal follows outside the transaction.
                    await uow.audit.record(now, "oauth.code_refused", actor=channel.client_id,
                                           subject=record.grant_id, detail={"reason": failed.detail})
                    refusal = failed
                else:
                    tokens = await self._issue(uow, channel, record.account_id, record.scopes,
                                               record.grant_id, refresh=True)
        if refusal is not None:
            raise refusal
        return tokens

    @staticmethod
    def _check_code(record: AuthorizationCode, channel: Channel, redirect_uri: str | None,
                    verifier: str | None, now: datetime) -> None:
        if record.client_id != channel.client_id:
            raise OAuthError("the code was issued to another client", code="invalid_grant")
        if record.expires_at <= now:
            raise OAuthError("the authorization code has expired", code="invalid_grant")
        if redirect_uri != record.redirect_uri:
            raise OAuthError("redirect_uri differs from the authorization request", code="invalid_grant")
        if not verifier or not _VERIFIER.match(verifier):
            raise OAuthError("code_verifier: 43-128 unreserved characters", field="code_verifier")
        if s256(verifier) != record.code_challenge:
            raise OAuthError("PKCE verification failed", code="invalid_grant")

    async def refresh(self, channel: Channel, refresh_token: str, scope: str | None = None) -> IssuedTokens:
        """Rotate: the old refresh token dies; presenting it again revokes the whole grant.

        A `scope` narrows the new access token to those scopes (RFC 6749 §6); the new refresh token
        keeps the whole grant. A scope the grant does not hold is `invalid_scope`."""
        now = self._clock.now()
        async with self._storage.unit_of_work() as uow:
            record = await uow.tokens.find(digest(refresh_token))
            # Checked before the rotation, so that a refused scope leaves the refresh token usable
            # (and only for this channel's live token, so that it tells nothing about others).
            live = record is not None and record.kind == "refresh" and record.client_id == channel.client_id
            narrowed = narrowed_scopes(scope, record.scopes) if live and record is not None else ()
            outcome, record = await rotate_refresh_token(
                uow, refresh_token, now, kind="refresh", client_id=channel.client_id)
            if outcome == "rotated" and record is not None:
                tokens = await self._issue(uow, channel, record.account_id, narrowed,
                                           record.grant_id, refresh=True, refresh_scopes=record.scopes)
        if outcome == "unknown":
            raise OAuthError("unknown refresh token", code="invalid_grant")
        if outcome == "expired":
            raise OAuthError("the refresh token has expired", code="invalid_grant")
        if outcome == "reused":
            raise OAuthError("the refresh token was used already; the grant is revoked", code="invalid_grant")
        return tokens

    async def client_credentials(self, channel: Channel, scope: str | None) -> IssuedTokens:
        if channel.is_public or channel.kind not in {"relying_party", "counter"}:
            raise OAuthError("client_credentials is for relying parties and counters",
                             code="unauthorized_client")
        scopes = requested_scopes(scope, channel, allowed=CHANNEL_SCOPES)
        async with self._storage.unit_of_work() as uow:
            return await self._issue(uow, channel, None, scopes, None, refresh=False)

    async def _issue(self, uow: UnitOfWork, channel: Channel, account_id: int | None,
                     scopes: tuple[str, ...], grant_id: str | None, *, refresh: bool,
                     refresh_scopes: tuple[str, ...] | None = None) -> IssuedTokens:
        now = self._clock.now()
        access = new_token()
        await uow.tokens.add(TokenRecord(
            token_hash=digest(access), kind="access", account_id=account_id, client_id=channel.client_id,
            scopes=scopes, grant_id=grant_id, created_at=now, expires_at=now + ACCESS_TTL,
        ))
        refresh_token = None
        if refresh:
            refresh_token = new_token()
            await uow.tokens.add(TokenRecord(
                token_hash=digest(refresh_token), kind="refresh", account_id=account_id,
                client_id=channel.client_id, scopes=refresh_scopes or scopes, grant_id=grant_id,
                created_at=now, expires_at=now + REFRESH_TTL,
            ))
        return IssuedTokens(access_token=access, expires_in=int(ACCESS_TTL.total_seconds()),
                            scope=" ".join(scopes), refresh_token=refresh_token)


def narrowed_scopes(raw: str | None, granted: tuple[str, ...]) -> tuple[str, ...]:
    """The scopes asked for on a refresh: all of the grant when none are named, else a subset."""
    if raw is None or not raw.strip():
        return granted
    requested = tuple(dict.fromkeys(raw.split()))
    beyond = [s for s in requested if s not in granted]
    if beyond:
        raise OAuthError(f"scopes beyond the original grant: {' '.join(beyond)}", code="invalid_scope")
    return requested


def requested_scopes(raw: str | None, channel: Channel, *, allowed: frozenset[str]) -> tuple[str, ...]:
    """The requested scopes, each one the channel holds and this grant may carry; default: all."""
    usable = [s for s in channel.scopes if s in allowed]
    if raw is None or not raw.strip():
        if not usable:
            raise OAuthError("the channel holds no scope this grant can carry", code="invalid_scope")
        return tuple(usable)
    requested = tuple(dict.fromkeys(raw.split()))
    refused = [s for s in requested if s not in usable]
    if refused:
        raise OAuthError(f"scopes not allowed for this channel and grant: {' '.join(refused)}",
                         code="invalid_scope")
    return requested
