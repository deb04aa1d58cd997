"""`ecard serve` as a real server process for tests: its own database and keys in a folder."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from app.qa.fixtures import cards_file


@dataclass(frozen=True)
class LiveServer:
    url: str
    process: subprocess.Popen[bytes]
    log: Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextmanager
def live_server(folder: Path, *, face_workers: int = 1, fixture_cards: bool = False,
                server_workers: int = 1, database_url: str | None = None) -> Iterator[LiveServer]:
    """Start `ecard serve` (dev settings) and wait until /health answers 200; stop it on exit.
    The database is a SQLite file in `folder` unless `database_url` names another; `fixture_cards`
    imports the fixture registry first (fixtures/cards.jsonl and fixtures/records.jsonl)."""
    env = {**os.environ, "ECARD_DATABASE_URL": database_url or f"sqlite:///{folder / 'ecard.db'}",
           "ECARD_KEYS_DIR": str(folder / "keys"), "ECARD_ENV": "dev", "ECARD_FACE_WORKERS": str(face_workers)}
    if fixture_cards:
        imported = subprocess.run([sys.executable, "-m", "app.cli", "cards", "import", str(cards_file()), "--quiet"],
                                  env=env, capture_output=True, text=True, check=False)
        assert imported.returncode == 0, imported.stderr
        records = subprocess.run([sys.executable, "-m", "app.cli", "records", "import",
                                  str(cards_file().with_name("records.jsonl")), "--quiet"],
                                 env=env, capture_output=True, text=True, check=False)
        assert records.returncode == 0, records.stderr
    port, log = free_port(), folder / "server.log"
    with log.open("wb") as output:
        process = subprocess.Popen([sys.executable, "-m", "app.cli", "serve", "--port", str(port),
                                    "--workers", str(server_workers)],
                                   env=env, stdout=output, stderr=subprocess.STDOUT)
    server = LiveServer(f"http://127.0.0.1:{port}", process, log)
    try:
        deadline = time.monotonic() + 90
        while not _healthy(server.url):
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the server did not start:\n{log.read_text()}")
            time.sleep(0.2)
        yield server
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=30)


def _healthy(url: str) -> bool:
    try:
        return httpx.get(f"{url}/health", timeout=1).status_code == 200
    except httpx.TransportError:
        return False
