"""A counter walks real cards through their lifecycle while the holders watch their e-cards.

Everything goes through the public API: the holders claim their e-cards after a real face session
on fixture frames; the counter system uses a `card:manage` client_credentials token.
"""

from __future__ import annotations

import base64
import json
import zlib
from datetime import date
from typing import Any

import jwt
import pytest
from litestar.testing import AsyncTestClient

from app.domain.cards.sweep import end_of_day
from app.qa.fixtures import frame_bytes
from app.services import Services
from tests.flow import FIXTURE_HOLDERS, add_channel, bearer, client_credentials, import_fixture_cards, realname_for

pytestmark = pytest.mark.face

ASTRONAUT_CARD = "A44030001"  # financial application active
HOPPER_CARD = "B37020002"  # collected 2025-01-20, financial application never enabled


async def claim_ecard(client: AsyncTestClient[Any], services: Services, person: str, phone: str) -> dict[str, str]:
    token, realname_id = await realname_for(client, services, person, phone=phone)
    headers = bearer(token)
    challenge = (await client.post("/v1/face/sessions", json={"realname_id": realname_id, "biometric_consent": True},
                                   headers=headers)).json()
    for action in challenge["actions"]:
        files = [("frame", (f"{i}.jpg", data, "image/jpeg"))
                 for i, data in enumerate(frame_bytes(f"genuine/{person}/{action}"))]
        assert (await client.post(f"/v1/face/sessions/{challenge['session_id']}/frames", files=files,
                                  headers=headers)).status_code == 202
    verdict = await client.post(f"/v1/face/sessions/{challenge['session_id']}/complete", headers=headers)
    assert verdict.json()["status"] == "passed", verdict.text
    claimed = await client.post("/v1/ecards", json={}, headers=headers)
    assert claimed.status_code == 201, claimed.text
    return headers


async def ecard(client: AsyncTestClient[Any], holder: dict[str, str]) -> dict[str, Any]:
    r = await client.get("/v1/ecards/me", headers=holder)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def status_entry(client: AsyncTestClient[Any], view: dict[str, Any]) -> int:
    """The e-card's 2-bit entry in the signed status list, read as a relying party would offline."""
    uri = view["status"]["uri"]
    token = (await client.get("/v1/status-lists/" + uri.rsplit("/", 1)[1])).text
    claims = jwt.decode(token, options={"verify_signature": False})
    raw = claims["status_list"]["lst"]
    packed = zlib.decompress(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
    index = view["status"]["idx"]
    return (packed[index // 4] >> (2 * (index % 4))) & 0b11


@pytest.fixture
async def counter(client: AsyncTestClient[Any], services: Services) -> dict[str, str]:
    await import_fixture_cards(services)
    channel = await add_channel(services, "city-bureau", kind="counter", scopes=("card:manage",))
    return bearer(await client_credentials(client, channel, "card:manage"))


async def test_loss_unlock_and_replacement_are_mirrored_by_the_ecard(
    client: AsyncTestClient[Any], services: Services, counter: dict[str, str]
) -> None:
    holder = await claim_ecard(client, services, "astronaut", "13911110001")
    id_number = FIXTURE_HOLDERS["astronaut"][1]
    first = await ecard(client, holder)
    assert (first["state"], first["sign_level"], await status_entry(client, first)) == ("active", 2, 0)

    r = await client.post(f"/v1/cards/{ASTRONAUT_CARD}/loss-reports", json={"kind": "temporary"}, headers=counter)
    assert r.status_code == 200, r.text
    view = await ecard(client, holder)
    assert (view["state"], await status_entry(client, view)) == ("suspended", 2)
    qr = await client.post("/v1/ecards/me/qrcodes", json={}, headers=holder)
    assert qr.json()["code"] == "ecard_not_active"

    r = await client.post(f"/v1/cards/{ASTRONAUT_CARD}/unlock", json={"holder_id_number": id_number}, headers=counter)
    assert r.status_code == 200, r.text
    view = await ecard(client, holder)
    assert (view["state"], await status_entry(client, view)) == ("active", 0)

    r = await client.post(f"/v1/cards/{ASTRONAUT_CARD}/loss-reports", json={"kind": "formal"}, headers=counter)
    assert r.status_code == 200
    assert (await ecard(client, holder))["state"] == "invalid"
    r = await client.post(f"/v1/cards/{ASTRONAUT_CARD}/unlock", json={"holder_id_number": id_number}, headers=counter)
    assert r.json()["code"] == "formal_loss_irreversible"

    r = await client.post(f"/v1/cards/{ASTRONAUT_CARD}/replacements", json={"holder_id_number": id_number},
                          headers=counter)
    assert r.status_code == 201, r.text
    new_card = r.json()["new_card"]["card_no"]
    assert new_card != ASTRONAUT_CARD
    fresh = await ecard(client, holder)
    assert fresh["card_no"] == new_card
    assert fresh["sign_no"] != first["sign_no"]
    assert (fresh["state"], await status_entry(client, fresh)) == ("active", 0)
    assert await status_entry(client, first) == 1  # the old e-card stays invalid in the list


async def test_three_hundred_day_sweep_then_bank_activation_then_unlock(
    client: AsyncTestClient[Any], services: Services, counter: dict[str, str]
) -> None:
    holder = await claim_ecard(client, services, "hopper", "13911110002")
    id_number = FIXTURE_HOLDERS["hopper"][1]
    assert (await ecard(client, holder))["sign_level"] == 1

    # The sweep (what `ecard sweep --as-of 2025-11-20` runs), after collection + 300 days, reports
    # the card's social security application lost.
    report = await services.cards.sweep(end_of_day(date(2025, 11, 20)))
    assert HOPPER_CARD in str(report)
    card = (await client.get(f"/v1/cards/{HOPPER_CARD}", headers=counter)).json()
    assert card["loss"]["state"] == "overdue"
    assert (await ecard(client, holder))["state"] == "suspended"

    refused = await client.post(f"/v1/cards/{HOPPER_CARD}/unlock", json={"holder_id_number": id_number},
                                headers=counter)
    assert (refused.status_code, refused.json()["code"]) == (409, "financial_application_inactive")

    activated = await client.post(f"/v1/cards/{HOPPER_CARD}/activations",
                                  json={"channel": "bank", "holder_id_number": id_number}, headers=counter)
    assert activated.status_code == 200, activated.text
    assert activated.json()["financial"]["state"] == "active"
    r = await client.post(f"/v1/cards/{HOPPER_CARD}/unlock", json={"holder_id_number": id_number}, headers=counter)
    assert r.status_code == 200, r.text
    view = await ecard(client, holder)
    assert (view["state"], view["sign_level"]) == ("active", 2)


async def test_pin_walkthrough_initial_change_and_lock(
    client: AsyncTestClient[Any], services: Services, counter: dict[str, str]
) -> None:
    id_number = FIXTURE_HOLDERS["astronaut"][1]
    initial = id_number[-7:-1] if id_number.endswith("X") else id_number[-6:]
    r = await client.post(f"/v1/cards/{ASTRONAUT_CARD}/pin/verify", json={"pin": initial}, headers=counter)
    assert r.json()["code"] == "pin_change_required"
    weak = await client.post(f"/v1/cards/{ASTRONAUT_CARD}/pin/change", json={"old_pin": initial, "new_pin": "123456"},
                             headers=counter)
    assert weak.json()["code"] == "weak_pin"
    ok = await client.post(f"/v1/cards/{ASTRONAUT_CARD}/pin/change", json={"old_pin": initial, "new_pin": "704193"},
                           headers=counter)
    assert ok.status_code == 200, ok.text
    for _ in range(6):
        wrong = await client.post(f"/v1/cards/{ASTRONAUT_CARD}/pin/verify", json={"pin": "111222"}, headers=counter)
    assert (wrong.status_code, wrong.json()["code"]) == (423, "pin_locked")
    right = await client.post(f"/v1/cards/{ASTRONAUT_CARD}/pin/verify", json={"pin": "704193"}, headers=counter)
    assert right.json()["code"] == "pin_locked"
    events = (await client.get(f"/v1/cards/{ASTRONAUT_CARD}/events", headers=counter)).json()
    assert json.dumps(events).count("pin") >= 3
