"""The account service on in-memory storage: codes, registration, logins and refresh rotation."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.clock import FrozenClock
from app.domain.accounts import LOGIN_FAILURES_PER_DAY, SMS_PER_PHONE_PER_DAY, AccountService
from app.errors import InvalidInput, RateLimited, Unauthenticated
from tests.unit.fakes import START, VAULT, FakeStorage

PHONE = "13912345678"
PASSWORD = "Secret-pass-1"


class Outbox:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    async def send(self, phone: str, text: str) -> None:
        self.sent.append((phone, text))

    def last_code(self) -> str:
        return self.sent[-1][1].split("验证码 ")[1][:6]


class PlainPasswords:
    """Fast and obviously not for production: the service's rules are what is under test."""

    async def hash(self, password: str) -> str:
        return f"plain:{password}"

    async def verify(self, stored: str | None, password: str) -> bool:
        return stored == f"plain:{password}"


class Accounts:
    def __init__(self) -> None:
        self.clock = FrozenClock(START)
        self.outbox = Outbox()
        self.service = AccountService(FakeStorage(), self.clock, self.outbox, VAULT, PlainPasswords())  # type: ignore[arg-type]

    async def register(self, phone: str = PHONE) -> None:
        await self.service.send_sms_code(phone, "10.0.0.1")
        await self.service.register(phone, PASSWORD, self.outbox.last_code())


@pytest.fixture
def a() -> Accounts:
    return Accounts()


async def test_a_code_registers_once_and_logs_in(a: Accounts) -> None:
    await a.register()
    tokens = await a.service.login(PHONE, PASSWORD)
    assert tokens.access_token != tokens.refresh_token
    with pytest.raises(InvalidInput) as used:
        await a.service.register(PHONE, PASSWORD, a.outbox.last_code())
    assert used.value.code == "sms_code_invalid"


async def test_ten_wrong_passwords_then_even_the_right_one_waits(a: Accounts) -> None:
    await a.register()
    for _ in range(LOGIN_FAILURES_PER_DAY):
        with pytest.raises(Unauthenticated):
            await a.service.login(PHONE, "Wrong-pass-1")
    with pytest.raises(RateLimited):
        await a.service.login(PHONE, PASSWORD)
    a.clock.advance(timedelta(days=1))
    assert (await a.service.login(PHONE, PASSWORD)).access_token


async def test_a_phone_gets_ten_codes_a_day(a: Accounts) -> None:
    for _ in range(SMS_PER_PHONE_PER_DAY):
        await a.service.send_sms_code(PHONE, "10.0.0.1")
        a.clock.advance(timedelta(minutes=2))
    with pytest.raises(RateLimited) as refused:
        await a.service.send_sms_code(PHONE, "10.0.0.1")
    assert refused.value.code == "sms_daily_limit"


async def test_a_reused_refresh_token_ends_the_login(a: Accounts) -> None:
    await a.register()
    first = await a.service.login(PHONE, PASSWORD)
    second = await a.service.refresh(first.refresh_token)
    with pytest.raises(Unauthenticated):
        await a.service.refresh(first.refresh_token)
    with pytest.raises(Unauthenticated):
        await a.service.refresh(second.refresh_token)
