# ruff: noqa: F811 - the shared `world` fixture is imported, then named by each test
"""The family service (SPEC §8 "Family service", 亲情服务): a holder invites a relative, the relative
accepts with a face session, both see the link, the holder shows the relative's card, either ends
the link, and it ends by itself when either e-card becomes invalid."""

from __future__ import annotations

import asyncio
import dataclasses
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest

from app.domain.family import INVITATIONS_PER_DAY, MAX_LINKS
from app.domain.idnumber import mask_id_number
from tests.api.test_ecards import (
    World,
    world,  # noqa: F401 - the fixture, shared
)
from tests.api.test_qrcodes import relying_party
from tests.conftest import Servers
from tests.flow import card_row

SCOPES = ("ecard:claim", "ecard:read", "ecard:qrcode", "ecard:manage")


@dataclasses.dataclass
class Person:
    """A holder of card A0000000n with a claimed e-card and a channel token of every holder scope."""

    n: int
    account_id: int
    headers: dict[str, str]
    client_id: str = "demo-app"

    @property
    def card_no(self) -> str:
        return f"A{self.n:08d}"

    @property
    def masked(self) -> dict[str, str]:
        """How the other side of a link sees this person."""
        row = card_row(self.n)
        return {"name": row["name"][0] + "*", "id_number": mask_id_number(row["id_number"])}

    async def later(self, world: World) -> Person:
        """The same person with a fresh channel token, after the clock has moved past the first."""
        return dataclasses.replace(self, headers=await world.token(self.account_id, self.client_id, SCOPES))


async def person(world: World, n: int, client_id: str = "demo-app") -> Person:
    account_id = await world.account(f"139{n:08d}")
    world.pass_face(account_id, f"A{n:08d}")
    headers = await world.token(account_id, client_id, SCOPES)
    r = await world.client.post("/v1/ecards", headers=headers)
    assert r.status_code == 201, r.text
    return Person(n, account_id, headers, client_id)


async def more_cards(world: World, count: int) -> None:
    """Cards A00000004 onwards (the world has 1 to 3)."""
    await world.cards(*(card_row(n) for n in range(4, 4 + count)))


async def invite(world: World, holder: Person, relation: str = "child") -> str:
    r = await world.client.post("/v1/ecards/me/family/invitations", json={"relation": relation},
                                headers=holder.headers)
    assert r.status_code == 201, r.text
    code: str = r.json()["invitation_code"]
    return code


async def accept(world: World, relative: Person, code: str, session: str | None = None) -> Any:
    session = session or await world.passed_session(relative.account_id, relative.card_no)
    return await world.client.post(f"/v1/family/invitations/{code}/accept",
                                   json={"face_session_id": session}, headers=relative.headers)


async def linked(world: World, holder: Person, relative: Person, relation: str = "child") -> str:
    """The link made by `holder` inviting and `relative` accepting; its id."""
    r = await accept(world, relative, await invite(world, holder, relation))
    assert r.status_code == 201, r.text
    link_id: str = r.json()["link_id"]
    return link_id


async def family(world: World, who: Person) -> list[dict[str, Any]]:
    r = await world.client.get("/v1/ecards/me/family", headers=who.headers)
    assert r.status_code == 200, r.text
    links: list[dict[str, Any]] = r.json()["links"]
    return links


async def show(world: World, holder: Person, link_id: str) -> Any:
    return await world.client.post(f"/v1/ecards/me/family/{link_id}/qrcodes", headers=holder.headers)


async def usage(world: World, who: Person) -> list[dict[str, Any]]:
    r = await world.client.get("/v1/ecards/me/usage", headers=who.headers)
    assert r.status_code == 200, r.text
    entries: list[dict[str, Any]] = r.json()["entries"]
    return entries


async def formal_loss(world: World, card_no: str) -> None:
    """The card reported lost for good at a bureau counter."""
    await world.channel("city-bureau", kind="counter", scopes=("card:manage",))
    counter = await world.token(None, "city-bureau", ("card:manage",))
    r = await world.client.post(f"/v1/cards/{card_no}/loss-reports", json={"kind": "formal"}, headers=counter)
    assert r.status_code == 200, r.text


# --- invite, accept, list ----------------------------------------------------------------------------

async def test_an_invitation_is_a_single_use_code_valid_for_a_day(world: World) -> None:
    holder = await person(world, 1)
    r = await world.client.post("/v1/ecards/me/family/invitations", json={"relation": "parent"},
                                headers=holder.headers)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["invitation_code"].startswith("FI1")
    assert len(body["invitation_code"]) == 35
    assert (body["relation"], body["expires_in"]) == ("parent", 86400)
    assert r.headers["cache-control"] == "no-store"


async def test_the_accepted_link_is_listed_on_both_sides_with_the_other_person_masked(world: World) -> None:
    holder, relative = await person(world, 1), await person(world, 2)
    code = await invite(world, holder, "parent")
    r = await accept(world, relative, code)
    assert r.status_code == 201, r.text
    made = r.json()
    assert made == {"link_id": made["link_id"], "role": "relative", "relation": "parent", "member": holder.masked,
                    "member_ecard_state": "active", "created_at": "2026-03-02T09:00:00Z"}
    assert await family(world, relative) == [made]
    assert await family(world, holder) == [{**made, "role": "holder", "member": relative.masked}]
    assert relative.masked["id_number"].startswith("440305********")


async def test_a_relation_outside_the_list_is_refused(world: World) -> None:
    holder = await person(world, 1)
    r = await world.client.post("/v1/ecards/me/family/invitations", json={"relation": "neighbour"},
                                headers=holder.headers)
    assert r.status_code == 400
    assert (r.json()["code"], r.json()["fields"]) == ("invalid_request", ["relation"])


async def test_an_acceptance_sent_again_with_the_same_face_session_answers_the_same_link(world: World) -> None:
    holder, relative = await person(world, 1), await person(world, 2)
    code = await invite(world, holder)
    session = await world.passed_session(relative.account_id, relative.card_no)
    first = await accept(world, relative, code, session)
    world.clock.advance(timedelta(minutes=11))  # past the face window: a retry is still recognised
    again = await accept(world, relative, code, session)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    assert len(await family(world, holder)) == 1


async def test_a_holder_without_an_ecard_cannot_invite(world: World) -> None:
    account_id = await world.account("13900000001")
    r = await world.client.post("/v1/ecards/me/family/invitations", json={"relation": "child"},
                                headers=await world.token(account_id, "demo-app", SCOPES))
    assert (r.status_code, r.json()["code"]) == (404, "ecard_not_found")


# --- the family QR code ----------------------------------------------------------------------------

async def test_the_holder_shows_the_relatives_card_and_the_relying_party_learns_who_showed_it(
        world: World) -> None:
    holder, relative = await person(world, 1), await person(world, 2)
    link_id = await linked(world, holder, relative, "parent")
    shown = await show(world, holder, link_id)
    assert shown.status_code == 201, shown.text
    assert shown.json()["expires_in"] == 60
    assert shown.json()["image"].startswith("data:image/png;base64,")
    r = await world.client.post("/v1/qrcodes/verify", json={"code": shown.json()["code"]},
                                headers=await relying_party(world))
    assert r.status_code == 200, r.text
    seen = r.json()
    relatives_card = (await world.client.get("/v1/ecards/me", headers=relative.headers)).json()
    assert (seen["sign_no"], seen["holder"]) == (relatives_card["sign_no"], relative.masked)
    assert (seen["presented_by"], seen["presenter"]) == ("family", holder.masked)
    assert seen["card_usable"] is True


async def test_an_ordinary_code_is_presented_by_the_holder_with_no_presenter(world: World) -> None:
    holder = await person(world, 1)
    code = (await world.client.post("/v1/ecards/me/qrcodes", headers=holder.headers)).json()["code"]
    seen = (await world.client.post("/v1/qrcodes/verify", json={"code": code},
                                    headers=await relying_party(world))).json()
    assert seen["presented_by"] == "holder"
    assert "presenter" not in seen


async def test_a_family_verification_is_in_both_usage_histories_naming_the_other_person(world: World) -> None:
    holder, relative = await person(world, 1), await person(world, 2)
    link_id = await linked(world, holder, relative)
    world.clock.advance(timedelta(minutes=1))
    code = (await show(world, holder, link_id)).json()["code"]
    await world.client.post("/v1/qrcodes/verify", json={"code": code}, headers=await relying_party(world))
    hospital = {"client_id": "city-hospital", "name": "city-hospital", "kind": "relying_party"}
    verified = {"kind": "family_qrcode_verified", "at": "2026-03-02T09:01:00Z", "party": hospital}
    assert (await usage(world, holder))[0] == {**verified, "family_member": relative.masked}
    assert (await usage(world, relative))[0] == {**verified, "family_member": holder.masked}


async def test_the_relative_side_cannot_show_the_holders_card(world: World) -> None:
    holder, relative = await person(world, 1), await person(world, 2)
    link_id = await linked(world, holder, relative)
    r = await show(world, relative, link_id)
    assert (r.status_code, r.json()["code"]) == (403, "not_link_holder")


async def test_a_suspended_relatives_card_shows_no_family_code(world: World) -> None:
    holder, relative = await person(world, 1), await person(world, 2)
    link_id = await linked(world, holder, relative)
    await world.channel("city-bureau", kind="counter", scopes=("card:manage",))
    counter = await world.token(None, "city-bureau", ("card:manage",))
    r = await world.client.post(f"/v1/cards/{relative.card_no}/loss-reports", json={"kind": "temporary"},
                                headers=counter)
    assert r.status_code == 200, r.text
    r = await show(world, holder, link_id)
    assert (r.status_code, r.json()["code"]) == (409, "ecard_not_active")
    assert [link["member_ecard_state"] for link in await family(world, holder)] == ["suspended"]


# --- ending a link ---------------------------------------------------------------------------------

@pytest.mark.parametrize("ender", ["holder", "relative"])
async def test_either_side_ends_a_link_and_the_other_no_longer_sees_it(world: World, ender: str) -> None:
    holder, relative = await person(world, 1), await person(world, 2)
    link_id = await linked(world, holder, relative)
    who = holder if ender == "holder" else relative
    r = await world.client.delete(f"/v1/ecards/me/family/{link_id}", headers=who.headers)
    assert r.status_code == 204, r.text
    assert await family(world, holder) == []
    assert await family(world, relative) == []
    again = await world.client.delete(f"/v1/ecards/me/family/{link_id}", headers=who.headers)
    assert (again.status_code, again.json()["code"]) == (404, "family_link_not_found")
    assert (await show(world, holder, link_id)).json()["code"] == "family_link_not_found"


async def test_made_and_ended_links_are_in_both_histories_naming_the_acting_channel(world: World) -> None:
    holder, relative = await person(world, 1), await person(world, 2, client_id="bank-app")
    link_id = await linked(world, holder, relative)
    world.clock.advance(timedelta(minutes=1))
    await world.client.delete(f"/v1/ecards/me/family/{link_id}", headers=holder.headers)
    bank = {"client_id": "bank-app", "name": "bank-app", "kind": "app"}
    demo = {"client_id": "demo-app", "name": "demo-app", "kind": "app"}
    for me, other in ((holder, relative), (relative, holder)):
        entries = [e for e in await usage(world, me) if e["kind"].startswith("family_")]
        assert entries == [
            {"kind": "family_unlinked", "at": "2026-03-02T09:01:00Z", "party": demo, "family_member": other.masked},
            {"kind": "family_linked", "at": "2026-03-02T09:00:00Z", "party": bank, "family_member": other.masked},
        ]
    claimed = next(e for e in await usage(world, holder) if e["kind"] == "claimed")
    assert "family_member" not in claimed


async def test_another_holders_link_is_not_found_for_ending_or_showing(world: World) -> None:
    holder, relative, stranger = await person(world, 1), await person(world, 2), await person(world, 3)
    link_id = await linked(world, holder, relative)
    r = await world.client.delete(f"/v1/ecards/me/family/{link_id}", headers=stranger.headers)
    assert (r.status_code, r.json()["code"]) == (404, "family_link_not_found")
    assert (await show(world, stranger, link_id)).json()["code"] == "family_link_not_found"
    r = await world.client.delete("/v1/ecards/me/family/fl_unknown", headers=holder.headers)
    assert (r.status_code, r.json()["code"]) == (404, "family_link_not_found")
    assert len(await family(world, holder)) == 1


async def test_a_formal_loss_of_the_relatives_card_ends_the_link_and_its_codes(world: World) -> None:
    holder, relative = await person(world, 1), await person(world, 2)
    link_id = await linked(world, holder, relative)
    code = (await show(world, holder, link_id)).json()["code"]
    world.clock.advance(timedelta(seconds=10))
    await formal_loss(world, relative.card_no)
    assert await family(world, holder) == []
    r = await show(world, holder, link_id)
    assert (r.status_code, r.json()["code"]) == (404, "family_link_not_found")
    r = await world.client.post("/v1/qrcodes/verify", json={"code": code}, headers=await relying_party(world))
    assert (r.status_code, r.json()["code"]) == (409, "family_link_ended")
    ended = (await usage(world, holder))[0]
    assert ended == {"kind": "family_unlinked", "at": "2026-03-02T09:00:10Z", "family_member": relative.masked,
                     "party": {"client_id": "card_lifecycle", "name": "card_lifecycle", "kind": "service"}}


async def test_a_relative_cancelling_their_ecard_from_the_app_ends_the_link(world: World) -> None:
    holder, relative = await person(world, 1), await person(world, 2)
    await linked(world, holder, relative)
    world.clock.advance(timedelta(seconds=10))
    proof = await world.passed_session(relative.account_id, relative.card_no)
    r = await world.client.delete("/v1/ecards/me", params={"face_session_id": proof}, headers=relative.headers)
    assert r.status_code == 204, r.text
    assert await family(world, holder) == []
    ended = (await usage(world, holder))[0]
    assert (ended["kind"], ended["party"]["client_id"], ended["family_member"]) == (
        "family_unlinked", "demo-app", relative.masked)


async def test_a_formal_loss_of_the_holders_card_makes_an_open_invitation_invalid(world: World) -> None:
    holder, relative = await person(world, 1), await person(world, 2)
    code = await invite(world, holder)
    await formal_loss(world, holder.card_no)
    r = await accept(world, relative, code)
    assert (r.status_code, r.json()["code"]) == (409, "invitation_invalid")


# --- refused acceptances ---------------------------------------------------------------------------

async def test_an_unknown_or_malformed_code_is_not_found(world: World) -> None:
    relative = await person(world, 2)
    for code in ("FI1" + "A" * 32, "hello", "EC1" + "A" * 32):
        r = await accept(world, relative, code)
        assert (r.status_code, r.json()["code"]) == (404, "invitation_not_found"), code


async def test_an_invitation_expires_after_24_hours(world: World) -> None:
    holder, relative = await person(world, 1), await person(world, 2)
    code = await invite(world, holder)
    world.clock.advance(timedelta(hours=24))
    r = await accept(world, await relative.later(world), code)
    assert (r.status_code, r.json()["code"]) == (410, "invitation_expired")


async def test_an_invitation_is_accepted_once(world: World) -> None:
    await more_cards(world, 1)
    holder, relative, other = await person(world, 1), await person(world, 2), await person(world, 4)
    code = await invite(world, holder)
    assert (await accept(world, relative, code)).status_code == 201
    r = await accept(world, other, code)
    assert (r.status_code, r.json()["code"]) == (409, "invitation_used")


async def test_nobody_accepts_their_own_invitation(world: World) -> None:
    holder = await person(world, 1)
    # The same person through another channel and account: still the holder.
    again = await world.account("13999999999")
    world.pass_face(again, holder.card_no)
    headers = await world.token(again, "bank-app", SCOPES)
    assert (await world.client.post("/v1/ecards", headers=headers)).status_code == 200
    code = await invite(world, holder)
    for who in (holder, Person(1, again, headers)):
        r = await accept(world, who, code)
        assert (r.status_code, r.json()["code"]) == (409, "family_self")


async def test_a_second_link_to_the_same_relative_is_refused(world: World) -> None:
    holder, relative = await person(world, 1), await person(world, 2)
    await linked(world, holder, relative)
    r = await accept(world, relative, await invite(world, holder, "sibling"))
    assert (r.status_code, r.json()["code"]) == (409, "family_link_exists")


async def test_the_relative_may_invite_the_holder_back(world: World) -> None:
    holder, relative = await person(world, 1), await person(world, 2)
    await linked(world, holder, relative, "child")
    await linked(world, relative, holder, "parent")
    assert sorted((link["role"], link["relation"]) for link in await family(world, holder)) == [
        ("holder", "child"), ("relative", "parent")]


async def test_a_relative_without_an_active_ecard_cannot_accept(world: World) -> None:
    holder = await person(world, 1)
    stranger = await world.account("13900000002")
    r = await world.client.post(f"/v1/family/invitations/{await invite(world, holder)}/accept",
                                json={"face_session_id": "x"},
                                headers=await world.token(stranger, "demo-app", SCOPES))
    assert (r.status_code, r.json()["code"]) == (404, "ecard_not_found")


@pytest.mark.parametrize(("arrange", "status", "code", "reason"), [
    ("unknown", 403, "face_verification_required", "unknown_session"),
    ("other_card", 403, "face_verification_required", "other_card"),
    ("expired", 403, "face_verification_required", "expired"),
    ("someone_elses", 403, "face_verification_required", "unknown_session"),
    ("used", 409, "face_session_used", None),
])
async def test_the_face_session_must_prove_this_acceptance(
        world: World, arrange: str, status: int, code: str, reason: str | None) -> None:
    holder, relative = await person(world, 1), await person(world, 2)
    invitation = await invite(world, holder)
    if arrange == "unknown":
        session = "no-such-session"
    elif arrange == "other_card":
        session = await world.passed_session(relative.account_id, holder.card_no)
    elif arrange == "expired":
        session = await world.passed_session(relative.account_id, relative.card_no, ago=timedelta(minutes=11))
    elif arrange == "someone_elses":
        session = await world.passed_session(holder.account_id, relative.card_no)
    else:
        session = await world.passed_session(relative.account_id, relative.card_no)
        assert (await accept(world, relative, await invite(world, await person(world, 3)), session)).status_code == 201
    r = await accept(world, relative, invitation, session)
    assert (r.status_code, r.json()["code"], r.json().get("reason")) == (status, code, reason)
    assert await family(world, holder) == []
    # Refused, the invitation is still open.
    assert (await accept(world, relative, invitation)).status_code == 201


# --- the eight-link limit ----------------------------------------------------------------------------

async def test_a_holder_has_at_most_eight_links(world: World) -> None:
    await more_cards(world, MAX_LINKS + 1)
    holder = await person(world, 1)
    relatives = [await person(world, n) for n in range(4, 4 + MAX_LINKS + 1)]
    spare = await invite(world, holder)  # made while there was room
    for relative in relatives[:MAX_LINKS]:
        await linked(world, holder, relative)
    r = await world.client.post("/v1/ecards/me/family/invitations", json={"relation": "other"},
                                headers=holder.headers)
    assert (r.status_code, r.json()["code"]) == (409, "family_full")
    r = await accept(world, relatives[-1], spare)
    assert (r.status_code, r.json()["code"]) == (409, "family_full")
    # Ending one frees a slot.
    first = (await family(world, holder))[0]["link_id"]
    assert (await world.client.delete(f"/v1/ecards/me/family/{first}", headers=holder.headers)).status_code == 204
    assert (await accept(world, relatives[-1], spare)).status_code == 201
    assert len(await family(world, holder)) == MAX_LINKS


async def test_racing_acceptances_on_two_servers_fill_eight_slots_and_no_more(world: World, servers: Servers) -> None:
    await more_cards(world, MAX_LINKS + 1)
    holder = await person(world, 1)
    relatives = [await person(world, n) for n in range(4, 4 + MAX_LINKS + 1)]
    codes = [await invite(world, holder) for _ in relatives]
    sessions = [await world.passed_session(r.account_id, r.card_no) for r in relatives]

    async def race(i: int) -> tuple[int, str]:
        http = servers.one if i % 2 else servers.two
        r = await http.post(f"/v1/family/invitations/{codes[i]}/accept",
                            json={"face_session_id": sessions[i]}, headers=relatives[i].headers)
        return r.status_code, r.json().get("code", "")

    outcomes = Counter(await asyncio.gather(*(race(i) for i in range(len(relatives)))))
    assert outcomes == {(201, ""): MAX_LINKS, (409, "family_full"): 1}
    assert len(await family(world, holder)) == MAX_LINKS


# --- who may call ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("method", "path", "scope"), [
    ("POST", "/v1/ecards/me/family/invitations", "ecard:manage"),
    ("POST", "/v1/family/invitations/{code}/accept", "ecard:manage"),
    ("GET", "/v1/ecards/me/family", "ecard:read"),
    ("DELETE", "/v1/ecards/me/family/{link}", "ecard:manage"),
    ("POST", "/v1/ecards/me/family/{link}/qrcodes", "ecard:qrcode"),
])
async def test_each_operation_needs_its_scope_and_a_token_acting_for_the_holder(
        world: World, method: str, path: str, scope: str) -> None:
    holder, relative = await person(world, 1), await person(world, 2)
    link_id = await linked(world, holder, relative)
    url = path.format(code=await invite(world, holder), link=link_id)
    body = {"relation": "child"} if url.endswith("invitations") else \
        {"face_session_id": "x"} if url.endswith("accept") else None
    without = await world.token(holder.account_id, "demo-app", tuple(s for s in SCOPES if s != scope))
    r = await world.client.request(method, url, headers=without, json=body)
    assert (r.status_code, r.json()["code"]) == (403, "insufficient_scope")
    hospital = await relying_party(world, scopes=SCOPES)
    r = await world.client.request(method, url, headers=hospital, json=body)
    assert (r.status_code, r.json()["code"]) == (403, "delegated_token_required")


async def test_invitations_per_day_are_limited(world: World) -> None:
    holder = await person(world, 1)
    for _ in range(INVITATIONS_PER_DAY):
        await invite(world, holder)
    r = await world.client.post("/v1/ecards/me/family/invitations", json={"relation": "child"},
                                headers=holder.headers)
    assert (r.status_code, r.json()["code"]) == (429, "rate_limited")
    assert int(r.headers["retry-after"]) > 0
    world.clock.advance(timedelta(days=1))
    await invite(world, await holder.later(world))
