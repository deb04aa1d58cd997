"""Every daily limit holds when requests race, within one server and across two servers that share
the database (two app instances, each with its own connection: what two processes see)."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import msgspec

from app.clock import FrozenClock
from app.composition import open_services
from app.config import Settings
from app.domain.accounts import LOGIN_FAILURES_PER_DAY, SMS_PER_ADDRESS_PER_MINUTE, SMS_PER_PHONE_PER_DAY
from app.domain.face_sessions import FAILED_SESSIONS_PER_DAY, SESSION_STARTS_PER_DAY
from app.domain.realname import FAILURES_PER_ACCOUNT_AND_ID
from app.errors import RateLimited
from app.face.pool import ProcessPoolFaceEngine
from app.services import Services
from tests.api.test_realname import channel_for_user
from tests.conftest import Servers
from tests.flow import (
    PASSWORD,
    add_channel,
    bearer,
    card_row,
    client_credentials,
    register_and_login,
    write_jsonl,
)

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


async def test_one_client_cannot_pump_codes_to_many_numbers(servers: Servers) -> None:
    phones = [f"1390000{n:04d}" for n in range(60)]
    sent = await asyncio.gather(*(
        (servers.one if i % 2 else servers.two).post("/v1/accounts/sms-codes", json={"phone": phone})
        for i, phone in enumerate(phones)
    ))
    statuses = Counter(r.status_code for r in sent)

    assert statuses == {202: SMS_PER_ADDRESS_PER_MINUTE, 429: 60 - SMS_PER_ADDRESS_PER_MINUTE}
    refused = next(r for r in sent if r.status_code == 429)
    assert refused.json()["code"] == "rate_limited"
    assert 1 <= int(refused.headers["retry-after"]) <= 60


async def test_a_phone_gets_at_most_ten_codes_a_day(servers: Servers, clock: FrozenClock) -> None:
    statuses = []
    for _ in range(SMS_PER_PHONE_PER_DAY + 1):
        r = await servers.one.post("/v1/accounts/sms-codes", json={"phone": PHONE})
        statuses.append((r.status_code, r.json().get("code")))
        clock.advance(timedelta(seconds=61))

    assert statuses[:-1] == [(202, None)] * SMS_PER_PHONE_PER_DAY
    assert statuses[-1] == (429, "sms_daily_limit")


async def test_the_service_sends_no_more_than_its_budget_a_minute(
    settings: Settings, clock: FrozenClock, face_engine: ProcessPoolFaceEngine
) -> None:
    budget = msgspec.structs.replace(settings, sms_per_minute=5)
    async with open_services(budget, clock=clock, face_engine=face_engine) as services:
        outcomes = await asyncio.gather(*(
            _send(services, f"1390000{n:04d}", f"10.0.{n}.1") for n in range(12)
        ), return_exceptions=True)
        sent = [o for o in outcomes if o == 300]
        refused = [o for o in outcomes if isinstance(o, RateLimited)]
        assert (len(sent), len(refused)) == (5, 7)
        clock.advance(timedelta(minutes=1))
        assert await _send(services, "13900009999", "10.0.99.1") == 300


async def _send(services: Services, phone: str, address: str) -> int:
    return await services.accounts.send_sms_code(phone, address)


async def counter_token(servers: Servers) -> dict[str, str]:
    channel = await add_channel(servers.services, "city-bureau", kind="counter", scopes=("card:manage",))
    return bearer(await client_credentials(servers.one, channel, "card:manage"))  # type: ignore[arg-type]


async def test_racing_wrong_pins_lock_the_card_after_six(servers: Servers, tmp_path: Path) -> None:
    row = card_row(7)
    report = await servers.services.registry.import_file(write_jsonl(tmp_path / "cards.jsonl", [row]))
    assert report.added == 1
    counter = await counter_token(servers)
    entries = [
        (servers.one if i % 2 else servers.two).post(
            f"/v1/cards/{row['card_no']}/pin/verify", json={"pin": "000001"}, headers=counter)
        for i in range(20)
    ]
    codes = Counter(r.json()["code"] for r in await asyncio.gather(*entries))

    # As one after another: five wrong entries told how many are left, the sixth locks; an entry
    # that arrives while six are being checked is asked to try again, and after them is locked out.
    assert codes["pin_incorrect"] == 5
    assert codes["pin_locked"] >= 1
    assert codes["pin_incorrect"] + codes["pin_locked"] + codes["pin_busy"] == 20
    view = (await servers.one.get(f"/v1/cards/{row['card_no']}", headers=counter)).json()
    assert view["pin"]["locked"] is True
    assert view["pin"]["attempts_remaining"] == 0


async def start_sessions(servers: Servers, row: dict[str, Any], tokens: list[str]) -> Counter[int]:
    """One real-name check per token on the same person, then a face session on each, all at once."""
    starts = []
    for n, token in enumerate(tokens):
        checked = await servers.one.post("/v1/realname", json={"name": "张三", "id_number": row["id_number"]},
                                         headers=bearer(token))
        assert checked.status_code == 201, checked.text
        starts.append((servers.one if n % 2 else servers.two).post(
            "/v1/face/sessions", json={"realname_id": checked.json()["realname_id"], "biometric_consent": True},
            headers=bearer(token)))
    return Counter(r.status_code for r in await asyncio.gather(*starts))


async def test_racing_face_session_starts_stay_within_the_days_starts(
    servers: Servers, tmp_path: Path, clock: FrozenClock
) -> None:
    """Twelve accounts start sessions on one person at once: ten starts a day for the person."""
    row = card_row(1, name="张三")
    report = await servers.services.registry.import_file(write_jsonl(tmp_path / "cards.jsonl", [row]))
    assert report.added == 1
    tokens = []
    for n in range(12):
        clock.advance(timedelta(seconds=10))  # registering from one address: SMS codes per minute
        tokens.append(await channel_for_user(servers.one, servers.services, f"139123457{n:02d}"))  # type: ignore[arg-type]
    assert await start_sessions(servers, row, tokens) == {201: SESSION_STARTS_PER_DAY, 429: 12 - SESSION_STARTS_PER_DAY}


async def test_one_account_gets_five_open_or_failed_sessions_and_the_holder_keeps_theirs(
    servers: Servers, tmp_path: Path
) -> None:
    """A stranger who knows the holder's name and ID number passes the real-name check eight times
    from one account and races eight starts: open sessions count as that account's failures, so
    five start. The holder's own account still starts one."""
    row = card_row(1, name="张三")
    report = await servers.services.registry.import_file(write_jsonl(tmp_path / "cards.jsonl", [row]))
    assert report.added == 1
    stranger = await channel_for_user(servers.one, servers.services, "13912345700")  # type: ignore[arg-type]
    statuses = await start_sessions(servers, row, [stranger] * 8)
    assert statuses == {201: FAILED_SESSIONS_PER_DAY, 429: 8 - FAILED_SESSIONS_PER_DAY}

    holder = await channel_for_user(servers.one, servers.services, "13912345701")  # type: ignore[arg-type]
    assert await start_sessions(servers, row, [holder]) == {201: 1}


async def test_a_refresh_token_rotates_once_when_uses_race(servers: Servers) -> None:
    await register_and_login(servers.one, PHONE)  # type: ignore[arg-type]
    login = await servers.one.post("/v1/sessions", json={"phone": PHONE, "password": PASSWORD})
    refresh = login.json()["refresh_token"]
    uses = [(servers.one if i % 2 else servers.two).post("/v1/sessions/refresh", json={"refresh_token": refresh})
            for i in range(10)]
    answers = await asyncio.gather(*uses)
    statuses = Counter(r.status_code for r in answers)

    assert statuses == {200: 1, 401: 9}
    # A second use revokes the whole login, including the pair the one winner got.
    winner = next(r for r in answers if r.status_code == 200).json()
    again = await servers.one.post("/v1/sessions/refresh", json={"refresh_token": winner["refresh_token"]})
    assert again.status_code == 401
