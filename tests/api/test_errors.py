"""Everything a client can cause is a problem document with a stable code, never a 500."""

from __future__ import annotations

from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from tests.flow import bearer


async def test_unknown_route_is_404_problem(client: AsyncTestClient[Any]) -> None:
    r = await client.get("/v1/nowhere")
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["code"] == "not_found"


async def test_wrong_method_is_405(client: AsyncTestClient[Any]) -> None:
    r = await client.delete("/v1/accounts")
    assert r.status_code == 405
    assert r.json()["code"] == "method_not_allowed"


async def test_malformed_json_is_400(client: AsyncTestClient[Any]) -> None:
    r = await client.post("/v1/accounts", content=b'{"phone": ', headers={"content-type": "application/json"})
    assert r.status_code == 400
    assert r.json()["code"] == "malformed_json"


async def test_field_of_wrong_type_is_named(client: AsyncTestClient[Any]) -> None:
    r = await client.post("/v1/accounts/sms-codes", json={"phone": 13800138000})
    assert r.status_code == 400
    body = r.json()
    assert body["code"] == "invalid_request"
    assert body["fields"] == ["phone"]


async def test_unknown_field_is_named(client: AsyncTestClient[Any]) -> None:
    r = await client.post("/v1/accounts/sms-codes", json={"phone": "13800138000", "admin": True})
    assert r.status_code == 400
    assert r.json()["fields"] == ["admin"]


async def test_missing_token_is_401(client: AsyncTestClient[Any]) -> None:
    r = await client.post("/v1/realname", json={"name": "张三", "id_number": "11010519491231002X"})
    assert r.status_code == 401
    assert r.json()["code"] == "missing_token"
    assert r.headers["www-authenticate"].startswith("Bearer")


async def test_unknown_token_is_401(client: AsyncTestClient[Any]) -> None:
    r = await client.post("/v1/realname", json={"name": "张三", "id_number": "11010519491231002X"},
                          headers=bearer("not-a-token"))
    assert r.status_code == 401
    assert r.json()["code"] == "invalid_token"


async def test_json_array_instead_of_object_is_400(client: AsyncTestClient[Any]) -> None:
    r = await client.post("/v1/accounts/sms-codes", json=["13800138000"])
    assert r.status_code == 400


async def test_openapi_document_and_ui_are_served(client: AsyncTestClient[Any]) -> None:
    r = await client.get("/schema/openapi.json")
    assert r.status_code == 200
    paths = r.json()["paths"]
    for path in ("/v1/oauth/authorize", "/v1/oauth/token", "/v1/realname", "/v1/accounts", "/health"):
        assert path in paths
    ui = await client.get("/schema/swagger")
    assert ui.status_code == 200
    assert "<html" in ui.text.lower()


async def test_health_checks_the_database(client: AsyncTestClient[Any]) -> None:
    r = await client.get("/health")
    assert r.status_code == 200
    assert r.json()["database"] == "ok"
    assert r.json()["face"]["status"] == "ok"
    assert r.json()["face"]["workers"] >= 1


async def test_out_of_range_path_number_is_400_not_500(client: AsyncTestClient[Any]) -> None:
    r = await client.get("/v1/status-lists/705572824044922339328")
    assert r.status_code == 400
    assert r.json()["code"] == "invalid_request"


@pytest.mark.parametrize(
    "body",
    [
        b'{"phone": "\xff\xfe"}',  # not UTF-8
        b"\xfe\xff\x00{",  # a UTF-16 byte-order mark
        b"[" * 5000 + b"]" * 5000,  # nested deeper than the decoder goes
        b'{"a":' * 3000 + b"1" + b"}" * 3000,
    ],
)
async def test_undecodable_json_on_an_open_endpoint_is_400(client: AsyncTestClient[Any], body: bytes) -> None:
    r = await client.post("/v1/accounts/sms-codes", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 400
    assert r.json()["code"] == "malformed_json"


async def test_a_json_endpoint_refuses_text_plain_with_415(client: AsyncTestClient[Any]) -> None:
    r = await client.post("/v1/accounts/sms-codes", content=b'{"phone": "13912345678"}',
                          headers={"content-type": "text/plain"})
    assert r.status_code == 415
    assert r.json()["code"] == "unsupported_media_type"
