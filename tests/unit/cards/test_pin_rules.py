"""PIN rules: the initial PIN, weak PINs, and the keyed slow hash."""

from __future__ import annotations

import pytest

from app.domain.cards.pin import check_new_pin, initial_pin, weakness
from app.errors import InvalidInput
from app.security.pins import PepperedPinHasher
from tests.unit.fakes import VAULT


def test_initial_pin_is_the_last_six_digits_of_the_id_number() -> None:
    assert initial_pin("370202198805171230") == "171230"


def test_initial_pin_skips_a_trailing_check_character_x() -> None:
    assert initial_pin("11010519491231002X") == "231002"


@pytest.mark.parametrize("pin", ["000000", "777777"])
def test_all_the_same_digit_is_weak(pin) -> None:
    assert weakness(pin, initial="171230") == "repeated_digit"


@pytest.mark.parametrize("pin", ["123456", "012345", "456789", "654321", "987654", "543210"])
def test_ascending_or_descending_runs_are_weak(pin) -> None:
    assert weakness(pin, initial="171230") == "sequential_digits"


def test_the_initial_pin_again_is_weak() -> None:
    assert weakness("171230", initial="171230") == "initial_pin"


@pytest.mark.parametrize("pin", ["135790", "918273", "123457"])
def test_ordinary_pins_are_accepted(pin) -> None:
    assert weakness(pin, initial="171230") is None


@pytest.mark.parametrize("pin", ["12345", "1234567", "12a456", "１２３４５６", "135790\n"])
def test_pin_must_be_six_ascii_digits(pin) -> None:
    with pytest.raises(InvalidInput) as refused:
        check_new_pin(pin, initial="171230")
    assert refused.value.code == "invalid_pin"


def test_weak_pin_refusal_names_the_reason() -> None:
    with pytest.raises(InvalidInput) as refused:
        check_new_pin("111111", initial="171230")
    assert (refused.value.code, refused.value.extra["reason"]) == ("weak_pin", "repeated_digit")


async def test_stored_pin_hash_verifies_only_the_same_pin_on_the_same_card() -> None:
    hasher = PepperedPinHasher(VAULT, time_cost=1, memory_cost=8 * 1024)
    stored = await hasher.hash("A12345678", "135790")
    assert "135790" not in stored
    assert await hasher.verify(stored, "A12345678", "135790")
    assert not await hasher.verify(stored, "A12345678", "135791")
    assert not await hasher.verify(stored, "A87654321", "135790")
