"""ECARD_TEST_FACE_ACTIONS fixes the challenged actions for browser tests, whose fake camera can
only replay a recording: it works with ECARD_ENV=test and nowhere else, since a known challenge is
exactly what a replay attack needs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from litestar.testing import AsyncTestClient

from app.asgi import create_app
from app.cli import main
from app.config import ConfigError, Settings, load_settings
from app.face.pool import ProcessPoolFaceEngine
from app.services import Services
from tests.flow import PASSWORD, add_channel, bearer, channel_token, import_fixture_cards, realname_check
from tests.h5.sms import SMS_FILE_VARIABLE, latest_code

FIXED = "turn_right,blink"


def test_a_test_service_reads_the_fixed_actions_in_their_order() -> None:
    settings = load_settings({"ECARD_ENV": "test", "ECARD_TEST_FACE_ACTIONS": " turn_right, blink "})
    assert settings.test_face_actions == ("turn_right", "blink")


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_outside_ecard_env_test_the_fixed_actions_are_refused(env: str) -> None:
    prod = {"ECARD_ADMIN_TOKEN": "x" * 40, "ECARD_ISSUER": "https://ecard.example.cn", "ECARD_SMS_SENDER": "gw:make"}
    with pytest.raises(ConfigError, match=r"ECARD_TEST_FACE_ACTIONS .* unless ECARD_ENV=test"):
        load_settings({"ECARD_ENV": env, "ECARD_TEST_FACE_ACTIONS": FIXED, **(prod if env == "prod" else {})})


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_the_service_refuses_to_start_with_them_outside_test(env: str, tmp_path: Path) -> None:
    settings = Settings(env=env, test_face_actions=("turn_right", "blink"), admin_token="x" * 40,  # type: ignore[arg-type]
                        issuer="https://ecard.example.cn", sms_sender="gw:make", keys_dir=tmp_path / "keys",
                        database_url=f"sqlite:///{tmp_path / 'ecard.db'}")
    with pytest.raises(ConfigError, match="ECARD_TEST_FACE_ACTIONS"):
        create_app(settings)


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_ecard_serve_names_the_setting_and_exits(env: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ECARD_ENV", env)
    monkeypatch.setenv("ECARD_TEST_FACE_ACTIONS", FIXED)
    monkeypatch.setenv("ECARD_DATABASE_URL", f"sqlite:///{tmp_path / 'ecard.db'}")
    monkeypatch.setenv("ECARD_KEYS_DIR", str(tmp_path / "keys"))
    result = CliRunner().invoke(main, ["serve"])
    assert result.exit_code == 1
    assert "ECARD_TEST_FACE_ACTIONS" in result.output
    assert not (tmp_path / "ecard.db").exists()


@pytest.mark.parametrize("value", ["blink", "blink,blink", "blink,wink", "blink,open_mouth,turn_left,turn_right"])
def test_only_a_challenge_the_service_could_draw_is_accepted(value: str) -> None:
    with pytest.raises(ConfigError):
        load_settings({"ECARD_ENV": "test", "ECARD_TEST_FACE_ACTIONS": value})


@pytest.fixture
async def test_service(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                       face_engine: ProcessPoolFaceEngine) -> AsyncIterator[tuple[AsyncTestClient[Any], Services]]:
    """The service with ECARD_ENV=test, the fixed actions, and SMS codes in a file."""
    monkeypatch.setenv(SMS_FILE_VARIABLE, str(tmp_path / "sms.jsonl"))
    settings = Settings(env="test", test_face_actions=("turn_right", "blink"), keys_dir=tmp_path / "keys",
                        database_url=f"sqlite:///{tmp_path / 'ecard.db'}", sms_sender="tests.h5.sms:from_env",
                        issuer="https://ecard.test")
    app = create_app(settings, face_engine=face_engine)
    async with AsyncTestClient(app) as client:
        services: Services = app.state.services
        await import_fixture_cards(services)
        yield client, services


async def _citizen(client: AsyncTestClient[Any], sms_file: Path, phone: str) -> str:
    assert (await client.post("/v1/accounts/sms-codes", json={"phone": phone})).status_code == 202
    code = latest_code(sms_file, phone)
    assert code is not None
    registered = await client.post("/v1/accounts", json={"phone": phone, "password": PASSWORD, "sms_code": code})
    assert registered.status_code == 201, registered.text
    login = await client.post("/v1/sessions", json={"phone": phone, "password": PASSWORD})
    token: str = login.json()["access_token"]
    return token


async def test_a_test_service_challenges_the_fixed_actions_every_time(
    test_service: tuple[AsyncTestClient[Any], Services], tmp_path: Path,
) -> None:
    client, services = test_service
    assert (await client.get("/v1/dev/outbox", params={"phone": "13912345678"})).status_code == 404
    seen = []
    for n, (policy, person) in enumerate([("actions", "astronaut"), ("actions", "hopper"),
                                          ("actions+light", "astronaut"), ("light", "hopper")]):
        channel = await add_channel(services, f"fixed-{n}", face_challenge=policy)
        user = await _citizen(client, tmp_path / "sms.jsonl", f"1391234{n:04d}")
        token = (await channel_token(client, user, channel))["access_token"]
        realname_id = await realname_check(client, token, person)
        started = await client.post("/v1/face/sessions", json={"realname_id": realname_id, "biometric_consent": True},
                                    headers=bearer(token))
        assert started.status_code == 201, started.text
        seen.append((started.json()["actions"], len(started.json().get("light", []))))
    assert [actions for actions, _ in seen] == [["turn_right", "blink"]] * 3 + [[]]
    assert [bool(light) for _, light in seen] == [False, False, True, True]  # colours are still drawn
