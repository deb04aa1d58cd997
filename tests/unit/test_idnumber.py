"""GB 11643 citizen ID numbers."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain.idnumber import check_character, make_id_number, mask_id_number, mask_name, parse_id_number
from app.errors import InvalidInput

TODAY = date(2026, 3, 2)


def test_published_example_is_valid() -> None:
    parsed = parse_id_number("11010519491231002X", today=TODAY)
    assert parsed.birth_date == date(1949, 12, 31)
    assert parsed.gender == "female"
    assert parsed.region == "110105"


def test_lower_case_x_is_accepted() -> None:
    assert parse_id_number("11010519491231002x", today=TODAY).value.endswith("X")


@given(
    birth=st.dates(min_value=date(1900, 1, 1), max_value=TODAY),
    sequence=st.integers(min_value=0, max_value=999),
)
def test_every_generated_number_parses(birth: date, sequence: int) -> None:
    number = make_id_number("440305", birth, sequence)
    parsed = parse_id_number(number, today=TODAY)
    assert parsed.birth_date == birth
    assert parsed.gender == ("male" if sequence % 2 else "female")


@given(position=st.integers(min_value=0, max_value=16), delta=st.integers(min_value=1, max_value=9))
def test_any_single_digit_change_breaks_the_checksum(position: int, delta: int) -> None:
    number = make_id_number("440305", date(1990, 5, 17), 123)
    digits = list(number)
    digits[position] = str((int(digits[position]) + delta) % 10)
    changed = "".join(digits)
    assert check_character(changed[:17]) != changed[17]


@pytest.mark.parametrize(
    ("number", "reason"),
    [
        ("1101051949123100", "17 digits"),
        ("11010519491231002Y", "17 digits"),
        ("110105194912310021", "check character"),
        (make_id_number("990105", date(1990, 1, 1), 1), "region"),
        (make_id_number("110000", date(1990, 1, 1), 1), "region"),
        ("11010519490231" + "002" + check_character("11010519490231002"), "birth date"),
        (make_id_number("110105", date(2027, 1, 1), 1), "out of range"),
    ],
)
def test_invalid_numbers_are_refused_with_a_reason(number: str, reason: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        parse_id_number(number, today=TODAY)
    assert refused.value.code == "invalid_id_number"
    assert reason in refused.value.detail


def test_masking_hides_birth_date_and_sequence() -> None:
    assert mask_id_number("44030519900517123X") == "440305********123X"
    assert mask_name("张三") == "张*"
    assert mask_name("欧阳修文") == "欧***"
