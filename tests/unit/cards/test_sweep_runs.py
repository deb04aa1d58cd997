"""The sweep as operators run it: `ecard sweep --as-of DATE`, and periodically inside the server."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from app.cli import main
from app.composition import open_services
from app.config import Settings
from app.domain.cards.periodic import leads_the_sweep, periodic_sweep
from tests.flow import card_row, write_jsonl
from tests.unit.fakes import START, World, card


async def test_server_sweep_runs_in_the_background(w: World) -> None:
    w.put(card(loss_state="temporary", loss_since=START))
    w.clock.advance(timedelta(days=8))
    async with periodic_sweep(w.service, w.storage, w.clock, 0.01):
        for _ in range(100):
            if w.get("A12345678").loss_state == "none":
                break
            await asyncio.sleep(0.01)
    assert w.get("A12345678").loss_state == "none"


async def test_server_sweep_disabled_with_zero_interval(w: World) -> None:
    w.put(card(loss_state="temporary", loss_since=START))
    w.clock.advance(timedelta(days=8))
    async with periodic_sweep(w.service, w.storage, w.clock, 0):
        await asyncio.sleep(0.05)
    assert w.get("A12345678").loss_state == "temporary"


async def test_only_the_lease_holder_sweeps(w: World) -> None:
    w.put(card(loss_state="temporary", loss_since=START))
    w.clock.advance(timedelta(days=8))
    # Another process holds the lease: this one keeps serving but does not sweep.
    assert await leads_the_sweep(w.storage, w.clock, "other-host:1:a", 3600)  # type: ignore[arg-type]
    async with periodic_sweep(w.service, w.storage, w.clock, 0.01):  # type: ignore[arg-type]
        await asyncio.sleep(0.1)
    assert w.get("A12345678").loss_state == "temporary"
    # Its lease lapses (1.5 intervals without renewal): the next run here takes over.
    w.clock.advance(timedelta(hours=2))
    async with periodic_sweep(w.service, w.storage, w.clock, 0.01):  # type: ignore[arg-type]
        for _ in range(100):
            if w.get("A12345678").loss_state == "none":
                break
            await asyncio.sleep(0.01)
    assert w.get("A12345678").loss_state == "none"


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("ECARD_DATABASE_URL", f"sqlite:///{tmp_path / 'ecard.db'}")
    monkeypatch.setenv("ECARD_KEYS_DIR", str(tmp_path / "keys"))
    monkeypatch.setenv("ECARD_ENV", "dev")
    return Settings(database_url=f"sqlite:///{tmp_path / 'ecard.db'}", keys_dir=tmp_path / "keys")


def loss_state(settings: Settings, card_no: str) -> str:
    async def read() -> str:
        async with open_services(settings) as services:
            return (await services.cards.get(card_no)).card.loss_state

    return asyncio.run(read())


def test_cli_sweep_as_of_applies_the_300_day_rule_once(settings: Settings, tmp_path: Path) -> None:
    row = card_row(3, collected_on="2025-03-01", financial_active=False)
    rows = write_jsonl(tmp_path / "cards.jsonl", [row])

    async def load() -> None:
        async with open_services(settings) as services:
            await services.registry.import_file(rows)

    asyncio.run(load())
    runner = CliRunner()
    early = runner.invoke(main, ["sweep", "--as-of", "2025-12-25"])
    assert early.exit_code == 0, early.output
    assert json.loads(early.output)["overdue_losses"] == []
    first = runner.invoke(main, ["sweep", "--as-of", "2025-12-26"])
    assert json.loads(first.output) == {
        "as_of": "2025-12-26T23:59:59Z", "lifted_temporary_losses": [], "overdue_losses": ["A00000003"]}
    again = runner.invoke(main, ["sweep", "--as-of", "2025-12-26"])
    assert json.loads(again.output)["overdue_losses"] == []
    assert loss_state(settings, "A00000003") == "overdue"


def test_cli_sweep_refuses_a_malformed_date(settings: Settings) -> None:
    result = CliRunner().invoke(main, ["sweep", "--as-of", "26/12/2025"])
    assert result.exit_code == 2
