"""PIN entry, change, lockout after six wrong entries, and the counter reset with the holder's ID."""

from __future__ import annotations

import asyncio

import pytest

from app.domain.cards.model import Actor
from app.domain.cards.service import PinLockedError
from app.errors import Conflict, Forbidden, InvalidInput
from tests.unit.fakes import HOLDER_ID, OTHER_ID, World, card

TERMINAL = Actor(channel="hospital-terminal")
INITIAL = HOLDER_ID[-6:]


async def wrong_entries(w: World, count: int) -> list[str]:
    codes = []
    for _ in range(count):
        try:
            await w.service.verify_pin("A12345678", "000001", actor=TERMINAL)
        except (Forbidden, PinLockedError) as refused:
            codes.append(refused.code)
    return codes


async def test_initial_pin_is_right_but_must_be_changed_first(w: World) -> None:
    w.put(card())
    with pytest.raises(Forbidden) as refused:
        await w.service.verify_pin("A12345678", INITIAL, actor=TERMINAL)
    assert refused.value.code == "pin_change_required"
    assert w.get("A12345678").pin.failures == 0


async def test_changed_pin_verifies(w: World) -> None:
    w.put(card())
    after = await w.service.change_pin("A12345678", INITIAL, "135790", actor=TERMINAL)
    assert after.pin.change_required is False
    verified = await w.service.verify_pin("A12345678", "135790", actor=TERMINAL)
    assert verified.pin.failures == 0


async def test_wrong_pin_reports_attempts_left(w: World) -> None:
    w.put(card())
    with pytest.raises(Forbidden) as refused:
        await w.service.verify_pin("A12345678", "000001", actor=TERMINAL)
    assert (refused.value.code, refused.value.extra["attempts_remaining"]) == ("pin_incorrect", 5)


async def test_six_wrong_entries_lock_the_pin(w: World) -> None:
    w.put(card())
    codes = await wrong_entries(w, 6)
    assert codes == ["pin_incorrect"] * 5 + ["pin_locked"]
    with pytest.raises(PinLockedError):
        await w.service.verify_pin("A12345678", INITIAL, actor=TERMINAL)
    assert w.audit[-1].action == "card.pin_locked"


async def test_a_right_entry_resets_the_consecutive_count(w: World) -> None:
    w.put(card())
    await w.service.change_pin("A12345678", INITIAL, "135790", actor=TERMINAL)
    await wrong_entries(w, 5)
    await w.service.verify_pin("A12345678", "135790", actor=TERMINAL)
    assert await wrong_entries(w, 1) == ["pin_incorrect"]
    assert w.get("A12345678").pin.failures == 1


async def test_parallel_guesses_cannot_exceed_six(w: World) -> None:
    w.put(card())
    outcomes = await asyncio.gather(
        *(w.service.verify_pin("A12345678", f"{i:06d}", actor=TERMINAL) for i in range(1, 11)),
        return_exceptions=True)
    locked = [o for o in outcomes if isinstance(o, PinLockedError)]
    assert len(locked) == 5  # entries 6..10: the sixth locks, the rest find it locked
    assert w.get("A12345678").pin.failures == 6


async def test_change_refuses_a_weak_pin_without_counting_an_attempt(w: World) -> None:
    w.put(card())
    with pytest.raises(InvalidInput) as refused:
        await w.service.change_pin("A12345678", INITIAL, "123456", actor=TERMINAL)
    assert refused.value.code == "weak_pin"
    assert w.get("A12345678").pin.failures == 0


async def test_change_refuses_the_initial_pin_again(w: World) -> None:
    w.put(card())
    await w.service.change_pin("A12345678", INITIAL, "135790", actor=TERMINAL)
    with pytest.raises(InvalidInput) as refused:
        await w.service.change_pin("A12345678", "135790", INITIAL, actor=TERMINAL)
    assert refused.value.extra["reason"] == "initial_pin"


async def test_change_with_wrong_current_pin_counts_a_failure(w: World) -> None:
    w.put(card())
    with pytest.raises(Forbidden) as refused:
        await w.service.change_pin("A12345678", "000001", "135790", actor=TERMINAL)
    assert refused.value.code == "pin_incorrect"
    assert w.get("A12345678").pin.hash is None


async def test_counter_reset_with_holder_id_unlocks_to_the_initial_pin(w: World) -> None:
    w.put(card())
    await wrong_entries(w, 6)
    after = await w.service.reset_pin("A12345678", holder_id_number=HOLDER_ID,
                                      actor=Actor(channel="bureau-counter"))
    assert (after.pin.locked, after.pin.change_required, after.pin.hash) == (False, True, None)
    with pytest.raises(Forbidden) as refused:
        await w.service.verify_pin("A12345678", INITIAL, actor=TERMINAL)
    assert refused.value.code == "pin_change_required"


async def test_counter_reset_may_set_a_new_pin(w: World) -> None:
    w.put(card())
    await w.service.reset_pin("A12345678", holder_id_number=HOLDER_ID, new_pin="246813",
                              actor=Actor(channel="bureau-counter"))
    verified = await w.service.verify_pin("A12345678", "246813", actor=TERMINAL)
    assert verified.pin.change_required is False


async def test_reset_refused_with_another_persons_id(w: World) -> None:
    w.put(card())
    await wrong_entries(w, 6)
    with pytest.raises(Forbidden) as refused:
        await w.service.reset_pin("A12345678", holder_id_number=OTHER_ID, actor=Actor(channel="bureau"))
    assert refused.value.code == "holder_mismatch"
    assert w.get("A12345678").pin.locked


async def test_pin_entry_refused_on_a_lost_card(w: World) -> None:
    w.put(card(loss_state="formal"))
    with pytest.raises(Conflict) as refused:
        await w.service.verify_pin("A12345678", INITIAL, actor=TERMINAL)
    assert refused.value.code == "card_reported_lost"
