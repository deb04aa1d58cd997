"""Channels: the OAuth clients (host apps, mini-programs, relying parties, counter systems)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import TYPE_CHECKING, Literal, Protocol
from urllib.parse import SplitResult, urlsplit

import msgspec

from app.domain.scopes import SCOPES, USER_SCOPES
from app.errors import Conflict, InvalidInput, NotFound
from app.security.secrets import digest, new_token, same

if TYPE_CHECKING:
    from app.clock import Clock
    from app.domain.uow import Storage

ChannelKind = Literal["app", "miniprogram", "relying_party", "counter"]
KINDS: tuple[ChannelKind, ...] = ("app", "miniprogram", "relying_party", "counter")
# A mini-program cannot keep a secret: it is a public client and proves itself with PKCE alone.
PUBLIC_KINDS = frozenset({"miniprogram"})
# How a channel's face sessions prove liveness: the action challenge, a light challenge (the
# client flashes server-chosen colours on the screen), or both. Clients opt in to light: they must
# be able to show colours full-screen while capturing.
FaceChallengeKind = Literal["actions", "light", "actions+light"]
FACE_CHALLENGES: tuple[FaceChallengeKind, ...] = ("actions", "light", "actions+light")
_CLIENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{2,63}$")


class Channel(msgspec.Struct, frozen=True, kw_only=True):
    client_id: str
    name: str
    kind: ChannelKind
    secret_hash: str | None
    redirect_uris: tuple[str, ...]
    scopes: tuple[str, ...]
    created_at: datetime
    face_challenge: FaceChallengeKind = "actions"

    @property
    def is_public(self) -> bool:
        return self.kind in PUBLIC_KINDS

    def secret_matches(self, secret: str) -> bool:
        return self.secret_hash is not None and same(self.secret_hash, digest(secret))


class ChannelRepository(Protocol):
    async def add(self, channel: Channel) -> bool:
        """Insert; False when the client_id is taken."""
        ...

    async def get(self, client_id: str) -> Channel | None: ...


class NewChannel(msgspec.Struct, frozen=True, kw_only=True):
    client_id: str
    kind: ChannelKind
    scopes: tuple[str, ...]
    redirect_uris: tuple[str, ...] = ()
    name: str | None = None
    face_challenge: FaceChallengeKind = "actions"


class CreatedChannel(msgspec.Struct, frozen=True, kw_only=True):
    channel: Channel
    client_secret: str | None


class ChannelService:
    def __init__(self, storage: Storage, clock: Clock) -> None:
        self._storage = storage
        self._clock = clock

    async def create(self, spec: NewChannel) -> CreatedChannel:
        """Register a channel; confidential kinds get a secret, shown once and stored hashed."""
        validate_channel(spec)
        secret = None if spec.kind in PUBLIC_KINDS else new_token(32)
        channel = Channel(
            client_id=spec.client_id,
            name=spec.name or spec.client_id,
            kind=spec.kind,
            # The secret is 256 random bits, so a plain digest protects it as well as a slow hash.
            secret_hash=digest(secret) if secret else None,
            redirect_uris=tuple(dict.fromkeys(spec.redirect_uris)),
            scopes=tuple(dict.fromkeys(spec.scopes)),
            created_at=self._clock.now(),
            face_challenge=spec.face_challenge,
        )
        async with self._storage.unit_of_work() as uow:
            if not await uow.channels.add(channel):
                raise Conflict(f"channel {spec.client_id!r} exists", code="channel_exists")
            await uow.audit.record(
                self._clock.now(), "channel.created", actor="admin", subject=spec.client_id,
                detail={"kind": spec.kind, "scopes": list(channel.scopes),
                        "face_challenge": channel.face_challenge},
            )
        return CreatedChannel(channel=channel, client_secret=secret)

    async def get(self, client_id: str) -> Channel:
        async with self._storage.unit_of_work() as uow:
            channel = await uow.channels.get(client_id)
        if channel is None:
            raise NotFound(f"no channel {client_id!r}", code="unknown_client")
        return channel


def validate_channel(spec: NewChannel) -> None:
    """Refuse channel definitions that could not work safely."""
    if not _CLIENT_ID.match(spec.client_id):
        raise InvalidInput(
            "client_id: 3-64 characters of letters, digits, '.', '_' or '-'", code="invalid_client_id",
            field="client_id",
        )
    if not spec.scopes:
        raise InvalidInput("at least one scope is required", code="invalid_scope", field="scopes")
    unknown = [s for s in spec.scopes if s not in SCOPES]
    if unknown:
        raise InvalidInput(f"unknown scopes: {', '.join(unknown)}", code="invalid_scope", field="scopes")
    user_facing = spec.kind in {"app", "miniprogram"}
    if user_facing and not spec.redirect_uris:
        raise InvalidInput(
            f"a {spec.kind} channel needs at least one redirect URI", code="invalid_redirect_uri",
            field="redirect_uris",
        )
    if not user_facing and set(spec.scopes) & USER_SCOPES:
        raise InvalidInput(
            f"a {spec.kind} channel acts for itself; user scopes are for app and miniprogram",
            code="invalid_scope", field="scopes",
        )
    for uri in spec.redirect_uris:
        validate_redirect_uri(uri)
    if spec.face_challenge not in FACE_CHALLENGES:
        raise InvalidInput(
            f"face_challenge must be one of {', '.join(FACE_CHALLENGES)}", code="invalid_request",
            field="face_challenge",
        )


def _well_formed(uri: str) -> SplitResult | None:
    """The URI's parts, or None when it cannot be one: spaces or control characters, a bad host
    or port, or user information before the host (which hides where the user is sent)."""
    if not uri or any(c.isspace() or ord(c) < 0x20 or ord(c) == 0x7F for c in uri):
        return None
    try:
        parts = urlsplit(uri)
        _ = parts.port  # raises on a port that is not a number in 0-65535
    except ValueError:  # e.g. "http://[::1" or "https://[zz]/cb"
        return None
    if parts.netloc and (parts.username is not None or parts.password is not None or not parts.hostname):
        return None
    return parts


def validate_redirect_uri(uri: str) -> None:
    """Absolute, no fragment; https, http only for loopback, or an app's private-use scheme."""
    parts = _well_formed(uri)
    loopback = parts is not None and parts.hostname in {"127.0.0.1", "localhost", "::1"}
    ok = parts is not None and bool(parts.scheme) and not parts.fragment and (
        (parts.scheme == "https" and bool(parts.netloc))
        or (parts.scheme == "http" and loopback)
        or (parts.scheme not in {"http", "https", "javascript", "data", "file"} and "." in parts.scheme)
    )
    if not ok:
        raise InvalidInput(
            f"redirect URI {uri!r} must be https, loopback http, or a reverse-domain app scheme",
            code="invalid_redirect_uri", field="redirect_uris",
        )
