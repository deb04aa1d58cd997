"""Real-name check (实名认证) against the registry of physical cards."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from app.services import Services
from tests.flow import add_channel, bearer, card_row, channel_token, register_and_login, write_jsonl


async def channel_for_user(client: AsyncTestClient[Any], services: Services, phone: str = "13912345678") -> str:
    channel = await add_channel(services, f"app-{phone}")
    user = await register_and_login(client, phone)
    tokens = await channel_token(client, user, channel)
    token: str = tokens["access_token"]
    return token


async def import_rows(services: Services, tmp_path: Path, rows: list[dict[str, Any]]) -> None:
    report = await services.registry.import_file(write_jsonl(tmp_path / "cards.jsonl", rows))
    assert not report.errors, report.errors


async def test_matching_name_and_id_pass_with_masked_holder(
    client: AsyncTestClient[Any], services: Services, tmp_path: Path
) -> None:
    row = card_row(1, name="张三")
    await import_rows(services, tmp_path, [row])
    token = await channel_for_user(client, services)
    r = await client.post("/v1/realname", json={"name": "张三", "id_number": row["id_number"]},
                          headers=bearer(token))
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["realname_id"]
    assert body["holder"] == {"name": "张*", "id_number": row["id_number"][:6] + "********" + row["id_number"][-4:]}
    assert row["id_number"] not in r.text
    assert body["card_no"] == row["card_no"]


@pytest.mark.parametrize(
    "typed",
    ["阿卜杜•热合曼", "阿卜杜・热合曼", "阿卜杜‧热合曼", "阿卜杜\u200b·热合曼", " 阿卜杜·热合曼\ufeff"],
)
async def test_a_name_typed_with_another_middle_dot_or_invisible_characters_matches(
    client: AsyncTestClient[Any], services: Services, tmp_path: Path, typed: str
) -> None:
    row = card_row(1, name="阿卜杜·热合曼")
    await import_rows(services, tmp_path, [row])
    token = await channel_for_user(client, services)
    r = await client.post("/v1/realname", json={"name": typed, "id_number": row["id_number"]},
                          headers=bearer(token))
    assert r.status_code == 201, r.text


async def test_a_name_imported_with_another_dot_is_stored_in_the_one_form(
    client: AsyncTestClient[Any], services: Services, tmp_path: Path
) -> None:
    row = card_row(1, name="阿卜杜・热合曼")
    await import_rows(services, tmp_path, [row])
    async with services.storage.unit_of_work() as uow:
        card = await uow.cards.get(row["card_no"])
    assert card is not None
    assert card.name == "阿卜杜·热合曼"


async def test_a_full_width_id_number_imports_as_the_same_person(
    client: AsyncTestClient[Any], services: Services, tmp_path: Path
) -> None:
    row = card_row(1)
    await import_rows(services, tmp_path, [row])
    full_width = {**row, "id_number": row["id_number"].translate({ord(c): ord(c) + 0xFEE0 for c in "0123456789X"})}
    report = await services.registry.import_file(write_jsonl(tmp_path / "again.jsonl", [full_width]))
    assert (report.added, report.unchanged, report.errors) == (0, 1, [])


async def test_bad_checksum_is_refused_before_lookup(
    client: AsyncTestClient[Any], services: Services
) -> None:
    token = await channel_for_user(client, services)
    r = await client.post("/v1/realname", json={"name": "张三", "id_number": "110105194912310021"},
                          headers=bearer(token))
    assert r.status_code == 422
    assert r.json()["code"] == "invalid_id_number"


async def test_impossible_birth_date_is_refused(client: AsyncTestClient[Any], services: Services) -> None:
    from app.domain.idnumber import check_character  # noqa: PLC0415

    first17 = "11010519491331002"  # month 13
    token = await channel_for_user(client, services)
    r = await client.post("/v1/realname", json={"name": "张三", "id_number": first17 + check_character(first17)},
                          headers=bearer(token))
    assert r.json()["code"] == "invalid_id_number"
    assert "birth date" in r.json()["detail"]


async def test_unknown_region_is_refused(client: AsyncTestClient[Any], services: Services) -> None:
    from app.domain.idnumber import check_character  # noqa: PLC0415

    first17 = "99010519491231002"
    token = await channel_for_user(client, services)
    r = await client.post("/v1/realname", json={"name": "张三", "id_number": first17 + check_character(first17)},
                          headers=bearer(token))
    assert r.json()["code"] == "invalid_id_number"
    assert "region" in r.json()["detail"]


async def test_name_and_id_mismatch_is_refused(
    client: AsyncTestClient[Any], services: Services, tmp_path: Path
) -> None:
    row = card_row(1, name="张三")
    await import_rows(services, tmp_path, [row])
    token = await channel_for_user(client, services)
    r = await client.post("/v1/realname", json={"name": "李四", "id_number": row["id_number"]},
                          headers=bearer(token))
    assert r.status_code == 404
    assert r.json()["code"] == "realname_mismatch"


async def test_card_not_collected_is_not_usable(
    client: AsyncTestClient[Any], services: Services, tmp_path: Path
) -> None:
    row = card_row(1, name="张三", collected_on=None)
    await import_rows(services, tmp_path, [row])
    token = await channel_for_user(client, services)
    r = await client.post("/v1/realname", json={"name": "张三", "id_number": row["id_number"]},
                          headers=bearer(token))
    assert r.status_code == 409
    assert r.json()["code"] == "card_not_usable"


async def test_five_failures_per_account_then_rate_limited(
    client: AsyncTestClient[Any], services: Services, tmp_path: Path
) -> None:
    rows = [card_row(n) for n in range(1, 8)]
    await import_rows(services, tmp_path, rows)
    token = await channel_for_user(client, services)
    for row in rows[:5]:
        r = await client.post("/v1/realname", json={"name": "王五", "id_number": row["id_number"]},
                              headers=bearer(token))
        assert r.status_code == 404
    right = rows[5]
    r = await client.post("/v1/realname", json={"name": right["name"], "id_number": right["id_number"]},
                          headers=bearer(token))
    assert r.status_code == 429
    assert r.json()["code"] == "rate_limited"
    assert int(r.headers["retry-after"]) > 0


async def test_three_wrong_names_for_one_id_number_then_that_pair_is_rate_limited(
    client: AsyncTestClient[Any], services: Services, tmp_path: Path
) -> None:
    row = card_row(1, name="张三")
    await import_rows(services, tmp_path, [row])
    token = await channel_for_user(client, services)
    for name in ("李四", "王五", "赵六"):
        r = await client.post("/v1/realname", json={"name": name, "id_number": row["id_number"]},
                              headers=bearer(token))
        assert r.status_code == 404
    r = await client.post("/v1/realname", json={"name": "张三", "id_number": row["id_number"]},
                          headers=bearer(token))
    assert r.status_code == 429


async def test_a_stranger_cannot_lock_the_holder_out(
    client: AsyncTestClient[Any], services: Services, tmp_path: Path
) -> None:
    row = card_row(1, name="张三")
    await import_rows(services, tmp_path, [row])
    stranger = await channel_for_user(client, services, "13912345600")
    outcomes = []
    for guess in ("李四", "王五", "赵六", "钱七", "孙八"):
        r = await client.post("/v1/realname", json={"name": guess, "id_number": row["id_number"]},
                              headers=bearer(stranger))
        outcomes.append(r.status_code)
    assert outcomes == [404, 404, 404, 429, 429]

    holder = await channel_for_user(client, services, "13912345601")
    r = await client.post("/v1/realname", json={"name": "张三", "id_number": row["id_number"]},
                          headers=bearer(holder))
    assert r.status_code == 201, r.text


async def test_twenty_wrong_names_per_id_number_across_accounts(
    client: AsyncTestClient[Any], services: Services, tmp_path: Path
) -> None:
    row = card_row(1, name="张三")
    await import_rows(services, tmp_path, [row])
    guesses = iter(f"李{chr(0x4E00 + i)}" for i in range(40))
    wrong = 0
    for index in range(7):
        token = await channel_for_user(client, services, f"139123456{index:02d}")
        for _ in range(3):
            r = await client.post("/v1/realname", json={"name": next(guesses), "id_number": row["id_number"]},
                                  headers=bearer(token))
            wrong += r.status_code == 404
    assert wrong == 20
    token = await channel_for_user(client, services, "13912345699")
    r = await client.post("/v1/realname", json={"name": "张三", "id_number": row["id_number"]},
                          headers=bearer(token))
    assert r.status_code == 429


async def test_empty_name_is_refused(client: AsyncTestClient[Any], services: Services) -> None:
    token = await channel_for_user(client, services)
    r = await client.post("/v1/realname", json={"name": "   ", "id_number": "11010519491231002X"},
                          headers=bearer(token))
    assert r.status_code == 422
    assert r.json()["code"] == "invalid_name"
