# ruff: noqa: F811 - the shared `world` fixture is imported, then named by each test
"""The e-card follows its physical card; the status list and the keys follow too."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import jwt
import pytest

from app.composition import build_issuance
from app.config import ConfigError, Settings
from app.security.jose import ECARD_TYP, verify
from app.security.keys import KeyStore
from app.services import MAX_TOKEN_LIFETIME
from tests.api.test_ecards import (
    World,
    jwks_verify,
    status_claims,
    status_of,
    world,  # noqa: F401 - the fixture, shared
)
from tests.api.test_qrcodes import change_card, holder_with_ecard
from tests.flow import card_row


async def state_and_status(world: World, headers: dict[str, str]) -> tuple[str, int]:
    me = (await world.client.get("/v1/ecards/me", headers=headers)).json()
    token = (await world.client.get("/v1/status-lists/1")).text
    return me["state"], status_of(await status_claims(world, token), me["status"]["idx"])


@pytest.mark.parametrize(("event", "columns", "expected"), [
    ("temporary_loss", {"loss_state": "temporary"}, ("suspended", 2)),
    ("overdue_loss", {"loss_state": "overdue"}, ("suspended", 2)),
    ("formal_loss", {"loss_state": "formal"}, ("invalid", 1)),
    ("cancelled", {"status": "cancelled"}, ("invalid", 1)),
])
async def test_card_events_change_the_ecard_and_its_status_entry(
        world: World, event: str, columns: dict[str, str], expected: tuple[str, int]) -> None:
    holder = await holder_with_ecard(world)
    assert await state_and_status(world, holder) == ("active", 0)
    await change_card(world, "A00000001", event, **columns)
    assert await state_and_status(world, holder) == expected


@pytest.mark.parametrize(("event", "columns"), [
    ("formal_loss", {"loss_state": "formal"}),
    ("cancelled", {"status": "cancelled"}),
    ("temporary_loss", {"loss_state": "temporary"}),
])
async def test_the_card_view_shows_the_ecard_state_the_status_list_has(
        world: World, event: str, columns: dict[str, str]) -> None:
    await world.channel("city-bureau", kind="counter", scopes=("card:manage",))
    counter = await world.token(None, "city-bureau", ("card:manage",))
    assert (await world.client.get("/v1/cards/A00000001", headers=counter)).json()["ecard_state"] is None
    holder = await holder_with_ecard(world)
    await change_card(world, "A00000001", event, **columns)
    state, _ = await state_and_status(world, holder)
    view = (await world.client.get("/v1/cards/A00000001", headers=counter)).json()
    assert view["ecard_state"] == state
    assert view["ecard_state"] in {"invalid", "suspended"}


async def test_unlocking_makes_a_suspended_ecard_active_again(world: World) -> None:
    holder = await holder_with_ecard(world)
    await change_card(world, "A00000001", "temporary_loss", loss_state="temporary")
    await change_card(world, "A00000001", "unlocked", loss_state="none")
    assert await state_and_status(world, holder) == ("active", 0)


async def test_replacement_invalidates_the_old_ecard_and_issues_a_fresh_one(world: World) -> None:
    holder = await holder_with_ecard(world)
    old = (await world.client.get("/v1/ecards/me", headers=holder)).json()
    await world.set_card("A00000001", status="replaced")
    await world.cards(card_row(1, card_no="B00000001"))
    await world.set_card("A00000001", replaced_by="B00000001")
    await change_card(world, "A00000001", "replaced", new_card_no="B00000001")
    fresh = (await world.client.get("/v1/ecards/me", headers=holder)).json()
    assert fresh["card_no"] == "B00000001"
    assert fresh["sign_no"] != old["sign_no"]
    assert fresh["state"] == "active"
    assert [c["client_id"] for c in fresh["channels"]] == ["demo-app"]
    assert fresh["status"]["idx"] != old["status"]["idx"]
    claims = await status_claims(world, (await world.client.get("/v1/status-lists/1")).text)
    assert (status_of(claims, old["status"]["idx"]), status_of(claims, fresh["status"]["idx"])) == (1, 0)


async def test_a_claim_after_formal_loss_is_refused(world: World) -> None:
    holder = await holder_with_ecard(world)
    await change_card(world, "A00000001", "formal_loss", loss_state="formal")
    world.pass_face(1, "A00000001")
    r = await world.client.post("/v1/ecards", headers=holder)
    assert r.json()["code"] == "card_not_usable"


async def test_status_indices_are_distinct(world: World) -> None:
    indices = set()
    for n, card_no in enumerate(("A00000001", "A00000002", "A00000003")):
        headers = await world.holder(f"1390000001{n}", card_no)
        indices.add((await world.client.post("/v1/ecards", headers=headers)).json()["ecard"]["status"]["idx"])
    assert len(indices) == 3


async def test_rotation_keeps_an_old_ecard_verifiable_and_signs_new_ones_with_the_new_key(
        world: World, settings: Settings) -> None:
    holder = await holder_with_ecard(world)
    old_token = (await world.client.post("/v1/ecards", headers=holder)).json()["token"]
    KeyStore(settings.keys_dir).rotate(world.clock.now())  # as `ecard keys rotate` does
    world.clock.advance(timedelta(minutes=30))
    kids = [k["kid"] for k in (await world.client.get("/.well-known/jwks.json")).json()["keys"]]
    assert len(kids) == 2
    await jwks_verify(world.client, old_token, world.clock.now())
    world.pass_face(1, "A00000001")
    new_token = (await world.client.post("/v1/ecards", headers=holder)).json()["token"]
    claims = verify(new_token, typ=ECARD_TYP, keys=world.services.issuance.keys, now=world.clock.now(),
                    max_token_lifetime=MAX_TOKEN_LIFETIME)
    assert claims["jti"] == (await world.client.get("/v1/ecards/me", headers=holder)).json()["sign_no"]
    assert jwt.get_unverified_header(new_token)["kid"] == kids[0]
    assert jwt.get_unverified_header(old_token)["kid"] == kids[1]


def test_prod_refuses_to_start_without_signing_keys(tmp_path: Path, world: World) -> None:
    prod = Settings(env="prod", keys_dir=tmp_path / "empty", database_url="sqlite:///x.db",
                    admin_token="x" * 40, issuer="https://ecard.example")
    with pytest.raises(ConfigError, match="signing keys"):
        build_issuance(prod, world.services.storage, world.clock, world.services.vault, world.face)
