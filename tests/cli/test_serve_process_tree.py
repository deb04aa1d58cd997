"""`ecard serve` as processes: killed with SIGKILL it leaves no face worker or fork server running;
with `--workers 2` two server processes share the port and the database, and a limit holds across
them."""

from __future__ import annotations

import os
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from app.config import DEV_ADMIN_TOKEN
from app.domain.accounts import LOGIN_FAILURES_PER_DAY
from app.qa.run import PASSWORD, Flow
from tests.live import LiveServer, live_server

PHONE = "13912340000"


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

            assert _kill_and_wait(server, workers) == []
        finally:
            for pid in workers | _descendants(server.process.pid):
                if _alive(pid):
                    os.kill(pid, signal.SIGKILL)


def _login(url: str, password: str) -> int:
    return httpx.post(f"{url}/v1/sessions", json={"phone": PHONE, "password": password}, timeout=60).status_code


@pytest.mark.face
def test_two_server_processes_share_the_port_and_the_login_limit(tmp_path: Path) -> None:
    with live_server(tmp_path, face_workers=2, server_workers=2) as server:
        tree: set[int] = set()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            tree = _descendants(server.process.pid)
            if len(_servers(tree)) == 2:
                break
            time.sleep(0.2)
        assert len(_servers(tree)) == 2, server.log.read_text()
        with httpx.Client(base_url=server.url, timeout=60) as http:
            Flow(http, DEV_ADMIN_TOKEN)  # channels, so that the server is in use as it would be
            code = http.post("/v1/accounts/sms-codes", json={"phone": PHONE})
            assert code.status_code == 202
            body = http.get("/v1/dev/outbox", params={"phone": PHONE}).json()["messages"][0]["body"]
            registered = http.post("/v1/accounts", json={"phone": PHONE, "password": PASSWORD,
                                                         "sms_code": body.split("验证码 ")[1][:6]})
            assert registered.status_code == 201

        with ThreadPoolExecutor(max_workers=30) as pool:
            statuses = list(pool.map(lambda _: _login(server.url, "Wrong-pass-1"), range(30)))

        assert statuses.count(401) == LOGIN_FAILURES_PER_DAY
        assert statuses.count(429) == 30 - LOGIN_FAILURES_PER_DAY
        assert _login(server.url, PASSWORD) == 429

        assert _kill_and_wait(server, tree) == []


def _kill_and_wait(server: LiveServer, pids: set[int], seconds: float = 20) -> list[int]:
    """SIGKILL the server, then wait for `pids` to end; those still running after `seconds`."""
    server.process.send_signal(signal.SIGKILL)
    server.process.wait(timeout=10)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and any(_alive(pid) for pid in pids):
        time.sleep(0.2)
    return [pid for pid in pids if _alive(pid)]


def _servers(pids: set[int]) -> set[int]:
    """The uvicorn worker processes among `pids` (they run the multiprocessing spawn entry point)."""
    found = set()
    for pid in pids:
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:
            continue
        if b"multiprocessing.spawn" in command:
            found.add(pid)
    return found
