# ruff: noqa: F811 - the shared `world` fixture is imported, then named by each test
"""Social insurance records (SPEC §8 "Holder self-service"): the holder's monthly contributions
with totals and the medical individual account, read with scope `ecard:records`, amounts as
decimal strings."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.test_ecards import (
    HOLDER_SCOPES,
    World,
    world,  # noqa: F401 - the fixture, shared
)
from tests.api.test_oauth import authorize_params
from tests.api.test_qrcodes import relying_party
from tests.flow import add_channel, card_row, write_jsonl

RECORD_SCOPES = (*HOLDER_SCOPES, "ecard:records")


def contribution(n: int, insurance: str, period: str, employer: str, personal: str) -> dict[str, Any]:
    return {"kind": "contribution", "id_number": card_row(n)["id_number"], "insurance": insurance,
            "period": period, "base": "8000.00", "employer": employer, "personal": personal,
            "paid_on": f"{period}-15", "employer_name": "深圳市南山区星河科技有限公司"}


def medical(n: int, date: str, amount: str, balance: str, place: str = "南山区人民医院") -> dict[str, Any]:
    return {"kind": "medical_account", "id_number": card_row(n)["id_number"], "date": date, "amount": amount,
            "balance": balance, "place": place}


async def load(world: World, *rows: dict[str, Any]) -> None:
    report = await world.services.record_importer.import_file(write_jsonl(world.tmp / "records.jsonl", list(rows)))
    assert report.added == len(rows), report


async def holder(world: World, phone: str = "13900000001", card_no: str = "A00000001",
                 scopes: tuple[str, ...] = RECORD_SCOPES) -> dict[str, str]:
    """A holder with an e-card, and a channel token with `scopes`."""
    account_id = await world.account(phone)
    world.pass_face(account_id, card_no)
    assert (await world.client.post("/v1/ecards", headers=await world.token(account_id, "demo-app"))).status_code == 201
    return await world.token(account_id, "demo-app", scopes)


async def records_of_holder_1(world: World) -> None:
    await load(
        world,
        contribution(1, "pension", "2025-01", "1280.00", "640.00"),
        contribution(1, "pension", "2025-02", "1280.00", "640.00"),
        contribution(1, "medical", "2025-02", "400.00", "160.00"),
        contribution(1, "pension", "2025-03", "1280.50", "640.05"),
        medical(1, "2025-02-01", "345.60", "1580.16", "单位缴费划入"),
        medical(1, "2025-02-10", "-35.50", "1544.66"),
        medical(1, "2025-02-10", "-10.00", "1534.66", "某药房"),
    )


async def get(world: World, path: str, headers: dict[str, str], **params: str) -> dict[str, Any]:
    r = await world.client.get(path, headers=headers, params=params)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def test_contributions_are_monthly_rows_with_totals_as_decimal_strings(world: World) -> None:
    await records_of_holder_1(world)
    body = await get(world, "/v1/ecards/me/contributions", await holder(world))
    assert body["rows"][0] == {"period": "2025-03", "insurance": "pension", "base": "8000.00", "employer": "1280.50",
                               "personal": "640.05", "paid_on": "2025-03-15",
                               "employer_name": "深圳市南山区星河科技有限公司"}
    assert [(r["period"], r["insurance"]) for r in body["rows"]] == [
        ("2025-03", "pension"), ("2025-02", "medical"), ("2025-02", "pension"), ("2025-01", "pension")]
    assert body["totals"] == {"employer": "4240.50", "personal": "2080.05", "months": 3}


async def test_contributions_are_filtered_by_insurance_and_period(world: World) -> None:
    await records_of_holder_1(world)
    headers = await holder(world)
    pension = await get(world, "/v1/ecards/me/contributions", headers, insurance="pension", **{"from": "2025-02"})
    assert [r["period"] for r in pension["rows"]] == ["2025-03", "2025-02"]
    assert pension["totals"] == {"employer": "2560.50", "personal": "1280.05", "months": 2}
    february = await get(world, "/v1/ecards/me/contributions", headers, **{"from": "2025-02", "to": "2025-02"})
    assert [r["insurance"] for r in february["rows"]] == ["medical", "pension"]
    none = await get(world, "/v1/ecards/me/contributions", headers, insurance="maternity")
    assert none == {"rows": [], "totals": {"employer": "0.00", "personal": "0.00", "months": 0}}


@pytest.mark.parametrize(("params", "code"), [
    ({"insurance": "housing"}, "insurance_invalid"),
    ({"insurance": ""}, "insurance_invalid"),
    ({"from": "2025-13"}, "period_invalid"),
    ({"to": "2025-1"}, "period_invalid"),
    ({"from": "2025-03-01"}, "period_invalid"),
    ({"from": "2025-03", "to": "2025-02"}, "period_range_invalid"),
])
async def test_a_bad_query_value_is_400_with_a_stable_code(world: World, params: dict[str, str], code: str) -> None:
    r = await world.client.get("/v1/ecards/me/contributions", headers=await holder(world), params=params)
    assert r.status_code == 400
    assert r.json()["code"] == code


async def test_the_medical_account_shows_the_latest_balance_and_entries_newest_first(world: World) -> None:
    await records_of_holder_1(world)
    body = await get(world, "/v1/ecards/me/medical-account", await holder(world))
    assert body["balance"] == "1534.66"
    assert body["entries"] == [
        {"date": "2025-02-10", "amount": "-10.00", "balance": "1534.66", "place": "某药房"},
        {"date": "2025-02-10", "amount": "-35.50", "balance": "1544.66", "place": "南山区人民医院"},
        {"date": "2025-02-01", "amount": "345.60", "balance": "1580.16", "place": "单位缴费划入"},
    ]


async def test_the_medical_account_lists_the_20_most_recent_entries(world: World) -> None:
    await load(world, *(medical(1, f"2025-01-{day:02d}", "1.00", f"{day}.00") for day in range(1, 26)))
    body = await get(world, "/v1/ecards/me/medical-account", await holder(world))
    assert body["balance"] == "25.00"
    assert [e["date"] for e in body["entries"]] == [f"2025-01-{day:02d}" for day in range(25, 5, -1)]


async def test_a_holder_without_records_sees_empty_answers(world: World) -> None:
    headers = await holder(world)
    assert await get(world, "/v1/ecards/me/medical-account", headers) == {"entries": []}
    assert (await get(world, "/v1/ecards/me/contributions", headers))["rows"] == []


async def test_another_holder_sees_only_their_own_records(world: World) -> None:
    await records_of_holder_1(world)
    await load(world, contribution(2, "pension", "2025-01", "900.00", "450.00"),
               medical(2, "2025-01-05", "-5.00", "95.00"))
    theirs = await holder(world, "13900000002", "A00000002")
    contributions = await get(world, "/v1/ecards/me/contributions", theirs)
    assert [(r["period"], r["employer"]) for r in contributions["rows"]] == [("2025-01", "900.00")]
    account = await get(world, "/v1/ecards/me/medical-account", theirs)
    assert account["balance"] == "95.00"
    assert len(account["entries"]) == 1


async def test_the_consent_prompt_describes_the_records_scope_in_two_languages(world: World) -> None:
    await add_channel(world.services, "records-app", scopes=RECORD_SCOPES)
    r = await world.client.get("/v1/oauth/authorize",
                               params=authorize_params("records-app", scope="ecard:read ecard:records"))
    assert r.status_code == 200, r.text
    (records,) = [s for s in r.json()["scopes"] if s["scope"] == "ecard:records"]
    assert "医保个人账户" in records["description_zh"]
    assert "medical individual account" in records["description_en"]


@pytest.mark.parametrize("path", ["/v1/ecards/me/contributions", "/v1/ecards/me/medical-account"])
async def test_records_need_the_records_scope(world: World, path: str) -> None:
    r = await world.client.get(path, headers=await holder(world, scopes=HOLDER_SCOPES))
    assert r.status_code == 403
    assert r.json()["code"] == "insufficient_scope"


@pytest.mark.parametrize("path", ["/v1/ecards/me/contributions", "/v1/ecards/me/medical-account"])
async def test_a_relying_party_token_cannot_read_records(world: World, path: str) -> None:
    await records_of_holder_1(world)
    r = await world.client.get(path, headers=await relying_party(world, scopes=("ecard:verify", "ecard:records")))
    assert r.status_code == 403
    assert r.json()["code"] == "delegated_token_required"


@pytest.mark.parametrize("path", ["/v1/ecards/me/contributions", "/v1/ecards/me/medical-account"])
async def test_records_without_an_ecard_are_404(world: World, path: str) -> None:
    await records_of_holder_1(world)
    account_id = await world.account("13900000001")
    r = await world.client.get(path, headers=await world.token(account_id, "demo-app", RECORD_SCOPES))
    assert r.status_code == 404
    assert r.json()["code"] == "ecard_not_found"
