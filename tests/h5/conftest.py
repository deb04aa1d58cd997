"""A real `ecard serve` for the browser tests, and Debian's Chromium with a fake camera.

The service runs with ECARD_ENV=test: its face sessions challenge the fixed actions
`FACE_ACTIONS` (the fake camera can only replay a recording made in advance) and its SMS codes
are written to a file (`tests.h5.sms`), since the dev outbox route is not mounted in test.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Playwright, sync_playwright

from app.config import DEV_ADMIN_TOKEN
from app.qa.fixtures import cards_file
from tests.h5.sms import SMS_FILE_VARIABLE
from tests.live import free_port

CHROMIUM = Path(os.environ.get("H5_TEST_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
    "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
]
FACE_ACTIONS = ("blink", "turn_left")
# Where the screenshots of every step go (gitignored); one is committed as docs/h5-ecard.png.
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-output" / "h5"
USER_SCOPES = ["ecard:claim", "ecard:read", "ecard:qrcode"]


@dataclass(frozen=True)
class H5Service:
    url: str
    sms_file: Path
    channels: dict[str, dict[str, Any]]

    def token(self, channel: str, scope: str) -> str:
        """A client_credentials token of a relying party or counter channel."""
        client = self.channels[channel]
        issued = httpx.post(f"{self.url}/v1/oauth/token", auth=(client["client_id"], client["client_secret"]),
                            data={"grant_type": "client_credentials", "scope": scope}, timeout=30)
        assert issued.status_code == 200, issued.text
        token: str = issued.json()["access_token"]
        return token

    def page_url(self, channel: str) -> str:
        return f"{self.url}/h5/?client_id={self.channels[channel]['client_id']}"


def _healthy(url: str) -> bool:
    try:
        return httpx.get(f"{url}/health", timeout=1).status_code == 200
    except httpx.TransportError:
        return False


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[H5Service]:
    """`ecard serve` with ECARD_ENV=test, the fixture card registry, and the page's channels."""
    folder = tmp_path_factory.mktemp("h5-server")
    env = {**os.environ, "ECARD_ENV": "test", "ECARD_DATABASE_URL": f"sqlite:///{folder / 'ecard.db'}",
           "ECARD_KEYS_DIR": str(folder / "keys"), "ECARD_FACE_WORKERS": "2",
           "ECARD_TEST_FACE_ACTIONS": ",".join(FACE_ACTIONS), "ECARD_SMS_SENDER": "tests.h5.sms:from_env",
           SMS_FILE_VARIABLE: str(folder / "sms.jsonl")}
    imported = subprocess.run([sys.executable, "-m", "app.cli", "cards", "import", str(cards_file()), "--quiet"],
                              env=env, capture_output=True, text=True, check=False)
    assert imported.returncode == 0, imported.stderr
    port, log = free_port(), folder / "server.log"
    url = f"http://127.0.0.1:{port}"
    with log.open("wb") as output:
        process = subprocess.Popen([sys.executable, "-m", "app.cli", "serve", "--port", str(port)],
                                   env=env, stdout=output, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 90
        while not _healthy(url):
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the server did not start:\n{log.read_text()}")
            time.sleep(0.2)
        page = f"{url}/h5/"  # the page is its own redirect URI
        specs: dict[str, dict[str, Any]] = {
            "h5": {"client_id": "h5-test", "kind": "miniprogram", "scopes": USER_SCOPES, "redirect_uris": [page],
                   "name": "社保服务 H5"},
            "h5-light": {"client_id": "h5-light-test", "kind": "miniprogram", "scopes": USER_SCOPES,
                         "redirect_uris": [page], "name": "社保服务 H5（光线）", "face_challenge": "actions+light"},
            "hospital": {"client_id": "hospital-test", "kind": "relying_party", "scopes": ["ecard:verify"],
                         "name": "市第一人民医院"},
            "counter": {"client_id": "counter-test", "kind": "counter", "scopes": ["card:manage"],
                        "name": "社保经办窗口"},
        }
        channels = {}
        for name, spec in specs.items():
            created = httpx.post(f"{url}/v1/admin/channels", json=spec, timeout=30,
                                 headers={"Authorization": f"Bearer {DEV_ADMIN_TOKEN}"})
            assert created.status_code == 201, created.text
            channels[name] = created.json()
        yield H5Service(url=url, sms_file=folder / "sms.jsonl", channels=channels)
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=30)
        print(f"server log: {log}")


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    # No skipping: a machine without the browser fails here, loudly (CI installs it).
    assert CHROMIUM.exists(), f"{CHROMIUM} is missing: apt-get install -y chromium chromium-driver"
    with sync_playwright() as driver:
        yield driver


def launch(playwright: Playwright, camera: Path) -> Browser:
    """Debian's Chromium (Playwright's own download is not used) with `camera` as the webcam."""
    return playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                      args=[*CHROMIUM_ARGS, f"--use-file-for-fake-video-capture={camera}"])


@pytest.fixture
def screenshots(request: pytest.FixtureRequest) -> Path:
    """This test's screenshot folder, emptied."""
    folder = SCREENSHOTS / request.node.name
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.png"):
        old.unlink()
    return folder
