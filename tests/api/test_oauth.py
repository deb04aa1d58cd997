"""Consent (授权提示 → 允许) and the token endpoint: PKCE S256, exact redirect URIs, single-use codes."""

from __future__ import annotations

import base64
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from litestar.testing import AsyncTestClient

from app.clock import FrozenClock
from app.services import Services
from tests.flow import (
    REDIRECT,
    add_channel,
    authorize_code,
    bearer,
    channel_token,
    pkce_pair,
    register_and_login,
    token_form,
)


def authorize_params(client_id: str = "demo-app", **overrides: str) -> dict[str, str]:
    _, challenge = pkce_pair()
    params = {"response_type": "code", "client_id": client_id, "redirect_uri": REDIRECT,
              "scope": "ecard:claim", "state": "s1", "code_challenge": challenge,
              "code_challenge_method": "S256"}
    params.update(overrides)
    return params


async def test_prompt_names_channel_and_describes_scopes_in_two_languages(
    client: AsyncTestClient[Any], services: Services
) -> None:
    await add_channel(services)
    r = await client.get("/v1/oauth/authorize", params=authorize_params(scope="ecard:claim ecard:read"))
    assert r.status_code == 200
    prompt = r.json()
    assert prompt["channel_name"] == "demo-app"
    assert [s["scope"] for s in prompt["scopes"]] == ["ecard:claim", "ecard:read"]
    assert "电子社保卡" in prompt["scopes"][0]["description_zh"]
    assert "card" in prompt["scopes"][0]["description_en"]
    assert prompt["consent_id"]


async def test_full_flow_gives_a_channel_token_acting_for_the_user(
    client: AsyncTestClient[Any], services: Services
) -> None:
    channel = await add_channel(services)
    user = await register_and_login(client)
    tokens = await channel_token(client, user, channel)
    assert tokens["token_type"] == "Bearer"
    assert tokens["scope"] == "ecard:claim ecard:read ecard:qrcode"
    assert tokens["refresh_token"]


async def test_foreign_redirect_uri_gets_an_error_and_no_redirect(
    client: AsyncTestClient[Any], services: Services
) -> None:
    await add_channel(services)
    r = await client.get("/v1/oauth/authorize",
                         params=authorize_params(redirect_uri="https://evil.example/callback"))
    assert r.status_code == 400
    assert r.json()["code"] == "invalid_redirect_uri"
    assert "location" not in r.headers


async def test_redirect_uri_must_match_exactly(client: AsyncTestClient[Any], services: Services) -> None:
    await add_channel(services)
    r = await client.get("/v1/oauth/authorize", params=authorize_params(redirect_uri=REDIRECT + "/"))
    assert r.json()["code"] == "invalid_redirect_uri"


@pytest.mark.parametrize("method", ["plain", ""])
async def test_only_s256_pkce_is_accepted(client: AsyncTestClient[Any], services: Services, method: str) -> None:
    await add_channel(services)
    r = await client.get("/v1/oauth/authorize", params=authorize_params(code_challenge_method=method))
    assert r.status_code == 400
    assert r.json()["code"] == "invalid_request"


async def test_scope_the_channel_does_not_hold_is_refused(client: AsyncTestClient[Any], services: Services) -> None:
    await add_channel(services, scopes=("ecard:claim",))
    r = await client.get("/v1/oauth/authorize", params=authorize_params(scope="ecard:claim ecard:qrcode"))
    assert r.status_code == 400
    assert r.json()["code"] == "invalid_scope"


async def test_unknown_client_is_refused(client: AsyncTestClient[Any]) -> None:
    r = await client.get("/v1/oauth/authorize", params=authorize_params(client_id="nobody"))
    assert r.status_code == 400
    assert r.json()["code"] == "invalid_client"


async def test_deny_redirects_with_access_denied(client: AsyncTestClient[Any], services: Services) -> None:
    await add_channel(services)
    user = await register_and_login(client)
    prompt = (await client.get("/v1/oauth/authorize", params=authorize_params())).json()
    r = await client.post("/v1/oauth/consents", json={"consent_id": prompt["consent_id"], "decision": "deny"},
                          headers=bearer(user))
    query = parse_qs(urlsplit(r.json()["redirect_to"]).query)
    assert query == {"error": ["access_denied"], "state": ["s1"]}


async def test_consent_needs_the_users_own_login(client: AsyncTestClient[Any], services: Services) -> None:
    await add_channel(services)
    prompt = (await client.get("/v1/oauth/authorize", params=authorize_params())).json()
    r = await client.post("/v1/oauth/consents", json={"consent_id": prompt["consent_id"], "decision": "allow"})
    assert r.status_code == 401


async def test_consent_is_answered_once(client: AsyncTestClient[Any], services: Services) -> None:
    await add_channel(services)
    user = await register_and_login(client)
    prompt = (await client.get("/v1/oauth/authorize", params=authorize_params())).json()
    decision = {"consent_id": prompt["consent_id"], "decision": "allow"}
    assert (await client.post("/v1/oauth/consents", json=decision, headers=bearer(user))).status_code == 200
    again = await client.post("/v1/oauth/consents", json=decision, headers=bearer(user))
    assert again.status_code == 409
    assert again.json()["code"] == "consent_used"


async def test_wrong_pkce_verifier_is_invalid_grant(client: AsyncTestClient[Any], services: Services) -> None:
    channel = await add_channel(services)
    user = await register_and_login(client)
    code, _ = await authorize_code(client, user, channel)
    wrong, _ = pkce_pair()
    r = await client.post("/v1/oauth/token", data=token_form(
        channel, grant_type="authorization_code", code=code, redirect_uri=REDIRECT, code_verifier=wrong))
    assert r.status_code == 400
    assert r.json()["code"] == "invalid_grant"
    assert r.json()["error"] == "invalid_grant"


async def test_replayed_code_is_refused_and_revokes_its_tokens(
    client: AsyncTestClient[Any], services: Services
) -> None:
    channel = await add_channel(services)
    user = await register_and_login(client)
    code, verifier = await authorize_code(client, user, channel)
    form = token_form(channel, grant_type="authorization_code", code=code, redirect_uri=REDIRECT,
                      code_verifier=verifier)
    first = await client.post("/v1/oauth/token", data=form)
    assert first.status_code == 200
    access = first.json()["access_token"]
    assert (await client.post("/v1/realname", json={"name": "x", "id_number": "1"},
                              headers=bearer(access))).status_code != 401
    replay = await client.post("/v1/oauth/token", data=form)
    assert replay.status_code == 400
    assert replay.json()["code"] == "invalid_grant"
    after = await client.post("/v1/realname", json={"name": "x", "id_number": "1"}, headers=bearer(access))
    assert after.status_code == 401
    refresh = await client.post("/v1/oauth/token", data=token_form(
        channel, grant_type="refresh_token", refresh_token=first.json()["refresh_token"]))
    assert refresh.status_code == 400


async def test_code_expires_after_sixty_seconds(
    client: AsyncTestClient[Any], services: Services, clock: FrozenClock
) -> None:
    channel = await add_channel(services)
    user = await register_and_login(client)
    code, verifier = await authorize_code(client, user, channel)
    clock.advance(timedelta(seconds=61))
    r = await client.post("/v1/oauth/token", data=token_form(
        channel, grant_type="authorization_code", code=code, redirect_uri=REDIRECT, code_verifier=verifier))
    assert r.json()["code"] == "invalid_grant"


async def test_code_is_bound_to_the_redirect_uri(client: AsyncTestClient[Any], services: Services) -> None:
    channel = await add_channel(services)
    user = await register_and_login(client)
    code, verifier = await authorize_code(client, user, channel)
    r = await client.post("/v1/oauth/token", data=token_form(
        channel, grant_type="authorization_code", code=code, redirect_uri="https://app.example.cn/other",
        code_verifier=verifier))
    assert r.json()["code"] == "invalid_grant"


async def test_confidential_channel_must_authenticate(client: AsyncTestClient[Any], services: Services) -> None:
    channel = await add_channel(services)
    user = await register_and_login(client)
    code, verifier = await authorize_code(client, user, channel)
    r = await client.post("/v1/oauth/token", data={
        "client_id": channel.client_id, "client_secret": "wrong", "grant_type": "authorization_code",
        "code": code, "redirect_uri": REDIRECT, "code_verifier": verifier})
    assert r.status_code == 401
    assert r.json()["code"] == "invalid_client"


async def test_http_basic_client_authentication_works(client: AsyncTestClient[Any], services: Services) -> None:
    channel = await add_channel(services)
    user = await register_and_login(client)
    code, verifier = await authorize_code(client, user, channel)
    basic = base64.b64encode(f"{channel.client_id}:{channel.client_secret}".encode()).decode()
    r = await client.post("/v1/oauth/token", headers={"Authorization": f"Basic {basic}"}, data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT, "code_verifier": verifier})
    assert r.status_code == 200
    assert r.headers["cache-control"] == "no-store"


async def test_miniprogram_is_a_public_client_using_pkce_only(
    client: AsyncTestClient[Any], services: Services
) -> None:
    channel = await add_channel(services, "mini", kind="miniprogram")
    assert channel.client_secret is None
    user = await register_and_login(client)
    tokens = await channel_token(client, user, channel)
    assert tokens["access_token"]


async def test_refresh_token_rotates(client: AsyncTestClient[Any], services: Services) -> None:
    channel = await add_channel(services)
    user = await register_and_login(client)
    tokens = await channel_token(client, user, channel)
    form = token_form(channel, grant_type="refresh_token", refresh_token=tokens["refresh_token"])
    rotated = await client.post("/v1/oauth/token", data=form)
    assert rotated.status_code == 200
    assert rotated.json()["refresh_token"] != tokens["refresh_token"]
    reused = await client.post("/v1/oauth/token", data=form)
    assert reused.json()["code"] == "invalid_grant"
    # Reuse of a rotated refresh token revokes the grant, including the newest pair.
    newest = await client.post("/v1/oauth/token", data=token_form(
        channel, grant_type="refresh_token", refresh_token=rotated.json()["refresh_token"]))
    assert newest.json()["code"] == "invalid_grant"


async def test_client_credentials_for_a_relying_party(client: AsyncTestClient[Any], services: Services) -> None:
    rp = await add_channel(services, "hospital-1", kind="relying_party", scopes=("ecard:verify",))
    r = await client.post("/v1/oauth/token", data=token_form(rp, grant_type="client_credentials"))
    assert r.status_code == 200
    assert r.json()["scope"] == "ecard:verify"
    assert "refresh_token" not in r.json()


async def test_client_credentials_is_not_for_apps(client: AsyncTestClient[Any], services: Services) -> None:
    channel = await add_channel(services)
    r = await client.post("/v1/oauth/token", data=token_form(channel, grant_type="client_credentials"))
    assert r.json()["code"] == "unauthorized_client"


async def test_token_endpoint_takes_only_form_encoding(client: AsyncTestClient[Any], services: Services) -> None:
    channel = await add_channel(services)
    r = await client.post("/v1/oauth/token", json=token_form(channel, grant_type="client_credentials"))
    assert r.status_code == 400
    assert r.json()["code"] == "invalid_request"


async def test_unknown_grant_type(client: AsyncTestClient[Any], services: Services) -> None:
    channel = await add_channel(services)
    r = await client.post("/v1/oauth/token", data=token_form(channel, grant_type="password"))
    assert r.json()["code"] == "unsupported_grant_type"


async def test_channel_token_lacking_scope_is_403(client: AsyncTestClient[Any], services: Services) -> None:
    channel = await add_channel(services)
    user = await register_and_login(client)
    tokens = await channel_token(client, user, channel, scope="ecard:read")
    r = await client.post("/v1/realname", json={"name": "张三", "id_number": "11010519491231002X"},
                          headers=bearer(tokens["access_token"]))
    assert r.status_code == 403
    assert r.json()["code"] == "insufficient_scope"


async def test_users_own_login_token_cannot_call_channel_endpoints(
    client: AsyncTestClient[Any], services: Services
) -> None:
    user = await register_and_login(client)
    r = await client.post("/v1/realname", json={"name": "张三", "id_number": "11010519491231002X"},
                          headers=bearer(user))
    assert r.status_code == 403


async def test_a_failed_pkce_verification_uses_the_code_up(client: AsyncTestClient[Any], services: Services) -> None:
    channel = await add_channel(services)
    user = await register_and_login(client)
    code, verifier = await authorize_code(client, user, channel)
    wrong, _ = pkce_pair()
    form = token_form(channel, grant_type="authorization_code", code=code, redirect_uri=REDIRECT)
    assert (await client.post("/v1/oauth/token", data={**form, "code_verifier": wrong})).status_code == 400
    right = await client.post("/v1/oauth/token", data={**form, "code_verifier": verifier})
    assert right.status_code == 400
    assert right.json()["error"] == "invalid_grant"


async def test_token_errors_are_json_and_never_cached(client: AsyncTestClient[Any], services: Services) -> None:
    channel = await add_channel(services)
    r = await client.post("/v1/oauth/token", data=token_form(channel, grant_type="password"))
    assert r.status_code == 400
    assert r.headers["content-type"].split(";")[0] == "application/json"
    assert r.headers["cache-control"] == "no-store"
    assert r.headers["pragma"] == "no-cache"
    assert r.json()["error"] == "unsupported_grant_type"
    assert r.json()["error_description"]


async def test_a_failed_basic_authentication_is_answered_with_a_basic_challenge(
    client: AsyncTestClient[Any], services: Services
) -> None:
    channel = await add_channel(services)
    basic = base64.b64encode(f"{channel.client_id}:wrong-secret".encode()).decode()
    r = await client.post("/v1/oauth/token", headers={"Authorization": f"Basic {basic}"},
                          data={"grant_type": "refresh_token", "refresh_token": "x"})
    assert r.status_code == 401
    assert r.json()["error"] == "invalid_client"
    assert r.headers["www-authenticate"].startswith("Basic ")
    assert r.headers["cache-control"] == "no-store"


async def test_a_narrower_scope_on_refresh_narrows_the_access_token(
    client: AsyncTestClient[Any], services: Services
) -> None:
    channel = await add_channel(services)
    user = await register_and_login(client)
    tokens = await channel_token(client, user, channel)
    narrowed = await client.post("/v1/oauth/token", data=token_form(
        channel, grant_type="refresh_token", refresh_token=tokens["refresh_token"], scope="ecard:read"))
    assert narrowed.status_code == 200
    assert narrowed.json()["scope"] == "ecard:read"
    qr = await client.post("/v1/ecards/me/qrcodes", headers=bearer(narrowed.json()["access_token"]))
    assert qr.json()["code"] == "insufficient_scope"
    # The grant itself is not narrowed: the next refresh may ask for all of it again.
    whole = await client.post("/v1/oauth/token", data=token_form(
        channel, grant_type="refresh_token", refresh_token=narrowed.json()["refresh_token"]))
    assert whole.json()["scope"] == "ecard:claim ecard:read ecard:qrcode"


async def test_a_broader_scope_on_refresh_is_invalid_scope(client: AsyncTestClient[Any], services: Services) -> None:
    channel = await add_channel(services, scopes=("ecard:claim", "ecard:read", "ecard:qrcode", "ecard:verify"))
    user = await register_and_login(client)
    tokens = await channel_token(client, user, channel, scope="ecard:read")
    r = await client.post("/v1/oauth/token", data=token_form(
        channel, grant_type="refresh_token", refresh_token=tokens["refresh_token"], scope="ecard:read ecard:claim"))
    assert r.status_code == 400
    assert r.json()["error"] == "invalid_scope"
    # Refused before rotation: the refresh token still works.
    again = await client.post("/v1/oauth/token", data=token_form(
        channel, grant_type="refresh_token", refresh_token=tokens["refresh_token"]))
    assert again.status_code == 200


async def test_logins_refreshes_and_qr_codes_are_never_cached(client: AsyncTestClient[Any]) -> None:
    await register_and_login(client, "13912345678")
    login = await client.post("/v1/sessions", json={"phone": "13912345678", "password": "Secret-pass-1"})
    refreshed = await client.post("/v1/sessions/refresh", json={"refresh_token": login.json()["refresh_token"]})
    for response in (login, refreshed):
        assert response.headers["cache-control"] == "no-store"
