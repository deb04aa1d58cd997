"""`ecard keys rotate` and `ecard keys list`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from app.cli import main


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {"ECARD_KEYS_DIR": str(tmp_path / "keys"), "ECARD_ENV": "dev",
            "ECARD_DATABASE_URL": f"sqlite:///{tmp_path / 'e.db'}"}


def test_rotate_creates_then_replaces_the_active_key(env: dict[str, str]) -> None:
    runner = CliRunner()
    first = runner.invoke(main, ["keys", "rotate"], env=env)
    assert first.exit_code == 0, first.output
    second = runner.invoke(main, ["keys", "rotate"], env=env)
    assert second.exit_code == 0, second.output
    listing = json.loads(runner.invoke(main, ["keys", "list"], env=env).output)
    assert [k["active"] for k in listing] == [False, True]
    assert all(k["published"] for k in listing)  # the old key signed tokens that are still valid
    assert json.loads(second.output)["active"] == listing[1]["kid"]


def test_list_without_keys_fails(env: dict[str, str]) -> None:
    result = CliRunner().invoke(main, ["keys", "list"], env=env)
    assert result.exit_code != 0
    assert "no signing keys" in result.output
