"""The e-card service on in-memory storage: the claim (实名 + 实人 + 实卡), one e-card per person,
channel links, and how the e-card follows its physical card."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from app.domain.cards.changes import CardChange
from app.domain.ecards import ECARD_TOKEN_LIFETIME, FACE_WINDOW, Ecard
from app.domain.status_list import SUSPENDED, VALID
from app.errors import Conflict, Forbidden, NotFound
from tests.unit.fakes import CARD_NO, HOLDER, HOLDER_ID, ISSUER, START, Issuance, card
from tests.unit.fakes.ecards import FakeEcards


@pytest.fixture
def e(tmp_path: Path) -> Issuance:
    return Issuance(tmp_path / "keys")


# --- the claim ------------------------------------------------------------------------------------

async def test_a_claim_needs_a_face_verification_passed_in_the_last_ten_minutes(e: Issuance) -> None:
    e.face_passed(ago=FACE_WINDOW + timedelta(seconds=1))
    with pytest.raises(Forbidden) as refused:
        await e.service.claim(HOLDER, "demo-app")
    assert refused.value.code == "face_verification_required"
    assert e.storage.state.ecards == {}
    e.face_passed(ago=FACE_WINDOW)
    assert (await e.service.claim(HOLDER, "demo-app")).created


async def test_the_first_claim_issues_an_active_ecard_linked_to_the_channel(e: Issuance) -> None:
    issued = await e.claim()
    view = issued.view
    assert issued.created
    assert view.ecard.state == "active"
    assert view.ecard.sign_no.startswith("370200E")
    assert (view.holder.name, view.holder.id_number, view.aab301) == ("张*", card().id_masked, "370200")
    assert [(link.client_id, link.account_id) for link in view.channels] == [("demo-app", HOLDER)]
    assert [a.action for a in e.storage.state.audit] == ["ecard.issued"]


async def test_the_token_points_into_the_status_list_and_never_carries_the_id_number(e: Issuance) -> None:
    issued = await e.claim()
    claims = e.claims(issued.token)
    ecard = issued.view.ecard
    assert (claims["jti"], claims["card_no"], claims["channel"]) == (ecard.sign_no, CARD_NO, "demo-app")
    assert claims["exp"] == int((START + ECARD_TOKEN_LIFETIME).timestamp())
    assert claims["status"]["status_list"] == {"idx": ecard.status_idx, "uri": issued.view.status_uri}
    assert issued.view.status_uri == f"{ISSUER}/v1/status-lists/{ecard.status_list}"
    assert HOLDER_ID not in json.dumps(claims, ensure_ascii=False)
    assert claims["sub"] != ecard.person
    assert await e.status_of(ecard) == VALID


@pytest.mark.parametrize(("fin_state", "level"), [("inactive", 1), ("active", 2)])
async def test_payment_sign_level_needs_the_financial_application(e: Issuance, fin_state: str, level: int) -> None:
    e.put(card(CARD_NO, fin_state=fin_state))
    assert (await e.claim()).view.ecard.sign_level == level


async def test_a_second_claim_returns_the_same_ecard_and_links_the_new_channel(e: Issuance) -> None:
    first = await e.claim("demo-app")
    e.clock.advance(timedelta(days=1))
    second = await e.claim("other-app")
    assert not second.created
    assert second.view.ecard.sign_no == first.view.ecard.sign_no
    assert second.view.ecard.expires_at == e.clock.now() + ECARD_TOKEN_LIFETIME  # a fresh token, renewed
    assert [link.client_id for link in second.view.channels] == ["demo-app", "other-app"]
    assert len(e.storage.state.ecards) == 1
    assert [a.action for a in e.storage.state.audit] == ["ecard.issued", "ecard.claimed_again"]


async def test_the_same_person_claiming_from_another_account_gets_the_same_ecard(e: Issuance) -> None:
    first = await e.claim(account_id=HOLDER)
    second = await e.claim(account_id=HOLDER + 1)
    assert second.view.ecard.sign_no == first.view.ecard.sign_no
    assert {link.account_id for link in second.view.channels} == {HOLDER, HOLDER + 1}


async def test_a_claim_whose_free_index_was_taken_meanwhile_draws_another(
        e: Issuance, monkeypatch: pytest.MonkeyPatch) -> None:
    other = await e.claim(account_id=HOLDER + 5, card_no="B87654321")
    drawn = iter([other.view.ecard.status_idx, other.view.ecard.status_idx + 1])
    monkeypatch.setattr("app.domain.ecards.random_index", lambda size: next(drawn))

    async def read_before_the_other_claim_committed(list_id: int, index: int) -> bool:
        return False

    monkeypatch.setattr(FakeEcards, "index_taken", lambda self, list_id, index: read_before_the_other_claim_committed(
        list_id, index))
    mine = await e.claim()
    assert mine.created
    assert mine.view.ecard.status_idx == other.view.ecard.status_idx + 1


async def test_a_claim_that_loses_the_race_for_the_person_answers_with_the_winners_ecard(
        e: Issuance, monkeypatch: pytest.MonkeyPatch) -> None:
    winner = await e.claim(account_id=HOLDER + 1)
    reads = 0
    live_for_person = FakeEcards.live_for_person

    async def first_read_before_the_winner_committed(self: FakeEcards, person: str) -> Ecard | None:
        nonlocal reads
        reads += 1
        return None if reads == 1 else await live_for_person(self, person)

    monkeypatch.setattr(FakeEcards, "live_for_person", first_read_before_the_winner_committed)
    loser = await e.claim()
    assert not loser.created
    assert loser.view.ecard.sign_no == winner.view.ecard.sign_no
    assert len(e.storage.state.ecards) == 1


@pytest.mark.parametrize("changes", [{"loss_state": "temporary"}, {"status": "cancelled"}, {"ss_state": "inactive"}])
async def test_a_card_that_is_lost_retired_or_not_activated_cannot_be_claimed(
        e: Issuance, changes: dict[str, str]) -> None:
    e.put(card(CARD_NO, **changes))
    with pytest.raises(Conflict) as refused:
        await e.claim()
    assert refused.value.code == "card_not_usable"
    assert e.storage.state.ecards == {}


async def test_a_suspended_ecard_is_not_handed_out_again(e: Issuance) -> None:
    issued = await e.claim()
    async with e.storage.unit_of_work() as uow:
        await uow.ecards.set_state(issued.view.ecard.sign_no, "suspended", START)
    with pytest.raises(Conflict) as refused:
        await e.claim("other-app")
    assert refused.value.code == "ecard_not_active"
    assert len(e.storage.state.ecard_links) == 1


# --- the holder's view and channel links ----------------------------------------------------------

async def test_the_holder_sees_the_ecard_through_a_linked_channel_only(e: Issuance) -> None:
    issued = await e.claim("demo-app")
    assert (await e.service.me(HOLDER, "demo-app")).ecard.sign_no == issued.view.ecard.sign_no
    assert (await e.service.me(HOLDER, None)).ecard.sign_no == issued.view.ecard.sign_no
    for account, channel in ((HOLDER, "other-app"), (HOLDER + 1, None)):
        with pytest.raises(NotFound) as missing:
            await e.service.me(account, channel)
        assert missing.value.code == "ecard_not_found"


async def test_unlinking_one_channel_leaves_the_others(e: Issuance) -> None:
    await e.claim("demo-app")
    await e.claim("other-app")
    await e.service.unlink(HOLDER, "demo-app", "other-app")
    assert [link.client_id for link in (await e.service.me(HOLDER, None)).channels] == ["demo-app"]
    with pytest.raises(NotFound) as again:
        await e.service.unlink(HOLDER, "demo-app", "other-app")
    assert again.value.code == "channel_not_linked"
    assert e.storage.state.audit[-1].action == "ecard.channel_unlinked"


# --- following the physical card ------------------------------------------------------------------

async def test_a_temporary_loss_suspends_the_ecard_and_the_unlock_restores_it(e: Issuance) -> None:
    ecard = (await e.claim()).view.ecard
    await e.card_changed(CARD_NO, "temporary_loss")
    assert e.ecard(ecard.sign_no).state == "suspended"
    assert await e.status_of(ecard) == SUSPENDED
    await e.card_changed(CARD_NO, "unlocked")
    assert e.ecard(ecard.sign_no).state == "active"
    assert await e.status_of(ecard) == VALID
    assert [a.action for a in e.storage.state.audit][-2:] == ["ecard.suspended", "ecard.active"]


@pytest.mark.parametrize("event", ["formal_loss", "cancelled"])
async def test_a_formal_loss_or_a_cancellation_invalidates_the_ecard(e: Issuance, event: CardChange) -> None:
    ecard = (await e.claim()).view.ecard
    await e.card_changed(CARD_NO, event)
    assert e.ecard(ecard.sign_no).state == "invalid"
    assert (await e.service.me(HOLDER, "demo-app")).ecard.state == "invalid"
    await e.card_changed(CARD_NO, "unlocked")  # nothing brings an invalid e-card back
    assert e.ecard(ecard.sign_no).state == "invalid"


async def test_the_financial_application_lifts_the_sign_level(e: Issuance) -> None:
    ecard = (await e.claim()).view.ecard
    await e.card_changed(CARD_NO, "financial_activated")
    assert e.ecard(ecard.sign_no).sign_level == 2
    assert e.storage.state.audit[-1].action == "ecard.sign_level"


async def test_a_replacement_card_gets_a_fresh_ecard_with_the_channels(e: Issuance) -> None:
    old = (await e.claim("demo-app")).view.ecard
    await e.claim("other-app")
    e.replace_card(CARD_NO, "A99999999")
    await e.card_changed(CARD_NO, "replaced", new_card_no="A99999999")
    fresh = await e.service.me(HOLDER, "other-app")
    assert (fresh.ecard.card_no, fresh.ecard.state) == ("A99999999", "active")
    assert fresh.ecard.sign_no != old.sign_no
    assert (e.ecard(old.sign_no).state, e.ecard(old.sign_no).replaced_by) == ("invalid", fresh.ecard.sign_no)
    assert [link.client_id for link in fresh.channels] == ["demo-app", "other-app"]
    assert e.service.subject(fresh.ecard.person) == e.service.subject(old.person)


async def test_a_replacement_after_a_formal_loss_still_gets_a_fresh_ecard_once(e: Issuance) -> None:
    old = (await e.claim()).view.ecard
    await e.card_changed(CARD_NO, "formal_loss")
    e.replace_card(CARD_NO, "A99999999")
    await e.card_changed(CARD_NO, "replaced", new_card_no="A99999999")
    await e.card_changed(CARD_NO, "replaced", new_card_no="A99999999")  # told twice: no second e-card
    successor = e.ecard(old.sign_no).replaced_by
    assert successor is not None
    fresh = e.ecard(successor)
    assert (fresh.card_no, fresh.state) == ("A99999999", "active")
    assert len(e.storage.state.ecards) == 2


async def test_a_replacement_card_not_yet_activated_gets_a_suspended_ecard(e: Issuance) -> None:
    await e.claim()
    e.replace_card(CARD_NO, "A99999999", ss_state="inactive")
    await e.card_changed(CARD_NO, "replaced", new_card_no="A99999999")
    fresh = await e.service.me(HOLDER, "demo-app")
    assert (fresh.ecard.card_no, fresh.ecard.state) == ("A99999999", "suspended")
    with pytest.raises(Conflict) as refused:
        await e.claim(card_no="A99999999")
    assert refused.value.code == "card_not_usable"
