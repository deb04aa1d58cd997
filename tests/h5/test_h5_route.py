"""`ecard serve` serves the reference H5 client at /h5/: the page, its files, and the headers a
page that asks for the camera and shows a consent prompt needs; it is not an API operation."""

from __future__ import annotations

import re
from typing import Any

from litestar.testing import AsyncTestClient

from app.http.h5 import assets


async def test_the_page_is_served_at_h5_with_a_strict_content_security_policy(client: AsyncTestClient[Any]) -> None:
    page = await client.get("/h5/", params={"client_id": "h5-demo"})
    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy
    assert "'unsafe-inline'" not in policy
    assert "'unsafe-eval'" not in policy
    assert "frame-ancestors 'none'" in policy
    assert "connect-src 'self'" in policy
    assert page.headers["permissions-policy"].startswith("camera=(self)")
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["referrer-policy"] == "no-referrer"
    assert '<script type="module" src="main.js"></script>' in page.text
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page.text), "no inline script"
    assert " style=" not in page.text, "no inline style"


async def test_without_the_slash_the_page_redirects_keeping_the_query(client: AsyncTestClient[Any]) -> None:
    answer = await client.get("/h5?client_id=h5-demo", follow_redirects=False)
    assert answer.status_code == 308
    assert answer.headers["location"] == "/h5/?client_id=h5-demo"


async def test_every_module_the_page_imports_is_served_as_javascript(client: AsyncTestClient[Any]) -> None:
    modules = {name for name in assets() if name.endswith(".js")}
    imported = set()
    for name in modules:
        imported |= set(re.findall(r"from '\./([a-z]+\.js)'", assets()[name].body.decode()))
    assert imported | {"main.js"} == modules
    for name in [*sorted(modules), "style.css"]:
        answer = await client.get(f"/h5/{name}")
        assert answer.status_code == 200, name
        assert answer.headers["content-type"].startswith("text/javascript" if name.endswith(".js") else "text/css")
        assert answer.headers["x-content-type-options"] == "nosniff"


async def test_a_file_not_in_the_client_is_a_404_problem(client: AsyncTestClient[Any]) -> None:
    for path in ("/h5/missing.js", "/h5/..%2Fhttp%2Fh5.py", "/h5/__init__.py", "/h5/%2e%2e"):
        answer = await client.get(path)
        assert answer.status_code == 404, path
        assert answer.headers["content-type"] == "application/problem+json"


async def test_an_unchanged_file_is_answered_304_by_its_etag(client: AsyncTestClient[Any]) -> None:
    first = await client.get("/h5/main.js")
    again = await client.get("/h5/main.js", headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304
    assert again.content == b""


async def test_the_page_is_not_an_operation_of_the_openapi_document(client: AsyncTestClient[Any]) -> None:
    document = (await client.get("/schema/openapi.json")).json()
    assert not [path for path in document["paths"] if path.startswith("/h5")]
