"""Activation channels, the Qingdao rule and the contact confirmed at activation."""

from __future__ import annotations

import pytest

from app.domain.cards.model import Actor, Contact
from app.errors import Conflict, Forbidden, InvalidInput, NotFound
from tests.unit.fakes import HOLDER_ID, OTHER_ID, START, World, card

COUNTER = Actor(channel="bank-counter")


async def test_bank_activates_both_applications_by_default(w: World) -> None:
    w.put(card(ss_state="inactive", collected_on=None))
    after = await w.service.activate("A12345678", channel="bank", holder_id_number=HOLDER_ID, actor=COUNTER)
    assert (after.ss_state, after.fin_state) == ("active", "active")
    assert after.fin_channel == "bank"
    assert after.fin_since == START.date()


async def test_bank_may_enable_only_the_financial_application(w: World) -> None:
    w.put(card(ss_state="inactive"))
    after = await w.service.activate("A12345678", channel="bank", application="financial",
                                     holder_id_number=HOLDER_ID, actor=COUNTER)
    assert (after.ss_state, after.fin_state) == ("inactive", "active")


@pytest.mark.parametrize("channel", ["hospital", "pharmacy", "bureau", "hotline"])
async def test_first_use_channels_enable_the_social_security_application(w: World, channel) -> None:
    w.put(card(ss_state="inactive"))
    after = await w.service.activate("A12345678", channel=channel, holder_id_number=HOLDER_ID, actor=COUNTER)
    assert (after.ss_state, after.fin_state, after.ss_channel) == ("active", "inactive", channel)


@pytest.mark.parametrize("channel", ["hospital", "pharmacy", "bureau", "hotline"])
async def test_financial_application_only_at_the_bank(w: World, channel) -> None:
    w.put(card())
    with pytest.raises(InvalidInput) as refused:
        await w.service.activate("A12345678", channel=channel, application="financial",
                                 holder_id_number=HOLDER_ID, actor=COUNTER)
    assert refused.value.code == "financial_activation_bank_only"


async def test_activation_refused_when_holder_id_does_not_match(w: World) -> None:
    w.put(card())
    with pytest.raises(Forbidden) as refused:
        await w.service.activate("A12345678", channel="bank", holder_id_number=OTHER_ID, actor=COUNTER)
    assert refused.value.code == "holder_mismatch"
    assert w.get("A12345678").fin_state == "inactive"


async def test_invalid_holder_id_refused_before_lookup(w: World) -> None:
    with pytest.raises(InvalidInput) as refused:
        await w.service.activate("NO-SUCH", channel="bank", holder_id_number="370202198805171230",
                                 actor=COUNTER)
    assert refused.value.code == "invalid_id_number"


async def test_activation_of_active_applications_is_a_conflict(w: World) -> None:
    w.put(card(fin_state="active"))
    with pytest.raises(Conflict) as refused:
        await w.service.activate("A12345678", channel="bank", holder_id_number=HOLDER_ID, actor=COUNTER)
    assert refused.value.code == "already_active"


async def test_activation_confirms_and_updates_contact(w: World) -> None:
    w.put(card(phone="13800000000", address="old", postcode="266000"))
    after = await w.service.activate(
        "A12345678", channel="bank", holder_id_number=HOLDER_ID, actor=COUNTER,
        contact=Contact(phone="13912345678", postcode="266071"))
    assert (after.phone, after.address, after.postcode) == ("13912345678", "old", "266071")


@pytest.mark.parametrize("contact", [
    Contact(phone="12345"), Contact(phone="1391234567\u0668"), Contact(postcode="2660"), Contact(address=" "),
])
async def test_activation_refuses_malformed_contact(w: World, contact) -> None:
    w.put(card())
    with pytest.raises(InvalidInput) as refused:
        await w.service.activate("A12345678", channel="bank", holder_id_number=HOLDER_ID,
                                 actor=COUNTER, contact=contact)
    assert refused.value.code == "invalid_contact"


async def test_activation_refused_while_temporarily_lost(w: World) -> None:
    w.put(card(loss_state="temporary", loss_since=START))
    with pytest.raises(Conflict) as refused:
        await w.service.activate("A12345678", channel="bank", holder_id_number=HOLDER_ID, actor=COUNTER)
    assert refused.value.code == "card_reported_lost"


async def test_financial_activation_allowed_on_a_300_day_lost_card(w: World) -> None:
    w.put(card(loss_state="overdue", loss_since=START))
    after = await w.service.activate("A12345678", channel="bank", holder_id_number=HOLDER_ID, actor=COUNTER)
    assert (after.fin_state, after.loss_state) == ("active", "overdue")


async def test_activation_of_an_uncollected_card_starts_the_300_days(w: World) -> None:
    w.put(card(collected_on=None, ss_state="inactive"))
    after = await w.service.activate("A12345678", channel="hospital", holder_id_number=HOLDER_ID,
                                     actor=COUNTER)
    assert after.collected_on == START.date()


async def test_activation_is_audited_with_channel_and_before_after(w: World) -> None:
    w.put(card())
    await w.service.activate("A12345678", channel="bank", holder_id_number=HOLDER_ID, actor=COUNTER)
    [entry] = w.audit
    assert (entry.action, entry.actor, entry.subject) == ("card.activated", "bank-counter", "A12345678")
    assert entry.detail["before"]["financial"] == "inactive"
    assert entry.detail["after"]["financial"] == "active"
    assert entry.detail["channel"] == "bank"
    assert entry.at == START


async def test_unknown_card_is_not_found(w: World) -> None:
    with pytest.raises(NotFound) as refused:
        await w.service.activate("B00000000", channel="bank", holder_id_number=HOLDER_ID, actor=COUNTER)
    assert refused.value.code == "card_not_found"
