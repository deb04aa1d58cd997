"""Loss reports, unlock, replacement and cancellation through the service, with the e-card rule."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from app.domain.cards.model import Actor
from app.errors import Conflict, Forbidden
from tests.unit.fakes import HOLDER_ID, OTHER_ID, START, VAULT, World, card

COUNTER = Actor(channel="bureau-counter")


async def test_temporary_loss_suspends_the_ecard(w: World) -> None:
    w.put(card())
    after = await w.service.report_loss("A12345678", "temporary", actor=COUNTER)
    assert (after.loss_state, after.loss_since) == ("temporary", START)
    assert w.listener.calls == [("A12345678", "temporary_loss", None)]


async def test_formal_loss_invalidates_the_ecard(w: World) -> None:
    w.put(card())
    after = await w.service.report_loss("A12345678", "formal", actor=COUNTER)
    assert after.loss_state == "formal"
    assert w.listener.calls == [("A12345678", "formal_loss", None)]


async def test_loss_report_with_wrong_holder_id_is_refused(w: World) -> None:
    w.put(card())
    with pytest.raises(Forbidden):
        await w.service.report_loss("A12345678", "temporary", actor=COUNTER, holder_id_number=OTHER_ID)
    assert w.get("A12345678").loss_state == "none"


async def test_unlock_lifts_temporary_loss_and_reactivates_the_ecard(w: World) -> None:
    w.put(card(loss_state="temporary", loss_since=START))
    after = await w.service.unlock("A12345678", holder_id_number=HOLDER_ID, actor=COUNTER)
    assert (after.loss_state, after.loss_since) == ("none", None)
    assert w.listener.calls == [("A12345678", "unlocked", None)]


async def test_formal_loss_cannot_be_unlocked(w: World) -> None:
    w.put(card(loss_state="formal", loss_since=START))
    with pytest.raises(Conflict) as refused:
        await w.service.unlock("A12345678", holder_id_number=HOLDER_ID, actor=COUNTER)
    assert refused.value.code == "formal_loss_irreversible"
    assert w.listener.calls == []


async def test_unlock_refused_before_financial_activation(w: World) -> None:
    w.put(card(loss_state="overdue", loss_since=START))
    with pytest.raises(Conflict) as refused:
        await w.service.unlock("A12345678", holder_id_number=HOLDER_ID, actor=COUNTER)
    assert refused.value.code == "financial_application_inactive"
    assert w.get("A12345678").loss_state == "overdue"
    assert w.audit == []


async def test_bank_activation_then_unlock_lifts_300_day_loss(w: World) -> None:
    w.put(card(loss_state="overdue", loss_since=START))
    await w.service.activate("A12345678", channel="bank", holder_id_number=HOLDER_ID,
                             actor=Actor(channel="bank-counter"))
    after = await w.service.unlock("A12345678", holder_id_number=HOLDER_ID, actor=COUNTER)
    assert (after.loss_state, after.fin_state) == ("none", "active")


async def test_replacement_issues_new_number_in_same_region(w: World) -> None:
    w.put(card(loss_state="formal", loss_since=START, phone="13800000000"), photo=b"portrait")
    result = await w.service.replace("A12345678", holder_id_number=HOLDER_ID, actor=COUNTER)
    new = w.get(result.new.card_no)
    assert new.card_no != "A12345678"
    assert new.card_no[0] == "A"
    assert len(new.card_no) == 9
    assert (new.aab301, new.name, new.id_digest, new.phone) == ("370200", "张三", VAULT.index(HOLDER_ID),
                                                                "13800000000")
    assert (new.status, new.loss_state, new.replaces) == ("normal", "none", "A12345678")


async def test_replacement_carries_photo_and_id_sealed_for_the_new_number(w: World) -> None:
    w.put(card(), photo=b"portrait")
    result = await w.service.replace("A12345678", holder_id_number=HOLDER_ID, actor=COUNTER)
    number = result.new.card_no
    photo = w.storage.state.photos[number]
    assert VAULT.unseal(photo, context=number.encode()) == b"portrait"
    assert VAULT.unseal(w.get(number).id_sealed, context=number.encode()).decode() == HOLDER_ID


async def test_replacement_marks_old_card_replaced_and_tells_the_ecard(w: World) -> None:
    w.put(card())
    result = await w.service.replace("A12345678", holder_id_number=HOLDER_ID, actor=COUNTER)
    old = w.get("A12345678")
    assert (old.status, old.replaced_by) == ("replaced", result.new.card_no)
    assert w.listener.calls == [("A12345678", "replaced", result.new.card_no)]


async def test_replaced_card_cannot_be_replaced_again(w: World) -> None:
    w.put(card())
    await w.service.replace("A12345678", holder_id_number=HOLDER_ID, actor=COUNTER)
    with pytest.raises(Conflict) as refused:
        await w.service.replace("A12345678", holder_id_number=HOLDER_ID, actor=COUNTER)
    assert refused.value.code == "card_replaced"


async def test_two_concurrent_replacements_give_one(w: World) -> None:
    w.put(card())
    outcomes = await asyncio.gather(
        w.service.replace("A12345678", holder_id_number=HOLDER_ID, actor=COUNTER),
        w.service.replace("A12345678", holder_id_number=HOLDER_ID, actor=Actor(channel="other")),
        return_exceptions=True,
    )
    refused = [o for o in outcomes if isinstance(o, Conflict)]
    assert len(refused) == 1
    assert refused[0].code == "card_replaced"
    assert len(w.storage.state.cards) == 2


async def test_replacement_is_atomic_when_the_ecard_rule_fails(w: World) -> None:
    w.put(card())

    async def broken(*_: object, **__: object) -> None:
        raise RuntimeError("e-card store down")

    w.listener.card_changed = broken  # type: ignore[method-assign]
    with pytest.raises(RuntimeError):
        await w.service.replace("A12345678", holder_id_number=HOLDER_ID, actor=COUNTER)
    assert list(w.storage.state.cards) == ["A12345678"]
    assert w.get("A12345678").status == "normal"
    assert w.audit == []


async def test_cancellation_is_final_and_invalidates_the_ecard(w: World) -> None:
    w.put(card())
    await w.service.cancel("A12345678", holder_id_number=HOLDER_ID, actor=COUNTER, reason="deceased")
    assert w.listener.calls == [("A12345678", "cancelled", None)]
    with pytest.raises(Conflict) as refused:
        await w.service.report_loss("A12345678", "temporary", actor=COUNTER)
    assert refused.value.code == "card_cancelled"


async def test_every_transition_is_audited_before_and_after(w: World) -> None:
    w.put(card())
    await w.service.report_loss("A12345678", "temporary", actor=COUNTER)
    w.clock.advance(timedelta(hours=1))
    await w.service.unlock("A12345678", holder_id_number=HOLDER_ID, actor=COUNTER)
    actions = [(e.action, e.detail["before"]["loss"], e.detail["after"]["loss"]) for e in w.audit]
    assert actions == [("card.loss_reported", "none", "temporary"), ("card.unlocked", "temporary", "none")]
    assert w.audit[1].at == START + timedelta(hours=1)


async def test_history_lists_the_card_transitions_in_order(w: World) -> None:
    w.put(card())
    await w.service.report_loss("A12345678", "temporary", actor=COUNTER)
    await w.service.report_loss("A12345678", "formal", actor=COUNTER)
    history = await w.service.history("A12345678")
    assert [(e.action, e.after["loss"]) for e in history] == [
        ("loss_reported", "temporary"), ("loss_reported", "formal")]
