"""`ecard serve` as a real server, driven end to end by `ecard qa run` over HTTP."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from app.cli import main
from app.qa.fixtures import cards_file

pytestmark = pytest.mark.face


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    env = {**os.environ, "ECARD_DATABASE_URL": f"sqlite:///{tmp_path / 'ecard.db'}",
           "ECARD_KEYS_DIR": str(tmp_path / "keys"), "ECARD_ENV": "dev", "ECARD_FACE_WORKERS": "1"}
    imported = subprocess.run([sys.executable, "-m", "app.cli", "cards", "import", str(cards_file()), "--quiet"],
                              env=env, capture_output=True, text=True, check=False)
    assert imported.returncode == 0, imported.stderr
    port = free_port()
    log = (tmp_path / "server.log").open("wb")
    process = subprocess.Popen([sys.executable, "-m", "app.cli", "serve", "--port", str(port)], env=env,
                               stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        else:
            pytest.fail("the server did not start")
        yield url
    finally:
        process.terminate()
        process.wait(timeout=20)
        log.close()


def test_qa_run_walks_the_whole_flow_and_every_scenario_passes(server: str) -> None:
    result = CliRunner().invoke(main, ["qa", "run", "--base-url", server])
    assert result.exit_code == 0, result.output
    summary = result.output.strip().splitlines()[-1]
    assert summary.endswith(" passed, 0 failed")
    # 17 scenarios: the flow, the refusals, re-rolling, and the light challenge answered and not.
    assert int(summary.split()[0]) >= 17
    assert "FAIL" not in result.output
