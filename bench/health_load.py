"""`GET /health` latency while face sessions complete: `uv run python bench/health_load.py`.

Starts a real server (uvicorn, face workers = cores) on a free loopback port with the fixture card
registry, prepares N citizens with a real-name check each, measures the p99 latency of
`GET /health` idle, then again while the N citizens run whole face sessions at once (frame
uploads analysed in the worker pool, then the verdicts), and prints both and their ratio.
`bench/face.py` calls `measure()` for its report.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

from app.qa.fixtures import cards_file, frame_bytes
from app.qa.run import HOLDERS, Flow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _p99(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=100)[98]


def _poll_health(url: str, stop: threading.Event, samples: list[float], pause: float) -> None:
    with httpx.Client(base_url=url, timeout=30) as http:
        while not stop.is_set():
            began = time.perf_counter()
            http.get("/health").raise_for_status()
            samples.append(time.perf_counter() - began)
            time.sleep(pause)


def _session(url: str, token: str, realname_id: str, results: list[str]) -> None:
    with httpx.Client(base_url=url, timeout=120) as http:
        headers = {"Authorization": f"Bearer {token}"}
        started = http.post("/v1/face/sessions", json={"realname_id": realname_id, "biometric_consent": True},
                            headers=headers).json()
        for action in started["actions"]:
            files = [("frame", (f"{i}.jpg", data, "image/jpeg"))
                     for i, data in enumerate(frame_bytes(f"genuine/astronaut/{action}"))]
            http.post(f"/v1/face/sessions/{started['session_id']}/frames", files=files,
                      headers=headers).raise_for_status()
        verdict = http.post(f"/v1/face/sessions/{started['session_id']}/complete", headers=headers).json()
        results.append(verdict["status"])


@contextlib.contextmanager
def running_server(workers: int | None = None) -> Iterator[str]:
    """A fresh dev server (its own database and keys, the fixture registry imported); its URL."""
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        env = {**os.environ, "ECARD_DATABASE_URL": f"sqlite:///{work / 'ecard.db'}",
               "ECARD_KEYS_DIR": str(work / "keys"), "ECARD_ENV": "dev",
               "ECARD_FACE_WORKERS": str(workers or os.cpu_count() or 1)}
        subprocess.run([sys.executable, "-m", "app.cli", "cards", "import", str(cards_file()), "--quiet"],
                       env=env, check=True, capture_output=True)
        port = _free_port()
        url = f"http://127.0.0.1:{port}"
        with (work / "server.log").open("wb") as log:
            server = subprocess.Popen([sys.executable, "-m", "app.cli", "serve", "--port", str(port)],
                                      env=env, stdout=log, stderr=subprocess.STDOUT)
            try:
                _wait_healthy(url)
                yield url
            finally:
                server.terminate()
                server.wait(timeout=30)


def _wait_healthy(url: str) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError("the server did not start")
        time.sleep(0.2)


def measure(sessions: int = 4, idle_requests: int = 300, workers: int | None = None) -> dict[str, float]:
    """Run the measurement against a fresh server; returns the figures (seconds)."""
    with running_server(workers) as url:
        return _run(url, sessions, idle_requests)


def _run(url: str, sessions: int, idle_requests: int) -> dict[str, float]:
    with httpx.Client(base_url=url, timeout=60) as http:
        flow = Flow(http, os.environ.get("ECARD_ADMIN_TOKEN", "dev-admin-token"))
        citizens = []
        for _ in range(sessions):
            token = flow.channel_token()
            checked = flow.realname(token, *HOLDERS["astronaut"])
            checked.raise_for_status()
            citizens.append((token, checked.json()["realname_id"]))
        # Warm the workers (model loading) so that the loaded phase measures face work only.
        warm_token = flow.channel_token()
        warm = flow.realname(warm_token, *HOLDERS["astronaut"]).json()["realname_id"]
        _session(url, warm_token, warm, [])

    idle: list[float] = []
    stop = threading.Event()
    poller = threading.Thread(target=_poll_health, args=(url, stop, idle, 0.005))
    poller.start()
    while len(idle) < idle_requests:
        time.sleep(0.05)
    stop.set()
    poller.join()

    loaded: list[float] = []
    stop = threading.Event()
    results: list[str] = []
    poller = threading.Thread(target=_poll_health, args=(url, stop, loaded, 0.005))
    runners = [threading.Thread(target=_session, args=(url, token, realname_id, results))
               for token, realname_id in citizens]
    began = time.perf_counter()
    poller.start()
    for runner in runners:
        runner.start()
    for runner in runners:
        runner.join()
    elapsed = time.perf_counter() - began
    stop.set()
    poller.join()
    if results.count("passed") != sessions:
        raise RuntimeError(f"sessions did not all pass: {results}")
    return {"idle_p99": _p99(idle), "loaded_p99": _p99(loaded), "idle_n": len(idle), "loaded_n": len(loaded),
            "sessions_wall": elapsed, "ratio": _p99(loaded) / _p99(idle)}


def report(figures: dict[str, float], sessions: int) -> None:
    print(f"GET /health p99 idle                       {figures['idle_p99'] * 1000:8.2f} ms "
          f"({int(figures['idle_n'])} requests)")
    print(f"GET /health p99 while {sessions} sessions complete {figures['loaded_p99'] * 1000:8.2f} ms "
          f"({int(figures['loaded_n'])} requests, sessions took {figures['sessions_wall']:.1f} s)")
    print(f"ratio loaded / idle                         {figures['ratio']:8.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sessions", type=int, default=4)
    parser.add_argument("--idle-requests", type=int, default=300)
    parser.add_argument("--workers", type=int, default=None, help="face workers (default: cores)")
    args = parser.parse_args()
    report(measure(args.sessions, args.idle_requests, args.workers), args.sessions)


if __name__ == "__main__":
    main()
