# ruff: noqa: F811 - the shared `world` fixture is imported, then named by each test
"""The dynamic QR code (亮码): issued to an active e-card, verified once by a relying party."""

from __future__ import annotations

import asyncio
import base64
from datetime import timedelta
from typing import Any

import pytest
import segno
from cryptography.hazmat.primitives import serialization

from tests.api.test_ecards import (
    World,
    world,  # noqa: F401 - the fixture, shared
)
from tests.unit.test_keys import hs256_forgery


async def holder_with_ecard(world: World, card_no: str = "A00000001") -> dict[str, str]:
    headers = await world.holder("13900000001", card_no)
    assert (await world.client.post("/v1/ecards", headers=headers)).status_code == 201
    return headers


async def relying_party(world: World, client_id: str = "city-hospital",
                        scopes: tuple[str, ...] = ("ecard:verify",),
                        kind: str = "relying_party") -> dict[str, str]:
    await world.channel(client_id, kind=kind, scopes=scopes)
    return await world.token(None, client_id, scopes)


async def show(world: World, headers: dict[str, str], **body: Any) -> dict[str, Any]:
    r = await world.client.post("/v1/ecards/me/qrcodes", headers=headers, json=body or None)
    assert r.status_code == 201, r.text
    shown: dict[str, Any] = r.json()
    return shown


async def test_expires_in_is_60_at_issuance_on_a_running_clock(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    headers = await holder_with_ecard(world)
    frozen = world.clock.now

    def running() -> Any:  # every reading a millisecond later, as a real clock moves during a request
        world.clock.advance(timedelta(milliseconds=1))
        return frozen()

    monkeypatch.setattr(world.clock, "now", running)
    shown = await show(world, headers)
    assert shown["expires_in"] == 60


async def test_code_is_compact_expires_in_60s_and_comes_with_a_png(world: World) -> None:
    shown = await show(world, await holder_with_ecard(world))
    assert shown["expires_in"] == 60
    assert shown["image"].startswith("data:image/png;base64,")
    png = base64.b64decode(shown["image"].split(",", 1)[1])
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert segno.make_qr(shown["code"], error="m").version <= 3  # a small, quickly scanned symbol


async def test_svg_image_on_request(world: World) -> None:
    shown = await show(world, await holder_with_ecard(world), image_format="svg")
    assert shown["image"].startswith("data:image/svg+xml")


async def test_relying_party_learns_who_and_whether_usable_and_nothing_more(world: World) -> None:
    holder = await holder_with_ecard(world)
    me = (await world.client.get("/v1/ecards/me", headers=holder)).json()
    code = (await show(world, holder))["code"]
    r = await world.client.post("/v1/qrcodes/verify", json={"code": code},
                                headers=await relying_party(world))
    assert r.status_code == 200, r.text
    seen = r.json()
    assert seen["sign_no"] == me["sign_no"]
    assert seen["holder"] == me["holder"]
    assert seen["card_usable"] is True
    assert seen["ecard_state"] == "active"
    assert "card_no" not in seen  # beyond the scope ecard:verify


async def test_a_counter_with_card_manage_also_sees_the_card_number(world: World) -> None:
    code = (await show(world, await holder_with_ecard(world)))["code"]
    headers = await relying_party(world, "bureau-counter", ("ecard:verify", "card:manage"), "counter")
    seen = (await world.client.post("/v1/qrcodes/verify", json={"code": code}, headers=headers)).json()
    assert seen["card_no"] == "A00000001"


async def test_second_use_is_refused_as_used(world: World) -> None:
    code = (await show(world, await holder_with_ecard(world)))["code"]
    rp = await relying_party(world)
    assert (await world.client.post("/v1/qrcodes/verify", json={"code": code}, headers=rp)).status_code == 200
    r = await world.client.post("/v1/qrcodes/verify", json={"code": code}, headers=rp)
    assert r.status_code == 409
    assert r.json()["code"] == "qrcode_used"


async def test_an_expired_code_is_refused_as_expired(world: World) -> None:
    code = (await show(world, await holder_with_ecard(world)))["code"]
    world.clock.advance(timedelta(seconds=60))
    r = await world.client.post("/v1/qrcodes/verify", json={"code": code}, headers=await relying_party(world))
    assert r.status_code == 410
    assert r.json()["code"] == "qrcode_expired"


async def test_twenty_concurrent_verifications_give_exactly_one_success(world: World) -> None:
    code = (await show(world, await holder_with_ecard(world)))["code"]
    rp = await relying_party(world)
    responses = await asyncio.gather(*(
        world.client.post("/v1/qrcodes/verify", json={"code": code}, headers=rp) for _ in range(20)))
    assert sorted(r.status_code for r in responses) == [200] + [409] * 19
    assert {r.json()["code"] for r in responses if r.status_code == 409} == {"qrcode_used"}


async def test_forged_and_foreign_codes_are_invalid(world: World) -> None:
    holder = await holder_with_ecard(world)
    ecard_token = (await world.client.post("/v1/ecards", headers=holder)).json()["token"]
    code = (await show(world, holder))["code"]
    key = world.services.issuance.keys.active()
    public_pem = key.private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    forged = hs256_forgery({"jti": code, "exp": 4102444800}, public_pem, {"kid": key.kid, "typ": "JWT"})
    made_up = "EC1" + "A" * 32
    rp = await relying_party(world)
    for candidate in (forged, ecard_token, made_up, code[:-1] + ("A" if code[-1] != "A" else "B")):
        r = await world.client.post("/v1/qrcodes/verify", json={"code": candidate}, headers=rp)
        assert r.status_code == 400, candidate
        assert r.json()["code"] == "qrcode_invalid"
    # None of these attempts used the genuine code up.
    assert (await world.client.post("/v1/qrcodes/verify", json={"code": code}, headers=rp)).status_code == 200


async def test_a_holders_token_cannot_verify(world: World) -> None:
    holder = await holder_with_ecard(world)
    code = (await show(world, holder))["code"]
    r = await world.client.post("/v1/qrcodes/verify", json={"code": code}, headers=holder)
    assert r.status_code == 403
    assert r.json()["code"] == "channel_token_required"


async def test_an_app_with_a_verify_scope_is_not_a_relying_party(world: World) -> None:
    code = (await show(world, await holder_with_ecard(world)))["code"]
    headers = await relying_party(world, "some-app", ("ecard:verify",), "app")
    r = await world.client.post("/v1/qrcodes/verify", json={"code": code}, headers=headers)
    assert r.status_code == 403
    assert r.json()["code"] == "relying_party_required"


async def test_verify_needs_the_verify_scope(world: World) -> None:
    code = (await show(world, await holder_with_ecard(world)))["code"]
    headers = await relying_party(world, "bank-counter", ("card:manage",), "counter")
    r = await world.client.post("/v1/qrcodes/verify", json={"code": code}, headers=headers)
    assert r.status_code == 403
    assert r.json()["code"] == "insufficient_scope"


async def test_no_code_for_a_suspended_ecard(world: World) -> None:
    holder = await holder_with_ecard(world)
    await change_card(world, "A00000001", "temporary_loss", loss_state="temporary")
    r = await world.client.post("/v1/ecards/me/qrcodes", headers=holder)
    assert r.status_code == 409
    assert r.json()["code"] == "ecard_not_active"


async def test_a_code_shown_before_a_loss_reports_the_card_unusable(world: World) -> None:
    holder = await holder_with_ecard(world)
    code = (await show(world, holder))["code"]
    await change_card(world, "A00000001", "temporary_loss", loss_state="temporary")
    seen = (await world.client.post("/v1/qrcodes/verify", json={"code": code},
                                    headers=await relying_party(world))).json()
    assert seen["card_usable"] is False
    assert seen["ecard_state"] == "suspended"


async def change_card(world: World, card_no: str, event: str, new_card_no: str | None = None,
                      **columns: str) -> None:
    """What the card lifecycle does: update the card and tell the e-card, in one transaction."""
    if columns:
        await world.set_card(card_no, **columns)
    async with world.services.storage.unit_of_work() as uow:
        await world.services.issuance.ecards.card_changed(
            uow, card_no, event, at=world.clock.now(), new_card_no=new_card_no)  # type: ignore[arg-type]


@pytest.mark.parametrize("malformed", [{"code": ""}, {"code": 5}, {}])
async def test_malformed_verify_bodies_are_400(world: World, malformed: dict[str, Any]) -> None:
    r = await world.client.post("/v1/qrcodes/verify", json=malformed, headers=await relying_party(world))
    assert r.status_code == 400
    assert r.json()["code"] == "invalid_request"


async def test_a_qr_code_response_is_never_cached(world: World) -> None:
    headers = await holder_with_ecard(world)
    r = await world.client.post("/v1/ecards/me/qrcodes", headers=headers)
    assert r.status_code == 201
    assert r.headers["cache-control"] == "no-store"
