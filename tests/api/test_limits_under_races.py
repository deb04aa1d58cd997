"""Every daily limit holds when requests race, within one server and across two servers that share
the database (two app instances, each with its own connection: what two processes see)."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

from app.domain.accounts import LOGIN_FAILURES_PER_DAY
from app.domain.realname import FAILURES_PER_ACCOUNT_AND_ID
from tests.api.test_realname import channel_for_user
from tests.conftest import Servers
from tests.flow import PASSWORD, bearer, card_row, register_and_login, write_jsonl

PHONE = "13912345678"


async def login(servers: Servers, index: int, password: str) -> int:
    http = servers.one if index % 2 else servers.two
    r = await http.post("/v1/sessions", json={"phone": PHONE, "password": password})
    return r.status_code


async def test_racing_wrong_passwords_get_no_more_than_the_days_tries(servers: Servers) -> None:
    await register_and_login(servers.one, PHONE)  # type: ignore[arg-type]
    attempts = [login(servers, i, "Wrong-pass-1") for i in range(29)]
    attempts.insert(17, login(servers, 0, PASSWORD))
    statuses = Counter(await asyncio.gather(*attempts))
    assert statuses[401] <= LOGIN_FAILURES_PER_DAY
    assert statuses[429] >= 30 - LOGIN_FAILURES_PER_DAY - 1

    # However the race went, the day allows exactly LOGIN_FAILURES_PER_DAY wrong passwords.
    later = [await login(servers, i, "Wrong-pass-1") for i in range(LOGIN_FAILURES_PER_DAY)]
    assert statuses[401] + later.count(401) == LOGIN_FAILURES_PER_DAY
    assert await login(servers, 1, PASSWORD) == 429


async def test_a_right_password_does_not_use_up_a_try(servers: Servers) -> None:
    await register_and_login(servers.one, PHONE)  # type: ignore[arg-type]
    for i in range(LOGIN_FAILURES_PER_DAY + 2):
        assert await login(servers, i, PASSWORD) == 201
    for i in range(LOGIN_FAILURES_PER_DAY):
        assert await login(servers, i, "Wrong-pass-1") == 401
    assert await login(servers, 0, PASSWORD) == 429


async def test_racing_wrong_names_get_no_more_than_the_days_tries(servers: Servers, tmp_path: Path) -> None:
    row = card_row(1, name="张三")
    report = await servers.services.registry.import_file(write_jsonl(tmp_path / "cards.jsonl", [row]))
    assert not report.errors
    token = await channel_for_user(servers.one, servers.services)  # type: ignore[arg-type]
    tries = [
        (servers.one if i % 2 else servers.two).post(
            "/v1/realname", json={"name": f"李{chr(0x4E00 + i)}", "id_number": row["id_number"]},
            headers=bearer(token))
        for i in range(12)
    ]
    statuses = Counter(r.status_code for r in await asyncio.gather(*tries))

    assert statuses == {404: FAILURES_PER_ACCOUNT_AND_ID, 429: 12 - FAILURES_PER_ACCOUNT_AND_ID}
