"""The service on PostgreSQL: `ecard serve --workers 2` on a fresh schema, walked end to end by
`ecard qa run` (registration, consent, real-name, face sessions and their refusals, the light
challenge, e-card and QR code), then the login limit raced across the two processes."""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import asyncpg
import httpx
import pytest
from click.testing import CliRunner

from app.cli import main
from app.config import DEV_ADMIN_TOKEN
from app.domain.accounts import LOGIN_FAILURES_PER_DAY
from app.qa.run import PASSWORD, Flow
from tests.live import live_server

pytestmark = pytest.mark.face

DSN = os.environ.get("ECARD_TEST_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/test")


async def _schema(statement: str) -> None:
    conn = await asyncpg.connect(DSN)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh schema of the `test` database (no skipping: without a server this fails)."""
    schema = f"serve_{secrets.token_hex(6)}"
    asyncio.run(_schema(f"CREATE SCHEMA {schema}"))
    try:
        yield f"{DSN}?search_path={schema}"
    finally:
        asyncio.run(_schema(f"DROP SCHEMA {schema} CASCADE"))


def test_the_whole_flow_runs_on_postgresql_with_two_server_processes(tmp_path: Path, postgres_url: str) -> None:
    with live_server(tmp_path, fixture_cards=True, server_workers=2, database_url=postgres_url) as server:
        result = CliRunner().invoke(main, ["qa", "run", "--base-url", server.url])
        assert result.exit_code == 0, result.output
        assert result.output.strip().splitlines()[-1].endswith(" passed, 0 failed")

        phone = "13912340001"
        with httpx.Client(base_url=server.url, timeout=120) as http:
            # The QA run used this address's SMS codes for the minute: wait as a client would.
            assert Flow(http, DEV_ADMIN_TOKEN).send_sms_code(phone).status_code == 202
            body = http.get("/v1/dev/outbox", params={"phone": phone}).json()["messages"][0]["body"]
            registered = http.post("/v1/accounts", json={"phone": phone, "password": PASSWORD,
                                                         "sms_code": body.split("验证码 ")[1][:6]})
            assert registered.status_code == 201

        def login(password: str) -> int:
            return httpx.post(f"{server.url}/v1/sessions", json={"phone": phone, "password": password},
                              timeout=60).status_code

        with ThreadPoolExecutor(max_workers=30) as pool:
            statuses = list(pool.map(lambda _: login("Wrong-pass-1"), range(30)))
        assert statuses.count(401) == LOGIN_FAILURES_PER_DAY
        assert login(PASSWORD) == 429


@pytest.fixture
def doomed_database() -> Iterator[str]:
    """A database of its own, for a test that drops it under a running server."""
    name = f"ecard_gone_{secrets.token_hex(4)}"
    asyncio.run(_schema(f"CREATE DATABASE {name}"))
    try:
        yield f"{DSN.rsplit('/', 1)[0]}/{name}"
    finally:
        asyncio.run(_schema(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))


def test_a_database_lost_under_the_server_answers_503_not_500(tmp_path: Path, doomed_database: str) -> None:
    with live_server(tmp_path, database_url=doomed_database) as server:
        assert httpx.get(f"{server.url}/health", timeout=30).status_code == 200
        asyncio.run(_schema(f"DROP DATABASE {doomed_database.rsplit('/', 1)[1]} WITH (FORCE)"))
        sms = httpx.post(f"{server.url}/v1/accounts/sms-codes", json={"phone": "13912345601"}, timeout=30)
        assert (sms.status_code, sms.json()["code"]) == (503, "database_unavailable")
        token = httpx.post(f"{server.url}/v1/oauth/token", data={"grant_type": "client_credentials"},
                           auth=("hospital", "secret"), timeout=30)
        assert (token.status_code, token.json()["error"]) == (503, "database_unavailable")
        assert token.headers["cache-control"] == "no-store"
        assert httpx.get(f"{server.url}/health", timeout=30).status_code == 503


def test_an_unreachable_database_is_refused_at_start_in_one_line(tmp_path: Path) -> None:
    env = {"ECARD_DATABASE_URL": "postgresql://postgres@127.0.0.1:1/ecard", "ECARD_ENV": "dev",
           "ECARD_KEYS_DIR": str(tmp_path / "keys")}
    result = CliRunner().invoke(main, ["cards", "import", "fixtures/cards.jsonl", "--quiet"], env=env)
    assert result.exit_code == 1
    [line] = result.output.strip().splitlines()
    assert line.startswith("Error: database_unavailable: cannot use the PostgreSQL database 127.0.0.1:1/ecard: ")
