"""`ecard serve` killed with SIGKILL leaves no face worker or fork server running."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _parents() -> dict[int, int]:
    """PID -> parent PID of every process on the machine (from /proc)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # "pid (comm) state ppid ...": comm may contain spaces and parentheses.
        found[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    return found


def _descendants(root: int) -> set[int]:
    parents = _parents()
    found: set[int] = set()
    frontier = {root}
    while frontier:
        frontier = {pid for pid, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.face
def test_sigkill_of_the_server_ends_its_face_workers(tmp_path: Path) -> None:
    port = _free_port()
    env = {**os.environ, "ECARD_DATABASE_URL": f"sqlite:///{tmp_path / 'ecard.db'}",
           "ECARD_KEYS_DIR": str(tmp_path / "keys"), "ECARD_ENV": "dev", "ECARD_FACE_WORKERS": "2"}
    with (tmp_path / "server.log").open("wb") as log:
        server = subprocess.Popen([sys.executable, "-m", "app.cli", "serve", "--port", str(port)],
                                  env=env, stdout=log, stderr=subprocess.STDOUT)
    workers: set[int] = set()
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).json()
                workers = _descendants(server.pid)
                if health.get("face", {}).get("workers") == 2 and len(workers) >= 3:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.3)
        assert len(workers) >= 3, (tmp_path / "server.log").read_text()  # fork server + 2 workers

        server.send_signal(signal.SIGKILL)
        server.wait(timeout=10)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and any(_alive(pid) for pid in workers):
            time.sleep(0.2)

        assert [pid for pid in workers if _alive(pid)] == []
    finally:
        if server.poll() is None:
            server.kill()
        for pid in workers | _descendants(server.pid):
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
