# ruff: noqa: F811 - the shared `world` fixture is imported, then named by each test
"""Renewal (SPEC §8 "Holder self-service"): a fresh token for the same e-card while it is active."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.api.test_ecards import (
    World,
    jwks_verify,
    world,  # noqa: F401 - the fixture, shared
)
from tests.api.test_qrcodes import change_card, holder_with_ecard, relying_party


async def test_renewal_signs_the_same_ecard_with_a_later_expiry(world: World) -> None:
    account_id = await world.account("13900000001")
    world.pass_face(account_id, "A00000001")
    claimed = (await world.client.post("/v1/ecards", headers=await world.token(account_id, "demo-app"))).json()
    world.clock.advance(timedelta(days=25))
    r = await world.client.post("/v1/ecards/me/renewal", headers=await world.token(account_id, "demo-app"))
    assert r.status_code == 200, r.text
    assert r.headers["cache-control"] == "no-store"
    body = r.json()
    first = await jwks_verify(world.client, claimed["token"], world.clock.now() - timedelta(days=25))
    fresh = await jwks_verify(world.client, body["token"], world.clock.now())
    assert fresh["jti"] == first["jti"] == body["ecard"]["sign_no"]
    assert fresh["exp"] - first["exp"] == timedelta(days=25).total_seconds()
    assert body["expires_in"] == timedelta(days=30).total_seconds()


async def test_renewal_moves_the_ecards_validity_and_is_audited(world: World) -> None:
    headers = await holder_with_ecard(world)
    before = (await world.client.get("/v1/ecards/me", headers=headers)).json()
    world.clock.advance(timedelta(minutes=50))
    renewed = (await world.client.post("/v1/ecards/me/renewal", headers=headers)).json()
    after = (await world.client.get("/v1/ecards/me", headers=headers)).json()
    assert after["valid_until"] == renewed["ecard"]["valid_until"] > before["valid_until"]
    assert after["sign_no"] == before["sign_no"]
    async with world.services.storage.unit_of_work() as uow:
        entries = await uow.audit.entries(subject=after["sign_no"], action_prefix="ecard.renewed")
    assert [e.actor for e in entries] == ["demo-app"]


@pytest.mark.parametrize(("event", "columns", "state"), [
    ("temporary_loss", {"loss_state": "temporary"}, "suspended"),
    ("formal_loss", {"loss_state": "formal"}, "invalid"),
])
async def test_a_suspended_or_invalid_ecard_is_not_renewed(
        world: World, event: str, columns: dict[str, str], state: str) -> None:
    headers = await holder_with_ecard(world)
    await change_card(world, "A00000001", event, **columns)
    r = await world.client.post("/v1/ecards/me/renewal", headers=headers)
    assert r.status_code == 409
    assert r.json()["code"] == "ecard_not_active"
    assert r.json()["state"] == state


async def test_renewal_without_an_ecard_is_404(world: World) -> None:
    headers = await world.holder("13900000001", "A00000001")
    r = await world.client.post("/v1/ecards/me/renewal", headers=headers)
    assert r.status_code == 404
    assert r.json()["code"] == "ecard_not_found"


async def test_renewal_needs_the_read_scope(world: World) -> None:
    await holder_with_ecard(world)
    async with world.services.storage.unit_of_work() as uow:
        account = await uow.accounts.by_phone("13900000001")
    assert account is not None
    headers = await world.token(account.id, "demo-app", ("ecard:claim", "ecard:qrcode"))
    r = await world.client.post("/v1/ecards/me/renewal", headers=headers)
    assert r.status_code == 403
    assert r.json()["code"] == "insufficient_scope"


async def test_a_relying_party_token_cannot_renew(world: World) -> None:
    await holder_with_ecard(world)
    r = await world.client.post("/v1/ecards/me/renewal",
                                headers=await relying_party(world, scopes=("ecard:verify", "ecard:read")))
    assert r.status_code == 403
    assert r.json()["code"] == "delegated_token_required"
