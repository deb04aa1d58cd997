"""The rules of `ecard records import` lines: exact decimal amounts in fen (never through a float),
at most two places, the ID number kept only as its keyed digest, and the reasons a line is refused."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from app.domain.records import Contribution, MedicalEntry, check_query, yuan
from app.domain.records_import import RecordParser, entry_key, fen, parse_line
from app.domain.registry import BadRow
from app.errors import DomainError
from app.security.vault import Vault

VAULT = Vault(b"r" * 32)
TODAY = date(2026, 3, 2)
ID_NUMBER = "440305197611190248"


def contribution(**changes: Any) -> dict[str, Any]:
    return {"kind": "contribution", "id_number": ID_NUMBER, "insurance": "pension", "period": "2025-01",
            "base": "8000.00", "employer": "1280.00", "personal": "640.00", "paid_on": "2025-02-15",
            "employer_name": "深圳市南山区某科技有限公司", **changes}


def medical(**changes: Any) -> dict[str, Any]:
    return {"kind": "medical_account", "id_number": ID_NUMBER, "date": "2025-03-05", "amount": "-35.50",
            "balance": "1234.56", "place": "南山区人民医院", **changes}


def parsed(row: dict[str, Any]) -> Contribution | MedicalEntry:
    return RecordParser(VAULT).record(row, TODAY)


def refusal(row: dict[str, Any]) -> str:
    with pytest.raises(BadRow) as caught:
        parsed(row)
    return str(caught.value)


@pytest.mark.parametrize(("text", "expected"), [
    ('"1280.00"', 128000), ('"1280"', 128000), ('"0.1"', 10), ('"-35.50"', -3550), ("1280.5", 128050),
    ("0.07", 7), ("1280", 128000), ("1.10", 110), ("1e2", 10000), ('"999999999.99"', 99999999999),
])
def test_amounts_are_exact_fen(text: str, expected: int) -> None:
    assert fen(parse_line(f'{{"a": {text}}}')["a"], "a", signed=True) == expected


def test_json_numbers_are_read_as_decimals_not_floats() -> None:
    value = parse_line('{"a": 0.29}')["a"]
    assert isinstance(value, Decimal)
    assert fen(value, "a") == 29  # float(0.29) * 100 is 28.999999999999996
    with pytest.raises(BadRow):
        fen(0.29, "a")  # a float that reached this far could not be trusted to be exact


@pytest.mark.parametrize("text", ['"1280.001"', "1280.001", '"1e3"', '"1,280.00"', '" 12"', '"+5"', '"١٢"',
                                  '"NaN"', '"12."', '".5"', "true", "null", '""', "[1]", '"1000000000.00"',
                                  "1e999999", "1e-999999"])
def test_amounts_that_are_not_exact_with_two_places_are_refused(text: str) -> None:
    with pytest.raises(BadRow):
        fen(parse_line(f'{{"a": {text}}}')["a"], "a", signed=True)


def test_negative_amounts_only_where_a_sign_means_something() -> None:
    assert fen("-1.00", "amount", signed=True) == -100
    with pytest.raises(BadRow, match="employer: must not be negative"):
        fen("-1.00", "employer")


def test_yuan_writes_two_places() -> None:
    assert [yuan(v) for v in (128000, 7, 0, -3550, -5)] == ["1280.00", "0.07", "0.00", "-35.50", "-0.05"]


def test_a_contribution_keeps_the_id_number_only_as_its_keyed_digest() -> None:
    row = parsed(contribution())
    assert row == Contribution(person=VAULT.index(ID_NUMBER), insurance="pension", period="2025-01",
                               base=800000, employer=128000, personal=64000, paid_on=date(2025, 2, 15),
                               employer_name="深圳市南山区某科技有限公司")
    assert ID_NUMBER not in repr(row)


def test_a_medical_entry_is_keyed_by_its_values_as_stored() -> None:
    entry = parsed(medical())
    assert isinstance(entry, MedicalEntry)
    assert (entry.amount, entry.balance) == (-3550, 123456)
    assert parsed(medical(amount="-35.5", balance=Decimal("1234.560"))) == entry
    assert entry.entry_key == entry_key(date(2025, 3, 5), -3550, 123456, "南山区人民医院")
    assert parsed(medical(place="另一家药房")).entry_key != entry.entry_key  # type: ignore[union-attr]


@pytest.mark.parametrize(("row", "reason"), [
    (contribution(kind="refund"), 'kind: "contribution" or "medical_account"'),
    ({k: v for k, v in contribution().items() if k != "kind"}, "kind:"),
    (contribution(extra=1), "unknown keys: extra"),
    (contribution(date="2025-01-01"), "unknown keys: date"),
    ({k: v for k, v in contribution().items() if k != "period"}, "missing: period"),
    (contribution(employer_name=None), "missing: employer_name"),
    (contribution(id_number="440305197611190249"), "id_number"),
    (contribution(id_number=440305197611190248), "id_number: must be text"),
    (contribution(insurance="housing"), "insurance: one of pension, medical"),
    (contribution(period="2025-13"), "period: a month YYYY-MM"),
    (contribution(period="2025-1"), "period: a month YYYY-MM"),
    (contribution(period="2026-04"), "period: in the future"),
    (contribution(paid_on="2025/02/15"), "paid_on: a date YYYY-MM-DD"),
    (contribution(paid_on="20250215"), "paid_on: a date YYYY-MM-DD"),
    (contribution(paid_on="2025-02-30"), "paid_on: a date YYYY-MM-DD"),
    (contribution(paid_on="2026-03-03"), "paid_on: in the future"),
    (contribution(base="8000.005"), "base: a decimal amount"),
    (contribution(personal="-640.00"), "personal: must not be negative"),
    (contribution(employer_name="  "), "employer_name: missing or empty"),
    (contribution(employer_name="某" * 201), "employer_name: more than 200 characters"),
    (medical(balance="-1.00"), "balance: must not be negative"),
    (medical(place=7), "place: missing or empty"),
    (medical(date="2026-03-03"), "date: in the future"),
])
def test_a_bad_line_says_why(row: dict[str, Any], reason: str) -> None:
    assert reason in refusal(row)


@pytest.mark.parametrize("text", ["{", "[1, 2]", '"text"', "1" * 5000])
def test_a_line_that_is_not_a_json_object_is_refused(text: str) -> None:
    with pytest.raises(BadRow):
        parse_line(text)


def test_the_query_is_checked_with_stable_codes() -> None:
    assert check_query("medical", "2024-01", "2024-12") == "medical"
    assert check_query(None, None, None) is None
    for args, code in (((" pension", None, None), "insurance_invalid"),
                       ((None, "2024-1", None), "period_invalid"), ((None, None, "2024-13"), "period_invalid"),
                       ((None, "2025-01", "2024-12"), "period_range_invalid")):
        with pytest.raises(DomainError) as caught:
            check_query(*args)
        assert caught.value.code == code
        assert caught.value.status == 400
