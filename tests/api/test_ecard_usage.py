# ruff: noqa: F811 - the shared `world` fixture is imported, then named by each test
"""Usage history (SPEC §8 "Holder self-service"): every QR verification, claim, channel link and
unlink of the holder's e-card, newest first, a page at a time."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from tests.api.test_ecards import (
    World,
    world,  # noqa: F401 - the fixture, shared
)
from tests.api.test_qrcodes import holder_with_ecard, relying_party, show


async def usage(world: World, headers: dict[str, str], **params: Any) -> dict[str, Any]:
    r = await world.client.get("/v1/ecards/me/usage", headers=headers, params=params)
    assert r.status_code == 200, r.text
    page: dict[str, Any] = r.json()
    return page


async def verified(world: World, headers: dict[str, str], times: int = 1) -> None:
    """`times` QR codes shown by the holder and verified by a hospital."""
    hospital = await relying_party(world)
    for _ in range(times):
        world.clock.advance(timedelta(seconds=10))
        code = (await show(world, headers))["code"]
        r = await world.client.post("/v1/qrcodes/verify", json={"code": code}, headers=hospital)
        assert r.status_code == 200, r.text


async def test_a_qr_verification_names_the_relying_party_and_its_kind(world: World) -> None:
    headers = await holder_with_ecard(world)
    await verified(world, headers)
    newest = (await usage(world, headers))["entries"][0]
    assert newest == {"kind": "qrcode_verified", "at": "2026-03-02T09:00:10Z",
                      "party": {"client_id": "city-hospital", "name": "city-hospital", "kind": "relying_party"}}


async def test_claim_link_and_unlink_are_listed_newest_first(world: World) -> None:
    account_id = await world.account("13900000001")
    world.pass_face(account_id, "A00000001")
    demo = await world.token(account_id, "demo-app")
    await world.client.post("/v1/ecards", headers=demo)
    world.clock.advance(timedelta(minutes=1))
    await world.client.post("/v1/ecards", headers=await world.token(account_id, "bank-app"))
    world.clock.advance(timedelta(minutes=1))
    await world.client.post("/v1/ecards", headers=demo)  # claimed again: nothing new to link
    world.clock.advance(timedelta(minutes=1))
    assert (await world.client.delete("/v1/ecards/me/channels/bank-app", headers=demo)).status_code == 204
    entries = (await usage(world, demo))["entries"]
    assert [(e["kind"], e["party"]["client_id"]) for e in entries] == [
        ("channel_unlinked", "bank-app"), ("claimed", "demo-app"),
        ("channel_linked", "bank-app"), ("claimed", "bank-app"),
        ("channel_linked", "demo-app"), ("claimed", "demo-app"),
    ]
    assert [e["at"] for e in entries] == sorted((e["at"] for e in entries), reverse=True)


async def test_pages_follow_the_cursor_to_the_end(world: World) -> None:
    headers = await holder_with_ecard(world)  # claimed, channel_linked
    await verified(world, headers, times=3)
    first = await usage(world, headers, limit=2)
    second = await usage(world, headers, limit=2, cursor=first["next_cursor"])
    third = await usage(world, headers, limit=2, cursor=second["next_cursor"])
    kinds = [e["kind"] for page in (first, second, third) for e in page["entries"]]
    assert kinds == ["qrcode_verified"] * 3 + ["channel_linked", "claimed"]
    assert "next_cursor" not in third
    assert len((await usage(world, headers))["entries"]) == 5  # 20 by default


@pytest.mark.parametrize("cursor", ["nonsense", "MjAyNi0wMy0wMlQwOTowMDowMCswMDowMHwx!", "eA", "x" * 97])
async def test_a_cursor_not_given_by_the_service_is_400(world: World, cursor: str) -> None:
    headers = await holder_with_ecard(world)
    r = await world.client.get("/v1/ecards/me/usage", headers=headers, params={"cursor": cursor})
    assert r.status_code == 400
    assert r.json()["code"] in {"cursor_invalid", "invalid_request"}


async def test_a_forged_cursor_text_is_cursor_invalid(world: World) -> None:
    headers = await holder_with_ecard(world)
    r = await world.client.get("/v1/ecards/me/usage", headers=headers, params={"cursor": "bm90LWEtY3Vyc29y"})
    assert r.status_code == 400
    assert r.json()["code"] == "cursor_invalid"


@pytest.mark.parametrize("limit", ["0", "101", "-1", "ten"])
async def test_a_limit_outside_1_to_100_is_400(world: World, limit: str) -> None:
    headers = await holder_with_ecard(world)
    r = await world.client.get("/v1/ecards/me/usage", headers=headers, params={"limit": limit})
    assert r.status_code == 400
    assert r.json()["code"] == "invalid_request"


async def test_another_holder_sees_only_their_own_usage(world: World) -> None:
    mine = await holder_with_ecard(world)
    await verified(world, mine)
    theirs = await world.holder("13900000002", "A00000002")
    assert (await world.client.post("/v1/ecards", headers=theirs)).status_code == 201
    entries = (await usage(world, theirs))["entries"]
    assert [e["kind"] for e in entries] == ["channel_linked", "claimed"]


async def test_usage_without_an_ecard_is_404(world: World) -> None:
    r = await world.client.get("/v1/ecards/me/usage", headers=await world.holder("13900000001", "A00000001"))
    assert r.status_code == 404
    assert r.json()["code"] == "ecard_not_found"


async def test_usage_needs_the_read_scope(world: World) -> None:
    await holder_with_ecard(world)
    async with world.services.storage.unit_of_work() as uow:
        account = await uow.accounts.by_phone("13900000001")
    assert account is not None
    headers = await world.token(account.id, "demo-app", ("ecard:claim", "ecard:qrcode"))
    r = await world.client.get("/v1/ecards/me/usage", headers=headers)
    assert r.status_code == 403
    assert r.json()["code"] == "insufficient_scope"


async def test_a_relying_party_token_cannot_read_usage(world: World) -> None:
    await holder_with_ecard(world)
    r = await world.client.get("/v1/ecards/me/usage",
                               headers=await relying_party(world, scopes=("ecard:verify", "ecard:read")))
    assert r.status_code == 403
    assert r.json()["code"] == "delegated_token_required"
