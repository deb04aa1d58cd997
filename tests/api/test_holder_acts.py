# ruff: noqa: F811 - the shared `world` fixture is imported, then named by each test
"""The holder's own acts from an app (SPEC §8 "Holder self-service", scope `ecard:manage`): report
the card temporarily lost, lift that report, cancel the e-card — each with a fresh face session."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest

from tests.api.test_ecard_lifecycle import state_and_status
from tests.api.test_ecards import (
    HOLDER_SCOPES,
    World,
    world,  # noqa: F401 - the fixture, shared
)
from tests.api.test_qrcodes import relying_party, show
from tests.flow import card_row

MANAGE_SCOPES = (*HOLDER_SCOPES, "ecard:manage")
CARD = "A00000001"


class Holder:
    def __init__(self, world: World, account_id: int, headers: dict[str, str]) -> None:
        self.world = world
        self.account_id = account_id
        self.headers = headers

    async def face(self, card_no: str = CARD, **kwargs: Any) -> str:
        return await self.world.passed_session(self.account_id, card_no, **kwargs)

    async def report_loss(self, session_id: str, **body: Any) -> Any:
        return await self.world.client.post("/v1/ecards/me/loss-reports", headers=self.headers,
                                            json={"face_session_id": session_id, **body})

    async def unlock(self, session_id: str) -> Any:
        return await self.world.client.post("/v1/ecards/me/unlock", headers=self.headers,
                                            json={"face_session_id": session_id})

    async def cancel(self, session_id: str) -> Any:
        return await self.world.client.delete("/v1/ecards/me", headers=self.headers,
                                              params={"face_session_id": session_id})


async def holder_with_ecard(world: World, phone: str = "13900000001", card_no: str = CARD,
                            scopes: tuple[str, ...] = MANAGE_SCOPES) -> Holder:
    account_id = await world.account(phone)
    world.pass_face(account_id, card_no)
    headers = await world.token(account_id, "demo-app", scopes)
    assert (await world.client.post("/v1/ecards", headers=headers)).status_code == 201
    return Holder(world, account_id, headers)


async def counter(world: World) -> dict[str, str]:
    async with world.services.storage.unit_of_work() as uow:
        known = await uow.channels.get("city-bureau") is not None
    if not known:
        await world.channel("city-bureau", kind="counter", scopes=("card:manage",))
    return await world.token(None, "city-bureau", ("card:manage",))


async def card_events(world: World, card_no: str = CARD) -> list[dict[str, Any]]:
    r = await world.client.get(f"/v1/cards/{card_no}/events", headers=await counter(world))
    assert r.status_code == 200, r.text
    events: list[dict[str, Any]] = r.json()
    return events


async def usage_kinds(holder: Holder) -> list[str]:
    r = await holder.world.client.get("/v1/ecards/me/usage", headers=holder.headers)
    return [entry["kind"] for entry in r.json()["entries"]]


def problem(r: Any, status: int, code: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    body: dict[str, Any] = r.json()
    assert body["code"] == code, body
    return body


# -- loss report and unlock ------------------------------------------------------------------------

async def test_a_temporary_loss_report_suspends_the_ecard_and_the_status_list_says_so_at_once(
        world: World) -> None:
    holder = await holder_with_ecard(world)
    assert await state_and_status(world, holder.headers) == ("active", 0)
    r = await holder.report_loss(await holder.face())
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "suspended"
    assert await state_and_status(world, holder.headers) == ("suspended", 2)


async def test_a_code_shown_before_the_report_verifies_as_not_usable_after_it(world: World) -> None:
    holder = await holder_with_ecard(world)
    code = (await show(world, holder.headers))["code"]
    assert (await holder.report_loss(await holder.face())).status_code == 200
    r = await world.client.post("/v1/qrcodes/verify", json={"code": code}, headers=await relying_party(world))
    assert r.status_code == 200, r.text
    assert (r.json()["ecard_state"], r.json()["card_usable"]) == ("suspended", False)
    problem(await world.client.post("/v1/ecards/me/qrcodes", headers=holder.headers), 409, "ecard_not_active")


async def test_the_card_history_names_the_app_as_the_channel_that_acted(world: World) -> None:
    holder = await holder_with_ecard(world)
    await holder.report_loss(await holder.face())
    await holder.unlock(await holder.face())
    acts = [(e["action"], e["actor"], e["after"]["loss"]) for e in await card_events(world)]
    assert acts[-2:] == [("loss_reported", "demo-app", "temporary"), ("unlocked", "demo-app", "none")]


async def test_unlocking_makes_the_ecard_active_again_and_both_acts_are_in_the_usage_history(
        world: World) -> None:
    holder = await holder_with_ecard(world)
    await holder.report_loss(await holder.face())
    world.clock.advance(timedelta(minutes=1))
    r = await holder.unlock(await holder.face())
    assert r.status_code == 200, r.text
    assert await state_and_status(world, holder.headers) == ("active", 0)
    assert (await usage_kinds(holder))[:2] == ["unlocked", "loss_reported"]


async def test_the_holder_lifts_a_temporary_report_made_at_the_counter(world: World) -> None:
    holder = await holder_with_ecard(world)
    r = await world.client.post(f"/v1/cards/{CARD}/loss-reports", json={"kind": "temporary"},
                                headers=await counter(world))
    assert r.status_code == 200, r.text
    assert (await holder.unlock(await holder.face())).json()["state"] == "active"


async def test_a_formal_loss_report_stays_with_the_counter(world: World) -> None:
    holder = await holder_with_ecard(world)
    session = await holder.face()
    problem(await holder.report_loss(session, kind="formal"), 409, "formal_loss_at_counter")
    assert await state_and_status(world, holder.headers) == ("active", 0)
    assert (await holder.report_loss(session)).status_code == 200  # the session was not spent


async def test_a_loss_by_the_300_day_rule_is_unlocked_at_the_counter(world: World) -> None:
    holder = await holder_with_ecard(world)
    await world.set_card(CARD, loss_state="overdue")
    body = problem(await holder.unlock(await holder.face()), 409, "unlock_at_counter")
    assert body["loss_state"] == "overdue"


async def test_a_formal_loss_cannot_be_lifted_and_its_ecard_cannot_be_managed(world: World) -> None:
    holder = await holder_with_ecard(world)
    bureau = await counter(world)
    r = await world.client.post(f"/v1/cards/{CARD}/loss-reports", json={"kind": "formal"}, headers=bureau)
    assert r.status_code == 200, r.text
    problem(await holder.unlock(await holder.face()), 409, "ecard_invalid")
    problem(await holder.report_loss(await holder.face()), 409, "ecard_invalid")


async def test_unlocking_a_card_not_reported_lost_is_refused_and_spends_nothing(world: World) -> None:
    holder = await holder_with_ecard(world)
    session = await holder.face()
    problem(await holder.unlock(session), 409, "not_reported_lost")
    assert (await holder.report_loss(session)).status_code == 200
    problem(await holder.report_loss(await holder.face()), 409, "already_reported_lost")


# -- the face session as proof ---------------------------------------------------------------------

async def test_a_face_session_is_required(world: World) -> None:
    holder = await holder_with_ecard(world)
    body = problem(await holder.report_loss("no-such-session"), 403, "face_verification_required")
    assert body["reason"] == "unknown_session"
    r = await world.client.post("/v1/ecards/me/loss-reports", headers=holder.headers, json={})
    assert r.status_code == 400


async def test_a_session_older_than_10_minutes_proves_nothing(world: World) -> None:
    holder = await holder_with_ecard(world)
    stale = await holder.face(ago=timedelta(minutes=10, seconds=1))
    assert problem(await holder.report_loss(stale), 403, "face_verification_required")["reason"] == "expired"
    fresh = await holder.face(ago=timedelta(minutes=9, seconds=59))
    assert (await holder.report_loss(fresh)).status_code == 200


async def test_a_session_of_another_card_or_another_account_proves_nothing(world: World) -> None:
    holder = await holder_with_ecard(world)
    other_card = await holder.face(card_no="A00000003")
    assert problem(await holder.report_loss(other_card), 403,
                   "face_verification_required")["reason"] == "other_card"
    stranger = await holder_with_ecard(world, phone="13900000003", card_no="A00000003")
    theirs = await stranger.face(card_no="A00000003")
    assert problem(await holder.report_loss(theirs), 403,
                   "face_verification_required")["reason"] == "unknown_session"


async def test_a_session_that_did_not_pass_proves_nothing(world: World) -> None:
    holder = await holder_with_ecard(world)
    session = await holder.face()
    async with world.services.storage.unit_of_work() as uow:
        await uow.connection.execute(  # type: ignore[attr-defined]
            "UPDATE face_sessions SET status = 'failed' WHERE id = ?", (session,))
    assert problem(await holder.report_loss(session), 403, "face_verification_required")["reason"] == "not_passed"


async def test_one_face_session_proves_one_act_and_a_retry_of_it_is_answered_again(world: World) -> None:
    holder = await holder_with_ecard(world)
    session = await holder.face()
    first = await holder.report_loss(session)
    again = await holder.report_loss(session)
    assert (first.status_code, again.status_code) == (200, 200)
    assert again.json()["state"] == "suspended"
    assert [e["action"] for e in await card_events(world)].count("loss_reported") == 1
    problem(await holder.unlock(session), 409, "face_session_used")
    problem(await holder.cancel(session), 409, "face_session_used")


async def test_a_retry_after_the_card_moved_on_is_refused_not_answered_as_done(world: World) -> None:
    holder = await holder_with_ecard(world)
    reported_with = await holder.face()
    assert (await holder.report_loss(reported_with)).status_code == 200
    assert (await holder.unlock(await holder.face())).json()["state"] == "active"
    problem(await holder.report_loss(reported_with), 409, "face_session_used")
    assert (await state_and_status(world, holder.headers))[0] == "active"


async def test_a_claim_does_not_spend_the_session_it_relied_on(world: World) -> None:
    holder = await holder_with_ecard(world)
    session = await holder.face()
    # The claim above and a claim through another channel rely on any recent pass; the act spends it.
    assert (await holder.report_loss(session)).status_code == 200


async def test_racing_reports_with_two_sessions_report_the_card_lost_once(world: World) -> None:
    holder = await holder_with_ecard(world)
    sessions = [await holder.face(), await holder.face()]
    answers = await asyncio.gather(*(holder.report_loss(s) for s in sessions))
    assert sorted(r.status_code for r in answers) == [200, 409]
    assert [e["action"] for e in await card_events(world)].count("loss_reported") == 1


# -- cancelling the e-card -------------------------------------------------------------------------

async def test_cancelling_makes_the_ecard_invalid_at_once_and_leaves_the_card_alone(world: World) -> None:
    holder = await holder_with_ecard(world)
    code = (await show(world, holder.headers))["code"]
    r = await holder.cancel(await holder.face())
    assert r.status_code == 204, r.text
    assert await state_and_status(world, holder.headers) == ("invalid", 1)
    verified = await world.client.post("/v1/qrcodes/verify", json={"code": code},
                                       headers=await relying_party(world))
    assert (verified.json()["ecard_state"], verified.json()["card_usable"]) == ("invalid", False)
    card = (await world.client.get(f"/v1/cards/{CARD}", headers=await counter(world))).json()
    assert (card["status"], card["loss"]["state"], card["ecard_state"]) == ("normal", "none", "invalid")
    last = (await card_events(world))[-1]
    assert (last["action"], last["actor"]) == ("ecard_cancelled", "demo-app")
    assert (await usage_kinds(holder))[:2] == ["qrcode_verified", "cancelled"]


async def test_a_claim_after_cancelling_issues_a_new_ecard(world: World) -> None:
    holder = await holder_with_ecard(world)
    old = (await world.client.get("/v1/ecards/me", headers=holder.headers)).json()["sign_no"]
    assert (await holder.cancel(await holder.face())).status_code == 204
    world.pass_face(holder.account_id, CARD)
    r = await world.client.post("/v1/ecards", headers=holder.headers)
    assert r.status_code == 201, r.text
    assert r.json()["ecard"]["sign_no"] != old
    assert r.json()["ecard"]["state"] == "active"


@pytest.mark.parametrize("formal_loss_first", [True, False])
async def test_a_replacement_card_does_not_bring_back_an_ecard_its_holder_cancelled(
        world: World, formal_loss_first: bool) -> None:
    holder = await holder_with_ecard(world)
    old = (await world.client.get("/v1/ecards/me", headers=holder.headers)).json()["sign_no"]
    assert (await holder.cancel(await holder.face())).status_code == 204
    bureau = await counter(world)
    if formal_loss_first:
        r = await world.client.post(f"/v1/cards/{CARD}/loss-reports", json={"kind": "formal"}, headers=bureau)
        assert r.status_code == 200, r.text
    r = await world.client.post(f"/v1/cards/{CARD}/replacements", headers=bureau,
                                json={"holder_id_number": card_row(1)["id_number"]})
    assert r.status_code == 201, r.text
    new_card = r.json()["new_card"]
    assert new_card["ecard_state"] is None
    me = (await world.client.get("/v1/ecards/me", headers=holder.headers)).json()
    assert (me["sign_no"], me["state"]) == (old, "invalid")
    world.pass_face(holder.account_id, new_card["card_no"])
    claimed = await world.client.post("/v1/ecards", headers=holder.headers)
    assert claimed.status_code == 201, claimed.text
    assert claimed.json()["ecard"]["card_no"] == new_card["card_no"]


async def test_cancelling_again_answers_the_same_with_the_same_session_and_409_otherwise(
        world: World) -> None:
    holder = await holder_with_ecard(world)
    session = await holder.face()
    assert (await holder.cancel(session)).status_code == 204
    assert (await holder.cancel(session)).status_code == 204
    problem(await holder.cancel(await holder.face()), 409, "ecard_invalid")


async def test_a_suspended_ecard_can_be_cancelled(world: World) -> None:
    holder = await holder_with_ecard(world)
    await holder.report_loss(await holder.face())
    assert (await holder.cancel(await holder.face())).status_code == 204
    assert (await state_and_status(world, holder.headers))[0] == "invalid"


async def test_cancelling_needs_the_face_session_parameter(world: World) -> None:
    holder = await holder_with_ecard(world)
    r = await world.client.delete("/v1/ecards/me", headers=holder.headers)
    assert r.status_code == 400
    problem(await holder.cancel("nope"), 403, "face_verification_required")
    assert (await state_and_status(world, holder.headers))[0] == "active"


# -- who may act -----------------------------------------------------------------------------------

@pytest.mark.parametrize("act", ["report_loss", "unlock", "cancel"])
async def test_a_token_without_ecard_manage_is_refused(world: World, act: str) -> None:
    holder = await holder_with_ecard(world, scopes=HOLDER_SCOPES)
    body = problem(await getattr(holder, act)(await holder.face()), 403, "insufficient_scope")
    assert body["required_scope"] == "ecard:manage"


@pytest.mark.parametrize("act", ["report_loss", "unlock", "cancel"])
async def test_a_relying_party_token_is_refused(world: World, act: str) -> None:
    holder = await holder_with_ecard(world)
    holder.headers = await relying_party(world, scopes=("ecard:verify", "ecard:manage"))
    problem(await getattr(holder, act)(await holder.face()), 403, "delegated_token_required")


async def test_an_account_without_an_ecard_has_nothing_to_manage(world: World) -> None:
    account_id = await world.account("13900000009")
    holder = Holder(world, account_id, await world.token(account_id, "demo-app", MANAGE_SCOPES))
    problem(await holder.report_loss(await holder.face()), 404, "ecard_not_found")
    problem(await holder.cancel(await holder.face()), 404, "ecard_not_found")


@pytest.mark.parametrize(("purpose", "scopes", "status"), [
    ("manage", ("ecard:read", "ecard:manage"), 201),
    ("claim", ("ecard:read", "ecard:claim"), 201),
    ("manage", ("ecard:read", "ecard:claim"), 403),
    ("claim", ("ecard:read", "ecard:manage"), 403),
])
async def test_the_check_before_an_act_is_a_real_name_check_for_the_purpose_manage(
        world: World, purpose: str, scopes: tuple[str, ...], status: int) -> None:
    account_id = await world.account("13900000007")
    headers = await world.token(account_id, "demo-app", scopes)
    row = card_row(1)
    r = await world.client.post("/v1/realname", headers=headers,
                                json={"name": row["name"], "id_number": row["id_number"], "purpose": purpose})
    assert r.status_code == status, r.text
    if status == 403:
        assert (r.json()["code"], r.json()["required_scope"]) == ("insufficient_scope", f"ecard:{purpose}")
        return
    started = await world.client.post("/v1/face/sessions", headers=headers,
                                      json={"realname_id": r.json()["realname_id"], "biometric_consent": True})
    assert started.status_code == 201, started.text


async def test_a_card_reported_lost_passes_the_check_before_an_act_but_not_before_a_claim(
        world: World) -> None:
    holder = await holder_with_ecard(world)
    await holder.report_loss(await holder.face())
    row = card_row(1)
    for purpose, status in (("claim", 409), ("manage", 201)):
        r = await world.client.post("/v1/realname", headers=holder.headers, json={
            "name": row["name"], "id_number": row["id_number"], "purpose": purpose})
        assert r.status_code == status, r.text
    await world.set_card(CARD, status="cancelled")
    r = await world.client.post("/v1/realname", headers=holder.headers, json={
        "name": row["name"], "id_number": row["id_number"], "purpose": "manage"})
    problem(r, 409, "card_not_usable")


async def test_options_on_the_ecard_names_both_its_methods(world: World) -> None:
    r = await world.client.options("/v1/ecards/me")
    assert r.status_code == 204
    assert r.headers["allow"] == "DELETE, GET, OPTIONS"


@pytest.mark.parametrize(("send", "detail", "fields"), [
    ({"content": b""}, "this operation takes a JSON body", []),
    ({"json": {}}, "Object missing required field `face_session_id`", ["face_session_id"]),
    ({"json": {"face_session_id": 5}}, "Expected `str`, got `int`", ["face_session_id"]),
    ({"content": b"null", "headers": {"content-type": "application/json"}}, "Expected `object`, got `null`", []),
    ({"json": []}, "Expected `object`, got `array`", []),
])
async def test_a_bad_body_names_what_is_missing_or_wrong(
        world: World, send: dict[str, Any], detail: str, fields: list[str]) -> None:
    holder = await holder_with_ecard(world)
    headers = {**holder.headers, **send.pop("headers", {})}
    r = await world.client.post("/v1/ecards/me/loss-reports", headers=headers, **send)
    body = problem(r, 400, "invalid_request")
    assert (body["detail"], body["fields"]) == (detail, fields)


async def test_a_cancellation_without_its_face_session_names_the_parameter(world: World) -> None:
    holder = await holder_with_ecard(world)
    body = problem(await world.client.delete("/v1/ecards/me", headers=holder.headers), 400, "invalid_request")
    assert body["fields"] == ["face_session_id"]
