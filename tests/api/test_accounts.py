"""SMS codes, registration, login and refresh (issue: accounts)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from litestar.testing import AsyncTestClient

from app.clock import FrozenClock
from tests.flow import PASSWORD, register_and_login, sms_code

PHONE = "13912345678"


async def register(client: AsyncTestClient[Any], code: str, password: str = PASSWORD) -> Any:
    return await client.post("/v1/accounts", json={"phone": PHONE, "password": password, "sms_code": code})


async def test_register_and_login_give_a_user_token(client: AsyncTestClient[Any]) -> None:
    token = await register_and_login(client, PHONE)
    assert len(token) >= 32


async def test_second_code_within_a_minute_is_rate_limited(client: AsyncTestClient[Any]) -> None:
    await sms_code(client, PHONE)
    r = await client.post("/v1/accounts/sms-codes", json={"phone": PHONE})
    assert r.status_code == 429
    assert r.json()["code"] == "sms_too_frequent"
    assert int(r.headers["retry-after"]) >= 1


async def test_a_new_code_may_be_sent_after_a_minute(client: AsyncTestClient[Any], clock: FrozenClock) -> None:
    await sms_code(client, PHONE)
    clock.advance(timedelta(seconds=61))
    r = await client.post("/v1/accounts/sms-codes", json={"phone": PHONE})
    assert r.status_code == 202


async def test_expired_code_is_refused(client: AsyncTestClient[Any], clock: FrozenClock) -> None:
    code = await sms_code(client, PHONE)
    clock.advance(timedelta(minutes=5, seconds=1))
    r = await register(client, code)
    assert r.status_code == 422
    assert r.json()["code"] == "sms_code_expired"


async def test_code_dies_after_five_wrong_tries(client: AsyncTestClient[Any]) -> None:
    code = await sms_code(client, PHONE)
    wrong = f"{(int(code) + 1) % 1000000:06d}"
    for _ in range(5):
        r = await register(client, wrong)
        assert r.json()["code"] == "sms_code_invalid"
    r = await register(client, code)
    assert r.status_code == 422
    assert r.json()["code"] == "sms_code_exhausted"


async def test_code_is_single_use(client: AsyncTestClient[Any]) -> None:
    code = await sms_code(client, PHONE)
    assert (await register(client, code)).status_code == 201
    r = await register(client, code)
    assert r.status_code == 422
    assert r.json()["code"] == "sms_code_invalid"


async def test_phone_registers_once(client: AsyncTestClient[Any], clock: FrozenClock) -> None:
    await register_and_login(client, PHONE)
    clock.advance(timedelta(minutes=2))
    code = await sms_code(client, PHONE)
    r = await register(client, code)
    assert r.status_code == 409
    assert r.json()["code"] == "account_exists"


async def test_weak_password_is_refused(client: AsyncTestClient[Any]) -> None:
    code = await sms_code(client, PHONE)
    r = await register(client, code, password="12345678")
    assert r.status_code == 422
    assert r.json()["code"] == "weak_password"


async def test_invalid_phone_is_refused(client: AsyncTestClient[Any]) -> None:
    r = await client.post("/v1/accounts/sms-codes", json={"phone": "12345678901"})
    assert r.status_code == 422
    assert r.json()["code"] == "invalid_phone"


async def test_wrong_password_is_401(client: AsyncTestClient[Any]) -> None:
    await register_and_login(client, PHONE)
    r = await client.post("/v1/sessions", json={"phone": PHONE, "password": "Wrong-pass-1"})
    assert r.status_code == 401
    assert r.json()["code"] == "invalid_credentials"


async def test_refresh_rotates_and_reuse_revokes(client: AsyncTestClient[Any]) -> None:
    code = await sms_code(client, PHONE)
    await register(client, code)
    first = (await client.post("/v1/sessions", json={"phone": PHONE, "password": PASSWORD})).json()
    r = await client.post("/v1/sessions/refresh", json={"refresh_token": first["refresh_token"]})
    assert r.status_code == 200
    second = r.json()
    reuse = await client.post("/v1/sessions/refresh", json={"refresh_token": first["refresh_token"]})
    assert reuse.status_code == 401
    # The reuse revoked the whole login, including the pair issued by the rotation.
    again = await client.post("/v1/sessions/refresh", json={"refresh_token": second["refresh_token"]})
    assert again.status_code == 401


async def test_user_token_expires(client: AsyncTestClient[Any], clock: FrozenClock) -> None:
    token = await register_and_login(client, PHONE)
    clock.advance(timedelta(minutes=16))
    r = await client.post("/v1/oauth/consents", json={"consent_id": "x", "decision": "allow"},
                          headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 401


async def test_outbox_is_absent_outside_dev(tmp_path: Any, face_engine: Any) -> None:
    from app.asgi import create_app  # noqa: PLC0415
    from app.config import Settings  # noqa: PLC0415

    app = create_app(Settings(database_url=f"sqlite:///{tmp_path / 'p.db'}", env="test",
                              keys_dir=tmp_path / "k"), face_engine=face_engine)
    async with AsyncTestClient(app) as test_client:
        r = await test_client.get("/v1/dev/outbox", params={"phone": PHONE})
    assert r.status_code == 404


async def test_a_full_width_phone_is_the_same_phone(client: AsyncTestClient[Any], clock: FrozenClock) -> None:
    await register_and_login(client, PHONE)
    clock.advance(timedelta(minutes=2))
    full_width = PHONE.translate({ord(c): ord(c) + 0xFEE0 for c in "0123456789"})
    r = await client.post("/v1/accounts/sms-codes", json={"phone": full_width})
    assert r.status_code == 202
    outbox = (await client.get("/v1/dev/outbox", params={"phone": PHONE})).json()
    code = outbox["messages"][0]["body"].split("验证码 ")[1][:6]
    r = await client.post("/v1/accounts", json={"phone": full_width, "password": PASSWORD, "sms_code": code})
    assert r.status_code == 409
    assert r.json()["code"] == "account_exists"


async def test_other_scripts_digits_are_not_a_phone_or_a_code(client: AsyncTestClient[Any]) -> None:
    arabic_indic = "".join(chr(0x0660 + int(c)) for c in PHONE)
    r = await client.post("/v1/accounts/sms-codes", json={"phone": arabic_indic})
    assert r.status_code == 422
    assert r.json()["code"] == "invalid_phone"
    code = await sms_code(client, PHONE)
    r = await register(client, "".join(chr(0x0660 + int(c)) for c in code))
    assert r.status_code == 400
    assert r.json()["code"] == "invalid_request"


async def test_sms_codes_are_stored_under_a_keyed_digest(client: AsyncTestClient[Any], services: Any) -> None:
    import hashlib  # noqa: PLC0415

    code = await sms_code(client, PHONE)
    async with services.storage.unit_of_work() as uow:
        cursor = await uow.connection.execute("SELECT code_hash FROM sms_codes WHERE phone = ?", (PHONE,))
        (stored,) = await cursor.fetchone()
    # A reader of the database alone cannot test the million codes against it.
    unkeyed = {hashlib.sha256(f"{PHONE}:{code}".encode()).hexdigest(), hashlib.sha256(code.encode()).hexdigest()}
    assert stored not in unkeyed
    assert code not in stored
    r = await register(client, code)
    assert r.status_code == 201


async def test_a_full_width_sms_code_is_the_code(client: AsyncTestClient[Any]) -> None:
    code = await sms_code(client, PHONE)
    r = await register(client, code.translate({ord(c): ord(c) + 0xFEE0 for c in "0123456789"}))
    assert r.status_code == 201, r.text
