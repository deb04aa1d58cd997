"""One spelling for names and numbers (SPEC §8): what keyboards type several ways is one person."""

from __future__ import annotations

import unicodedata
from datetime import date

import pytest

from app.domain.accounts import normalise_phone
from app.domain.idnumber import make_id_number, parse_id_number
from app.domain.text import is_ascii_digits, normalise_name
from app.errors import InvalidInput

NAME = "阿卜杜·热合曼"  # U+00B7, as GB 11643 ID cards print it


@pytest.mark.parametrize("dot", ["\u00b7", "\u2022", "\u30fb", "\uff65", "\u2027", "\u2219", "\u22c5", "\u0387"])
def test_every_middle_dot_variant_is_the_same_name(dot: str) -> None:
    assert normalise_name(f"阿卜杜{dot}热合曼") == NAME


@pytest.mark.parametrize("invisible", ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad", "\u200e"])
def test_invisible_characters_are_removed(invisible: str) -> None:
    assert normalise_name(f"张{invisible}三") == "张三"
    assert normalise_name(f"{invisible}阿卜杜·热合曼{invisible}") == NAME


def test_decomposed_and_composed_accents_are_one_name() -> None:
    composed = "Zoë Müller"
    assert normalise_name(unicodedata.normalize("NFD", composed)) == normalise_name(composed)


def test_cjk_compatibility_ideographs_are_the_unified_ones() -> None:
    # U+F907 is a compatibility form of 龜 (U+9F9C); U+F9DC of 隆 (U+9686).
    assert normalise_name("\uf907山") == "龜山"
    assert normalise_name("\uf9dc") == "隆"


def test_full_width_letters_and_runs_of_spaces() -> None:
    assert normalise_name("  ＪＯＨＮ　　SMITH ") == "JOHN SMITH"


def test_a_different_name_stays_different() -> None:
    assert normalise_name("张三") != normalise_name("张四")
    assert normalise_name("阿卜杜热合曼") != NAME  # a missing dot is a different spelling


def test_full_width_phone_is_the_same_phone() -> None:
    assert normalise_phone("１３５４１２２７９５７") == "13541227957"
    assert normalise_phone("13５４１２２７９５７") == "13541227957"


@pytest.mark.parametrize("phone", ["١٣٥٤١٢٢٧٩٥٧", "13541227٩57", "1354122795\u0667", "１３５４１２２７９５\u0e57"])
def test_other_scripts_digits_are_not_a_phone(phone: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        normalise_phone(phone)
    assert refused.value.code == "invalid_phone"


def test_full_width_id_number_is_the_same_id_number() -> None:
    ascii_value = make_id_number("440305", date(1980, 1, 1), 123)
    full_width = ascii_value.translate({ord(c): ord(c) + 0xFEE0 for c in "0123456789X"})
    assert parse_id_number(full_width, today=date(2026, 1, 1)).value == ascii_value


def test_arabic_indic_id_number_is_refused() -> None:
    ascii_value = make_id_number("440305", date(1980, 1, 1), 123)
    arabic = ascii_value.translate({ord(c): 0x0660 + int(c) for c in "0123456789"})
    with pytest.raises(InvalidInput):
        parse_id_number(arabic, today=date(2026, 1, 1))


def test_ascii_digits_only() -> None:
    assert is_ascii_digits("123456", 6)
    assert not is_ascii_digits("١٢٣٤٥٦", 6)
    assert not is_ascii_digits("12345", 6)
    assert not is_ascii_digits("")


@pytest.mark.parametrize("phone", ["¹³⁵⁴¹²²⁷⁹⁵⁷", "①③⑤④①②②⑦⑨⑤⑦", "𝟏𝟑𝟓𝟒𝟏𝟐𝟐𝟕𝟗𝟓𝟕"])
def test_superscript_circled_and_mathematical_digits_are_not_a_phone(phone: str) -> None:
    with pytest.raises(InvalidInput):
        normalise_phone(phone)
