"""Physical cards over HTTP, as a counter system drives them with a `card:manage` token."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from app.domain.cards.sweep import end_of_day
from app.services import Services
from tests.flow import add_channel, bearer, card_row, client_credentials, write_jsonl

CARD = "A00000007"


@pytest.fixture
async def holder_id(services: Services, tmp_path: Path) -> str:
    """One card collected on 2025-03-01 whose financial application is not active yet."""
    row = card_row(7, collected_on="2025-03-01", financial_active=False)
    report = await services.registry.import_file(write_jsonl(tmp_path / "cards.jsonl", [row]))
    assert report.added == 1
    id_number: str = row["id_number"]
    return id_number


@pytest.fixture
async def counter(client: AsyncTestClient[Any], services: Services) -> dict[str, str]:
    channel = await add_channel(services, "city-bureau", kind="counter", scopes=("card:manage",))
    return bearer(await client_credentials(client, channel, "card:manage"))


async def test_card_view_shows_masked_holder_and_both_applications(
    client: AsyncTestClient[Any], counter: dict[str, str], holder_id: str,
) -> None:
    r = await client.get(f"/v1/cards/{CARD}", headers=counter)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["holder"]["id_number"] == holder_id[:6] + "********" + holder_id[-4:]
    assert body["holder"]["phone"] == "138****8000"
    assert body["social_security"]["state"] == "active"
    assert body["financial"]["state"] == "inactive"
    assert body["financial_deadline"] == "2025-12-26"
    assert body["pin"] == {"change_required": True, "locked": False, "attempts_remaining": 6}
    assert body["ecard_state"] is None


async def test_card_endpoints_need_a_card_manage_channel_token(
    client: AsyncTestClient[Any], services: Services, holder_id: str,
) -> None:
    verifier = await add_channel(services, "pharmacy-rp", kind="relying_party", scopes=("ecard:verify",))
    token = await client_credentials(client, verifier, "ecard:verify")
    r = await client.post(f"/v1/cards/{CARD}/loss-reports", json={"kind": "temporary"}, headers=bearer(token))
    assert (r.status_code, r.json()["code"]) == (403, "insufficient_scope")
    r = await client.get(f"/v1/cards/{CARD}")
    assert r.status_code == 401


async def test_loss_unlock_and_replacement_walk(
    client: AsyncTestClient[Any], counter: dict[str, str], holder_id: str,
) -> None:
    r = await client.post(f"/v1/cards/{CARD}/loss-reports", json={"kind": "temporary"}, headers=counter)
    assert (r.status_code, r.json()["loss"]["state"]) == (200, "temporary")
    assert r.json()["loss"]["lifts_at"] == "2026-03-09T09:00:00Z"
    r = await client.post(f"/v1/cards/{CARD}/unlock", json={"holder_id_number": holder_id}, headers=counter)
    assert (r.status_code, r.json()["loss"]["state"]) == (200, "none")
    r = await client.post(f"/v1/cards/{CARD}/loss-reports", json={"kind": "formal"}, headers=counter)
    assert r.status_code == 200
    r = await client.post(f"/v1/cards/{CARD}/unlock", json={"holder_id_number": holder_id}, headers=counter)
    assert (r.status_code, r.json()["code"]) == (409, "formal_loss_irreversible")
    r = await client.post(f"/v1/cards/{CARD}/replacements", json={"holder_id_number": holder_id},
                          headers=counter)
    assert r.status_code == 201, r.text
    new_no = r.json()["new_card"]["card_no"]
    assert r.json()["old_card"]["status"] == "replaced"
    assert r.json()["old_card"]["replaced_by"] == new_no
    new = (await client.get(f"/v1/cards/{new_no}", headers=counter)).json()
    assert (new["aab301"], new["replaces"], new["status"]) == ("440300", CARD, "normal")
    history = (await client.get(f"/v1/cards/{CARD}/events", headers=counter)).json()
    assert [e["action"] for e in history] == ["loss_reported", "unlocked", "loss_reported", "replaced"]


async def test_300_day_sweep_then_unlock_only_after_bank_activation(
    client: AsyncTestClient[Any], counter: dict[str, str], holder_id: str, services: Services,
) -> None:
    report = await services.cards.sweep(end_of_day(date(2025, 12, 26)))
    assert report.overdue_losses == [CARD]
    body = {"holder_id_number": holder_id}
    r = await client.post(f"/v1/cards/{CARD}/unlock", json=body, headers=counter)
    assert (r.status_code, r.json()["code"]) == (409, "financial_application_inactive")
    r = await client.post(f"/v1/cards/{CARD}/activations", json={"channel": "bank", **body}, headers=counter)
    assert (r.status_code, r.json()["financial"]["state"]) == (200, "active")
    r = await client.post(f"/v1/cards/{CARD}/unlock", json=body, headers=counter)
    assert (r.status_code, r.json()["loss"]["state"]) == (200, "none")


async def test_initial_pin_six_wrong_entries_and_counter_reset(
    client: AsyncTestClient[Any], counter: dict[str, str], holder_id: str,
) -> None:
    pin_url = f"/v1/cards/{CARD}/pin"
    r = await client.post(f"{pin_url}/verify", json={"pin": holder_id[-6:]}, headers=counter)
    assert (r.status_code, r.json()["code"]) == (403, "pin_change_required")
    codes = [(await client.post(f"{pin_url}/verify", json={"pin": "000001"}, headers=counter)).json()["code"]
             for _ in range(6)]
    assert codes == ["pin_incorrect"] * 5 + ["pin_locked"]
    r = await client.post(f"{pin_url}/verify", json={"pin": holder_id[-6:]}, headers=counter)
    assert r.status_code == 423
    r = await client.post(f"{pin_url}/reset", json={"holder_id_number": holder_id, "new_pin": "246813"},
                          headers=counter)
    assert (r.status_code, r.json()["pin"]["locked"]) == (200, False)
    r = await client.post(f"{pin_url}/verify", json={"pin": "246813"}, headers=counter)
    assert (r.status_code, r.json()["verified"]) == (200, True)


async def test_refusals_are_problem_documents_with_codes(
    client: AsyncTestClient[Any], counter: dict[str, str], holder_id: str,
) -> None:
    change = {"old_pin": holder_id[-6:], "new_pin": "123456"}
    r = await client.post(f"/v1/cards/{CARD}/pin/change", json=change, headers=counter)
    assert (r.status_code, r.json()["code"]) == (422, "weak_pin")
    assert r.headers["content-type"].startswith("application/problem+json")
    r = await client.post(f"/v1/cards/{CARD}/activations",
                          json={"channel": "bank", "holder_id_number": "440305198001010011"}, headers=counter)
    assert (r.status_code, r.json()["code"]) == (422, "invalid_id_number")
    r = await client.post(f"/v1/cards/{CARD}/loss-reports", json={"kind": "forever"}, headers=counter)
    assert r.status_code == 400
    r = await client.get("/v1/cards/Z99999999", headers=counter)
    assert (r.status_code, r.json()["code"]) == (404, "card_not_found")




async def test_bank_activation_updates_contact_and_records_the_agent(
    client: AsyncTestClient[Any], counter: dict[str, str], holder_id: str,
) -> None:
    agent = {"name": "李四", "id_number": "370203199007013213", "power_of_attorney_ref": "POA-7"}
    body = {"channel": "bank", "holder_id_number": holder_id, "agent": agent,
            "contact": {"phone": "13912345678", "postcode": "518000"}}
    r = await client.post(f"/v1/cards/{CARD}/activations", json=body, headers=counter)
    assert r.status_code == 200, r.text
    assert (r.json()["holder"]["phone"], r.json()["holder"]["postcode"]) == ("139****5678", "518000")
    [event] = (await client.get(f"/v1/cards/{CARD}/events", headers=counter)).json()
    assert event["actor"] == "city-bureau"
    assert event["agent"] == {"name": "李四", "id_masked": "370203********3213",
                              "power_of_attorney_ref": "POA-7"}
    r = await client.post(f"/v1/cards/{CARD}/activations",
                          json={**body, "contact": {"postcode": "5180000"}}, headers=counter)
    assert (r.status_code, r.json()["code"]) == (422, "invalid_contact")


async def test_a_full_width_card_number_and_pin_are_read_as_ascii(
    client: AsyncTestClient[Any], counter: dict[str, str], holder_id: str,
) -> None:
    full_width = {ord(c): ord(c) + 0xFEE0 for c in "0123456789A"}
    r = await client.get(f"/v1/cards/{CARD.translate(full_width)}", headers=counter)
    assert r.status_code == 200
    assert r.json()["card_no"] == CARD
    r = await client.post(f"/v1/cards/{CARD}/pin/verify", json={"pin": holder_id[-6:].translate(full_width)},
                          headers=counter)
    assert (r.status_code, r.json()["code"]) == (403, "pin_change_required")  # the right, initial PIN
