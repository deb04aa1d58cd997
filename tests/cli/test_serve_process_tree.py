"""`ecard serve` killed with SIGKILL leaves no face worker or fork server running."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from tests.live import live_server


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
    workers: set[int] = set()
    with live_server(tmp_path, face_workers=2) as server:
        try:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and len(workers) < 3:  # fork server + 2 workers
                workers = _descendants(server.process.pid)
                time.sleep(0.2)
            assert len(workers) >= 3, server.log.read_text()

            server.process.send_signal(signal.SIGKILL)
            server.process.wait(timeout=10)
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline and any(_alive(pid) for pid in workers):
                time.sleep(0.2)

            assert [pid for pid in workers if _alive(pid)] == []
        finally:
            for pid in workers | _descendants(server.process.pid):
                if _alive(pid):
                    os.kill(pid, signal.SIGKILL)
