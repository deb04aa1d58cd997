"""`ecard serve` as a real server, driven end to end by `ecard qa run` over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from app.cli import main
from tests.live import live_server

pytestmark = pytest.mark.face


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    with live_server(tmp_path, fixture_cards=True) as running:
        yield running.url


def test_qa_run_walks_the_whole_flow_and_every_scenario_passes(server: str) -> None:
    result = CliRunner().invoke(main, ["qa", "run", "--base-url", server])
    assert result.exit_code == 0, result.output
    summary = result.output.strip().splitlines()[-1]
    assert summary.endswith(" passed, 0 failed")
    # 17 scenarios: the flow, the refusals, re-rolling, and the light challenge answered and not.
    assert int(summary.split()[0]) >= 17
    assert "FAIL" not in result.output
