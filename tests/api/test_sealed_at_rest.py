"""What a reader of the database file sees: no ID number, no way to rebuild one, no holder's name,
phone or address. Every table and column is read, not only the ones meant to hold them."""

from __future__ import annotations

import sqlite3
from datetime import date
from pathlib import Path
from typing import Any

from litestar.testing import AsyncTestClient

from app.composition import open_services
from app.config import Settings
from app.domain.idnumber import make_id_number
from app.face.pool import ProcessPoolFaceEngine
from app.security.vault import load_vault
from app.services import Services
from app.storage.database import migration_scripts
from tests.api.test_realname import channel_for_user
from tests.flow import add_channel, bearer, card_row, client_credentials, write_jsonl


def id_ending_in_x(region: str, birth: date) -> str:
    """An ID number whose check character is X: its last four characters then cannot turn up by
    chance in the hexadecimal digests and timestamps the database also holds."""
    return next(n for n in (make_id_number(region, birth, seq) for seq in range(1, 1000)) if n.endswith("X"))


HOLDERS = [
    card_row(1, name="阿卜杜·热合曼", id_number=id_ending_in_x("650102", date(1987, 4, 9)),
             phone="13700001111", address="乌鲁木齐市天山区解放南路8号", postcode="830000", ethnicity="维吾尔族"),
    card_row(2, name="林晓梅", id_number=id_ending_in_x("440305", date(1992, 11, 30)),
             phone="13700002222", address="深圳市南山区科技园1栋", postcode="518057", ethnicity="汉族"),
]


AGENT = {"name": "欧阳娜娜", "id_number": id_ending_in_x("110105", date(1970, 2, 14)), "phone": "",
         "address": ""}


def plaintext(database: Path) -> str:
    """Every value of every table, as text (blobs as Latin-1, which maps every byte)."""
    values: list[str] = []
    with sqlite3.connect(database) as db:
        tables = [row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        for table in tables:
            for row in db.execute(f"SELECT * FROM {table}"):
                for value in row:
                    if isinstance(value, bytes):
                        values.append(value.decode("latin-1"))
                    elif value is not None:
                        values.append(str(value))
    return "\n".join(values)


def secrets_of(row: dict[str, Any]) -> dict[str, list[str]]:
    number: str = row["id_number"]
    birth = number[6:14]
    return {
        "the ID number": [number],
        "its birth date": [birth, f"{birth[:4]}-{birth[4:6]}-{birth[6:]}"],
        "its sequence and check character": [number[-4:]],
        "the name": [row["name"]],
        "the phone": [row["phone"]] if row["phone"] else [],
        "the address": [row["address"]] if row["address"] else [],
    }


async def test_no_id_number_name_phone_or_address_can_be_read_from_the_database(
    client: AsyncTestClient[Any], services: Services, settings: Settings, tmp_path: Path
) -> None:
    report = await services.registry.import_file(write_jsonl(tmp_path / "cards.jsonl", HOLDERS))
    assert report.added == 2
    token = await channel_for_user(client, services)
    for row in HOLDERS:  # a wrong try and a right one, so the audit trail has both
        await client.post("/v1/realname", json={"name": "王五", "id_number": row["id_number"]}, headers=bearer(token))
        passed = await client.post("/v1/realname", json={"name": row["name"], "id_number": row["id_number"]},
                                   headers=bearer(token))
        assert passed.status_code == 201
        # Shown masked to the client, computed when asked for:
        assert passed.json()["holder"]["id_number"] == row["id_number"][:6] + "********" + row["id_number"][-4:]

    # A counter acts for the first holder through an agent (委托办理): the history keeps the agent.
    bureau = await add_channel(services, "city-bureau", kind="counter", scopes=("card:manage",))
    counter = bearer(await client_credentials(client, bureau, "card:manage"))
    reported = await client.post(f"/v1/cards/{HOLDERS[0]['card_no']}/loss-reports", headers=counter, json={
        "kind": "temporary", "agent": {"name": AGENT["name"], "id_number": AGENT["id_number"],
                                       "power_of_attorney_ref": "POA-1"}})
    assert reported.status_code == 200, reported.text
    history = (await client.get(f"/v1/cards/{HOLDERS[0]['card_no']}/events", headers=counter)).json()
    assert any(e["agent"] and e["agent"]["name"] == AGENT["name"] for e in history)

    stored = plaintext(settings.sqlite_path)
    for what, forms in secrets_of(AGENT).items():
        for form in forms:
            assert form not in stored, f"{what} of the agent is readable: {form}"
    for row in HOLDERS:
        for what, forms in secrets_of(row).items():
            for form in forms:
                assert form not in stored, f"{what} of {row['card_no']} is readable: {form}"


async def test_a_version_1_database_is_sealed_at_the_next_start(
    settings: Settings, face_engine: ProcessPoolFaceEngine
) -> None:
    path, plain = settings.sqlite_path, HOLDERS[0]
    vault = load_vault(settings.keys_dir, create=True)
    with sqlite3.connect(path) as db:  # the schema and data as version 1 left them: plaintext holders
        db.execute("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL,"
                   " applied_at TEXT NOT NULL)")
        for version, name, sql in migration_scripts():
            if version < 7:
                db.executescript(sql)
                db.execute("INSERT INTO schema_migrations VALUES (?, ?, '2026-01-01T00:00:00Z')", (version, name))
        db.execute(
            "INSERT INTO cards (card_no, id_digest, id_sealed, id_masked, name, aab301, birth_date, gender,"
            " ethnicity, phone, address, postcode, ss_state, fin_state, record_digest, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, '650100', '1987-04-09', 'male', ?, ?, ?, ?, 'active', 'inactive', 'd',"
            " '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')",
            (plain["card_no"], vault.index(plain["id_number"]),
             vault.seal(plain["id_number"].encode(), context=plain["card_no"].encode()),
             "650102********" + plain["id_number"][-4:], plain["name"], plain["ethnicity"], plain["phone"],
             plain["address"], plain["postcode"]))

    async with open_services(settings, face_engine=face_engine) as services, services.storage.unit_of_work() as uow:
        card = await uow.cards.get(plain["card_no"])

    assert card is not None
    assert (card.name, card.phone, card.address, card.birth_date) == (
        plain["name"], plain["phone"], plain["address"], date(1987, 4, 9))
    assert card.id_masked == plain["id_number"][:6] + "********" + plain["id_number"][-4:]
    stored = plaintext(path)
    for what, forms in secrets_of(plain).items():
        for form in forms:
            assert form not in stored, f"{what} is still readable after the upgrade: {form}"
