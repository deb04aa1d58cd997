"""The client address that bounds SMS codes is the connection's, unless a trusted balancer says
otherwise: a header a client writes itself does not give it a new address."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from app.domain.accounts import SMS_PER_ADDRESS_PER_MINUTE
from tests.live import live_server


@pytest.mark.face
def test_x_forwarded_for_from_a_client_does_not_change_its_address(tmp_path: Path) -> None:
    with live_server(tmp_path) as server, httpx.Client(base_url=server.url, timeout=30) as http:
        statuses = [
            http.post("/v1/accounts/sms-codes", json={"phone": f"1390000{n:04d}"},
                      headers={"X-Forwarded-For": f"10.0.{n}.7"}).status_code
            for n in range(SMS_PER_ADDRESS_PER_MINUTE + 3)
        ]
    assert statuses == [202] * SMS_PER_ADDRESS_PER_MINUTE + [429] * 3
