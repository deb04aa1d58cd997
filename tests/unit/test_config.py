"""Settings from the environment; production refuses development secrets."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.config import ConfigError, load_settings


def test_defaults_are_a_local_sqlite_file_in_dev() -> None:
    settings = load_settings({})
    assert settings.env == "dev"
    assert settings.sqlite_path == Path("ecard.db")


def test_values_are_read_from_ecard_variables() -> None:
    settings = load_settings({"ECARD_DATABASE_URL": "sqlite:////tmp/x.db", "ECARD_KEYS_DIR": "/tmp/k",
                              "ECARD_FACE_WORKERS": "3", "ECARD_ISSUER": "https://ecard.example.cn"})
    assert settings.sqlite_path == Path("/tmp/x.db")
    assert settings.keys_dir == Path("/tmp/k")
    assert settings.face_workers == 3


def test_unknown_env_is_refused() -> None:
    with pytest.raises(ConfigError):
        load_settings({"ECARD_ENV": "staging"})


def test_prod_refuses_the_development_admin_token() -> None:
    with pytest.raises(ConfigError, match="ECARD_ADMIN_TOKEN"):
        load_settings({"ECARD_ENV": "prod", "ECARD_ISSUER": "https://ecard.example.cn",
                       "ECARD_SMS_SENDER": "gateway:make"})


def test_prod_refuses_without_an_sms_gateway() -> None:
    with pytest.raises(ConfigError, match="ECARD_SMS_SENDER"):
        load_settings({"ECARD_ENV": "prod", "ECARD_ADMIN_TOKEN": "x" * 40,
                       "ECARD_ISSUER": "https://ecard.example.cn"})


def test_prod_with_real_secrets_is_accepted() -> None:
    settings = load_settings({"ECARD_ENV": "prod", "ECARD_ADMIN_TOKEN": "x" * 40,
                              "ECARD_ISSUER": "https://ecard.example.cn", "ECARD_SMS_SENDER": "gateway:make"})
    assert settings.env == "prod"


async def test_prod_refuses_to_start_without_a_data_key(tmp_path: Path) -> None:
    from app.composition import open_services  # noqa: PLC0415

    settings = load_settings({"ECARD_ENV": "prod", "ECARD_ADMIN_TOKEN": "x" * 40,
                              "ECARD_ISSUER": "https://ecard.example.cn", "ECARD_SMS_SENDER": "gateway:make",
                              "ECARD_KEYS_DIR": str(tmp_path / "keys"),
                              "ECARD_DATABASE_URL": f"sqlite:///{tmp_path / 'e.db'}"})
    with pytest.raises(ConfigError, match="key"):
        async with open_services(settings):
            pass


def test_match_threshold_defaults_to_the_measured_choice() -> None:
    from app.face.match import DEFAULT_MATCH_THRESHOLD  # noqa: PLC0415

    assert load_settings({}).face_match_threshold == DEFAULT_MATCH_THRESHOLD < 0.6


@pytest.mark.parametrize("value", ["0", "0.7", "-1"])
def test_match_threshold_looser_than_face_recognitions_default_is_refused(value: str) -> None:
    with pytest.raises(ConfigError, match="ECARD_FACE_MATCH_THRESHOLD"):
        load_settings({"ECARD_FACE_MATCH_THRESHOLD": value})
