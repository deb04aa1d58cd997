from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from models.base import Wire


class ScopeView(Wire):
    scope: str
    description_zh: str
    description_en: str


class ConsentPrompt(Wire):
    """The authorization prompt (授权提示) the host app shows before the user taps Allow."""

    consent_id: str
    client_id: str
    channel_name: str
    scopes: list[ScopeView]
    redirect_uri: str
    expires_at: str


class ConsentDecision(Wire):
    consent_id: Annotated[str, msgspec.Meta(min_length=1, max_length=128)]
    decision: Literal["allow", "deny"]


class ConsentRedirect(Wire):
    redirect_to: str


class TokenResponse(Wire):
    access_token: str
    token_type: Literal["Bearer"]
    expires_in: int
    scope: str
    refresh_token: str | None = None


class NewChannelRequest(Wire):
    client_id: str
    kind: Literal["app", "miniprogram", "relying_party", "counter"]
    scopes: list[str]
    redirect_uris: list[str] = []
    name: str | None = None
    # How face sessions prove liveness; "light" needs a client that can flash the screen.
    face_challenge: Literal["actions", "light", "actions+light"] = "actions"


class ChannelView(Wire):
    client_id: str
    name: str
    kind: str
    scopes: list[str]
    redirect_uris: list[str]
    created_at: str
    face_challenge: Literal["actions", "light", "actions+light"]
    client_secret: str | None = None
