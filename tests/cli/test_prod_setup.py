"""Production refuses to start until its secrets exist, and says which one is missing."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from app.cli import main


@pytest.fixture
def prod(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ECARD_ENV", "prod")
    monkeypatch.setenv("ECARD_ADMIN_TOKEN", "a" * 40)
    monkeypatch.setenv("ECARD_ISSUER", "https://ecard.example.cn")
    monkeypatch.setenv("ECARD_SMS_SENDER", "tests.cli.test_prod_setup:Gateway")
    monkeypatch.setenv("ECARD_KEYS_DIR", str(tmp_path / "keys"))
    monkeypatch.setenv("ECARD_DATABASE_URL", f"sqlite:///{tmp_path / 'ecard.db'}")
    return tmp_path / "keys"


class Gateway:
    async def send(self, phone: str, text: str) -> None:
        raise AssertionError("not sent in this test")


def test_serve_names_the_missing_data_key(prod: Path) -> None:
    result = CliRunner().invoke(main, ["serve"])
    assert result.exit_code == 1
    assert "data.key" in result.output


def test_data_key_is_created_once_and_never_replaced(prod: Path) -> None:
    runner = CliRunner()
    first = runner.invoke(main, ["keys", "init-data-key"])
    assert first.exit_code == 0, first.output
    key = (prod / "data.key").read_bytes()
    assert len(key) == 32
    again = runner.invoke(main, ["keys", "init-data-key"])
    assert again.exit_code == 1
    assert "never replaced" in again.output
    assert (prod / "data.key").read_bytes() == key


def test_serve_then_names_the_missing_signing_key(prod: Path) -> None:
    CliRunner().invoke(main, ["keys", "init-data-key"])
    result = CliRunner().invoke(main, ["serve"])
    assert result.exit_code == 1
    assert "ecard keys rotate" in result.output


def test_a_broken_sms_gateway_factory_is_named(prod: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    CliRunner().invoke(main, ["keys", "init-data-key"])
    monkeypatch.setenv("ECARD_SMS_SENDER", "app.sms:OutboxSmsSender")  # needs arguments
    result = CliRunner().invoke(main, ["serve"])
    assert result.exit_code == 1
    assert "ECARD_SMS_SENDER" in result.output
