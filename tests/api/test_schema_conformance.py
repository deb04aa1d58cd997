"""A bounded Schemathesis run against the service's own OpenAPI document, on a real server.

Every operation is called with data generated from its schema, valid and invalid, once with the
admin token, once with a holder's channel token and once with a counter's: no answer may be a 5xx,
and every answer must match the document (status, content type, headers, body schema), and data
the schema refuses must be refused. One check is left out: `positive_data_acceptance` expects
every schema-valid request to succeed, but the domain refuses schema-valid values by design (an ID
number with a wrong check character, a wrong SMS code) with a documented 422.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from app.config import DEV_ADMIN_TOKEN
from app.qa.run import Flow
from tests.live import live_server

EXAMPLES_PER_OPERATION = 15
SEED = "20261129"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with live_server(tmp_path_factory.mktemp("schema-server")) as running:
        yield running.url


def tokens(url: str) -> dict[str, str]:
    """An admin token, a channel token acting for a new holder, a counter's channel token."""
    with httpx.Client(base_url=url, timeout=60) as http:
        flow = Flow(http, DEV_ADMIN_TOKEN)
        holder = flow.channel_token()
        counter = flow.channel(DEV_ADMIN_TOKEN, "schema-counter", "counter", ["card:manage"])
        issued = http.post("/v1/oauth/token", auth=(counter["client_id"], counter["client_secret"]),
                           data={"grant_type": "client_credentials", "scope": "card:manage"})
        assert issued.status_code == 200, issued.text
    return {"admin": DEV_ADMIN_TOKEN, "holder": holder, "counter": issued.json()["access_token"]}


@pytest.mark.face
def test_every_answer_matches_the_openapi_document_and_none_is_a_5xx(server: str, tmp_path: Path) -> None:
    command = shutil.which("schemathesis", path=str(Path(sys.executable).parent))
    assert command, "schemathesis is a dev dependency: uv sync"
    generated = 0
    for who, token in tokens(server).items():
        run = subprocess.run(
            [command, "run", f"{server}/schema/openapi.json", "--max-examples", str(EXAMPLES_PER_OPERATION),
             "--seed", SEED, "--exclude-checks", "positive_data_acceptance",
             "--header", f"Authorization: Bearer {token}", "--no-color"],
            check=False, capture_output=True, text=True, timeout=600, cwd=tmp_path,
        )
        summary = re.search(r"(\d+) generated, (\d+) passed", run.stdout)
        assert run.returncode == 0, f"as {who}:\n{run.stdout[-6000:]}"
        assert summary is not None, run.stdout[-2000:]
        assert summary.group(1) == summary.group(2)
        generated += int(summary.group(1))
        print(f"schemathesis as {who}: {summary.group(0)}")
    assert generated > 1000
