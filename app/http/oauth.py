"""Authorization (授权提示 → 允许): the prompt, the user's decision, and the token endpoint."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Any
from urllib.parse import parse_qs, unquote

from litestar import Controller, Request, Response, get, post
from litestar.params import FromQuery, HeaderParameter, JSONBody, QueryParameter

from app.clock import rfc3339
from app.domain.consent import AuthorizeRequest, IssuedTokens, OAuthError
from app.errors import DomainError
from app.http.deps import PrincipalDep, ServicesDep
from app.http.openapi import PROBLEMS
from app.http.problems import NO_STORE, token_error_handler
from models.base import BEARER
from models.oauth import ConsentDecision, ConsentPrompt, ConsentRedirect, ScopeView, TokenResponse

FORM = "application/x-www-form-urlencoded"


class OAuthController(Controller):
    path = "/v1/oauth"
    tags = ["authorization"]

    @get("/authorize", responses=PROBLEMS)
    async def authorize(
        self,
        services: ServicesDep,
        response_type: FromQuery[str | None] = None,
        client_id: FromQuery[str | None] = None,
        redirect_uri: FromQuery[str | None] = None,
        requested_scope: Annotated[str | None, QueryParameter(name="scope")] = None,
        oauth_state: Annotated[str | None, QueryParameter(name="state")] = None,
        code_challenge: FromQuery[str | None] = None,
        code_challenge_method: FromQuery[str | None] = None,
    ) -> ConsentPrompt:
        """The consent prompt as JSON; the host app renders it and the user taps Allow or Deny."""
        prompt = await services.consent.authorize(AuthorizeRequest(
            response_type=response_type, client_id=client_id, redirect_uri=redirect_uri, scope=requested_scope,
            state=oauth_state, code_challenge=code_challenge, code_challenge_method=code_challenge_method,
        ))
        return ConsentPrompt(
            consent_id=prompt.consent_id, client_id=prompt.client_id, channel_name=prompt.channel_name,
            scopes=[ScopeView(scope=s.scope, description_zh=s.zh, description_en=s.en) for s in prompt.scopes],
            redirect_uri=prompt.redirect_uri, expires_at=rfc3339(prompt.expires_at),
        )

    @post("/consents", status_code=200, responses=PROBLEMS)
    async def decide(
        self, data: JSONBody[ConsentDecision], services: ServicesDep, principal: PrincipalDep
    ) -> ConsentRedirect:
        """Record Allow or Deny (with the user's own login token); returns where to send the user."""
        location = await services.consent.decide(data.consent_id, principal.user(), data.decision)
        return ConsentRedirect(redirect_to=location)

    @post("/token", status_code=200, responses=PROBLEMS, exception_handlers={DomainError: token_error_handler})
    async def token(
        self, request: Request[Any, Any, Any], services: ServicesDep,
        content_type: Annotated[str, HeaderParameter(name="content-type")] = "",
    ) -> Response[TokenResponse]:
        """RFC 6749 token endpoint, form-encoded: authorization_code (PKCE), refresh_token,
        client_credentials. Confidential channels authenticate with HTTP Basic or form fields."""
        if content_type.split(";")[0].strip().lower() != FORM:
            raise OAuthError(f"the token endpoint takes {FORM}", code="invalid_request")
        try:
            form = {k: v[0] for k, v in parse_qs((await request.body()).decode(), strict_parsing=False).items()}
        except UnicodeDecodeError:
            raise OAuthError("the form is not UTF-8", code="invalid_request") from None
        client_id, client_secret = _client_credentials(request, form)
        channel = await services.consent.authenticate_client(client_id, client_secret)
        grant = form.get("grant_type")
        issued: IssuedTokens
        if grant == "authorization_code":
            issued = await services.consent.exchange_code(
                channel, form.get("code", ""), form.get("redirect_uri"), form.get("code_verifier"))
        elif grant == "refresh_token":
            issued = await services.consent.refresh(channel, form.get("refresh_token", ""), form.get("scope"))
        elif grant == "client_credentials":
            issued = await services.consent.client_credentials(channel, form.get("scope"))
        else:
            raise OAuthError(f"grant_type {grant!r} is not supported", code="unsupported_grant_type")
        body = TokenResponse(access_token=issued.access_token, token_type=BEARER, expires_in=issued.expires_in,
                             scope=issued.scope, refresh_token=issued.refresh_token)
        return Response(body, headers=NO_STORE)


def _client_credentials(request: Request[Any, Any, Any], form: dict[str, str]) -> tuple[str | None, str | None]:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("basic "):
        try:
            decoded = base64.b64decode(header[6:].strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            raise OAuthError("malformed Basic credentials", code="invalid_client", status=401) from None
        user, sep, password = decoded.partition(":")
        if not sep:
            raise OAuthError("malformed Basic credentials", code="invalid_client", status=401)
        return unquote(user), unquote(password)
    return form.get("client_id"), form.get("client_secret")
