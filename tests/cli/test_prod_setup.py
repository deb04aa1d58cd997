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


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604])
def test_serve_refuses_a_data_key_other_accounts_can_read(prod: Path, mode: int) -> None:
    CliRunner().invoke(main, ["keys", "init-data-key"])
    CliRunner().invoke(main, ["keys", "rotate"])
    (prod / "data.key").chmod(mode)
    result = CliRunner().invoke(main, ["serve"])
    assert result.exit_code == 1
    assert f"chmod 600 {prod / 'data.key'}" in result.output


def test_serve_refuses_a_signing_key_other_accounts_can_read(prod: Path) -> None:
    CliRunner().invoke(main, ["keys", "init-data-key"])
    CliRunner().invoke(main, ["keys", "rotate"])
    (pem,) = prod.rglob("*.pem")
    pem.chmod(0o644)
    result = CliRunner().invoke(main, ["serve"])
    assert result.exit_code == 1
    assert f"chmod 600 {pem}" in result.output


def test_new_keys_are_readable_by_their_owner_only(prod: Path) -> None:
    CliRunner().invoke(main, ["keys", "init-data-key"])
    CliRunner().invoke(main, ["keys", "rotate"])
    for path in [prod / "data.key", *prod.rglob("*.pem")]:
        assert path.stat().st_mode & 0o777 == 0o600
