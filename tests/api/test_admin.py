"""POST /v1/admin/channels with the admin token."""

from __future__ import annotations

from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from app.config import DEV_ADMIN_TOKEN
from tests.flow import bearer

CHANNEL = {"client_id": "hospital-1", "kind": "relying_party", "scopes": ["ecard:verify"],
           "name": "市人民医院"}


async def test_admin_creates_a_relying_party_with_a_secret(client: AsyncTestClient[Any]) -> None:
    r = await client.post("/v1/admin/channels", json=CHANNEL, headers=bearer(DEV_ADMIN_TOKEN))
    assert r.status_code == 201, r.text
    assert r.json()["name"] == "市人民医院"
    assert r.json()["client_secret"]


async def test_admin_token_is_required(client: AsyncTestClient[Any]) -> None:
    r = await client.post("/v1/admin/channels", json=CHANNEL, headers=bearer("guess"))
    assert r.status_code == 401
    assert r.json()["code"] == "invalid_admin_token"


async def test_duplicate_client_id_is_409(client: AsyncTestClient[Any]) -> None:
    await client.post("/v1/admin/channels", json=CHANNEL, headers=bearer(DEV_ADMIN_TOKEN))
    r = await client.post("/v1/admin/channels", json=CHANNEL, headers=bearer(DEV_ADMIN_TOKEN))
    assert r.status_code == 409
    assert r.json()["code"] == "channel_exists"


async def test_app_needs_a_redirect_uri(client: AsyncTestClient[Any]) -> None:
    r = await client.post("/v1/admin/channels", json={"client_id": "app-1", "kind": "app", "scopes": ["ecard:claim"]},
                          headers=bearer(DEV_ADMIN_TOKEN))
    assert r.status_code == 422
    assert r.json()["code"] == "invalid_redirect_uri"


async def test_plain_http_redirect_is_refused_except_loopback(client: AsyncTestClient[Any]) -> None:
    body = {"client_id": "app-1", "kind": "app", "scopes": ["ecard:claim"],
            "redirect_uris": ["http://app.example.cn/cb"]}
    r = await client.post("/v1/admin/channels", json=body, headers=bearer(DEV_ADMIN_TOKEN))
    assert r.json()["code"] == "invalid_redirect_uri"
    body["redirect_uris"] = ["http://127.0.0.1:9000/cb"]
    r = await client.post("/v1/admin/channels", json=body, headers=bearer(DEV_ADMIN_TOKEN))
    assert r.status_code == 201


async def test_relying_party_cannot_hold_user_scopes(client: AsyncTestClient[Any]) -> None:
    r = await client.post("/v1/admin/channels", json={**CHANNEL, "scopes": ["ecard:claim"]},
                          headers=bearer(DEV_ADMIN_TOKEN))
    assert r.json()["code"] == "invalid_scope"


@pytest.mark.parametrize("uri", [
    "http://[::1", "https://[zz]/cb", "https://exa mple.cn/cb", "http://127.0.0.1:99999/cb",
    "https://user:pw@app.example.cn/cb", "https://app.example.cn/cb\n", "https:///cb",
])
async def test_a_malformed_redirect_uri_is_refused_not_a_500(client: AsyncTestClient[Any], uri: str) -> None:
    r = await client.post("/v1/admin/channels", headers=bearer(DEV_ADMIN_TOKEN), json={
        "client_id": "app-1", "kind": "app", "scopes": ["ecard:claim"], "redirect_uris": [uri]})
    assert r.status_code == 422
    assert r.json()["code"] == "invalid_redirect_uri"
