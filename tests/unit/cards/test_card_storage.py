"""The SQLite adapter of the card lifecycle, against a real database file."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date, timedelta
from pathlib import Path

import aiosqlite
import msgspec
import pytest

from app.clock import FrozenClock
from app.domain.cards.model import Actor, CardEvent
from app.domain.cards.service import CardService
from app.storage.database import Database
from app.storage.repositories.audit import SqlAudit
from app.storage.repositories.cards import SqlCards
from app.storage.repositories.codec import ts
from app.storage.repositories.holders import Holder, HolderSeal
from app.storage.sql import SqliteSql
from tests.unit.fakes import HOLDER_ID, START, VAULT, PlainPinHasher, RecordingListener, card

HOLDERS = HolderSeal(VAULT)


@pytest.fixture
async def database(tmp_path: Path) -> AsyncIterator[Database]:
    db = Database(tmp_path / "cards.db")
    await db.open()
    try:
        yield db
    finally:
        await db.close()


async def insert(db: Database, number: str = "A12345678", **changes: object) -> None:
    record = card(number, **changes)
    async with db.transaction() as conn:
        await conn.execute(
            "INSERT INTO cards (card_no, id_digest, id_sealed, holder_sealed, aab301,"
            " collected_on, ss_state, fin_state, loss_state, loss_since, photo_sealed,"
            " record_digest, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'd', ?, ?)",
            (record.card_no, record.id_digest, record.id_sealed,
             HOLDERS.seal(record.id_digest, Holder(name=record.name, birth_date=date(1988, 5, 17), gender="male")),
             record.aab301, record.collected_on and record.collected_on.isoformat(), record.ss_state,
             record.fin_state, record.loss_state, record.loss_since and ts(record.loss_since),
             VAULT.seal(b"portrait", context=number.encode()), ts(START), ts(START)),
        )


async def test_imported_card_reads_with_initial_pin_state(database: Database) -> None:
    await insert(database)
    async with database.transaction() as conn:
        got = await SqlCards(SqliteSql(conn), HOLDERS).get("A12345678")
    assert got is not None
    assert (got.pin.hash, got.pin.change_required, got.pin.failures) == (None, True, 0)
    assert got.collected_on == date(2026, 1, 5)


async def test_save_refuses_a_stale_version(database: Database) -> None:
    await insert(database)
    async with database.transaction() as conn:
        repo = SqlCards(SqliteSql(conn), HOLDERS)
        first = await repo.get("A12345678")
        assert first is not None
        assert await repo.save(msgspec.structs.replace(first, loss_state="temporary", loss_since=START))
        assert not await repo.save(msgspec.structs.replace(first, loss_state="formal"))
        again = await repo.get("A12345678")
    assert again is not None
    assert (again.loss_state, again.loss_since) == ("temporary", START)


async def test_pin_attempts_stop_counting_at_the_limit(database: Database) -> None:
    await insert(database)
    async with database.transaction() as conn:
        repo = SqlCards(SqliteSql(conn), HOLDERS)
        counts = [await repo.count_pin_attempt("A12345678", limit=2) for _ in range(3)]
    assert counts == [1, 2, None]


async def test_card_events_are_append_only(database: Database) -> None:
    await insert(database)
    async with database.transaction() as conn:
        await SqlCards(SqliteSql(conn), HOLDERS).add_event(CardEvent(
            card_no="A12345678", at=START, action="activated", actor="bank", agent=None,
            before={"financial": "inactive"}, after={"financial": "active"}))
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        async with database.transaction() as conn:
            await conn.execute("DELETE FROM card_events")
    async with database.transaction() as conn:
        [event] = await SqlCards(SqliteSql(conn), HOLDERS).events("A12345678")
    assert (event.action, event.after) == ("activated", {"financial": "active"})


async def test_sweep_queries_find_only_due_cards(database: Database) -> None:
    await insert(database, "A00000001", loss_state="temporary", loss_since=START - timedelta(days=8))
    await insert(database, "A00000002", loss_state="temporary", loss_since=START - timedelta(days=1))
    await insert(database, "A00000003", collected_on=date(2025, 1, 1))
    await insert(database, "A00000004", collected_on=date(2025, 1, 1), fin_state="active")
    async with database.transaction() as conn:
        repo = SqlCards(SqliteSql(conn), HOLDERS)
        lapsing = await repo.temporary_losses_reported_before(START - timedelta(days=7))
        due = await repo.financially_inactive_collected_on_or_before(date(2025, 3, 1))
    assert lapsing == ["A00000001"]
    assert due == ["A00000003"]


class LifecycleUnitOfWork:
    def __init__(self, conn: aiosqlite.Connection) -> None:
        self.cards = SqlCards(SqliteSql(conn), HOLDERS)
        self.audit = SqlAudit(SqliteSql(conn))


class LifecycleStorage:
    """The real SQLite repositories the lifecycle uses, in one transaction."""

    def __init__(self, db: Database) -> None:
        self.db = db

    @asynccontextmanager
    async def unit_of_work(self) -> AsyncIterator[LifecycleUnitOfWork]:
        async with self.db.transaction() as conn:
            yield LifecycleUnitOfWork(conn)


async def test_two_concurrent_replacements_give_one_in_sqlite(database: Database) -> None:
    await insert(database)
    service = CardService(LifecycleStorage(database), FrozenClock(START), VAULT, RecordingListener(),  # type: ignore[arg-type]
                          pin_hasher=PlainPinHasher())
    outcomes = await asyncio.gather(*(
        service.replace("A12345678", holder_id_number=HOLDER_ID, actor=Actor(channel=f"counter-{i}"))
        for i in range(2)), return_exceptions=True)
    codes = sorted(getattr(o, "code", "ok") for o in outcomes)
    assert codes == ["card_replaced", "ok"]
    async with database.transaction() as conn:
        cursor = await conn.execute("SELECT card_no, replaces, photo_sealed FROM cards")
        rows = await cursor.fetchall()
    assert len(rows) == 2
    new = next(r for r in rows if r["replaces"] == "A12345678")
    assert VAULT.unseal(new["photo_sealed"], context=new["card_no"].encode()) == b"portrait"
