from __future__ import annotations

import sqlite3
from datetime import datetime

import aiosqlite

from app.domain.registry import CardRecord, ImportOutcome, NewCard
from app.storage.sqlite.codec import iso_date, opt_date, opt_ts, ts
from app.storage.sqlite.holders import Holder, HolderSeal

_CARD_COLUMNS = (
    "card_no, id_digest, id_sealed, holder_sealed, aab301, bank, collected_on, ss_state, fin_state,"
    " fin_since, loss_state, loss_since, status, replaced_by, photo_sha256"
)


def card_from_row(row: sqlite3.Row, holders: HolderSeal) -> CardRecord:
    holder = holders.unseal(row["id_digest"], bytes(row["holder_sealed"]))
    return CardRecord(
        card_no=row["card_no"], id_digest=row["id_digest"],
        id_masked=holders.masked_id(row["card_no"], bytes(row["id_sealed"])),
        name=holder.name, aab301=row["aab301"], birth_date=holder.birth_date, gender=holder.gender,
        ethnicity=holder.ethnicity, phone=holder.phone, address=holder.address,
        postcode=holder.postcode, bank=row["bank"], collected_on=opt_date(row["collected_on"]),
        ss_state=row["ss_state"], fin_state=row["fin_state"], fin_since=opt_date(row["fin_since"]),
        loss_state=row["loss_state"], loss_since=opt_ts(row["loss_since"]), status=row["status"],
        replaced_by=row["replaced_by"], photo_sha256=row["photo_sha256"],
    )


def holder_of(card: CardRecord) -> Holder:
    return Holder(name=card.name, birth_date=card.birth_date, gender=card.gender, ethnicity=card.ethnicity,
                  phone=card.phone, address=card.address, postcode=card.postcode)


class SqliteCards:
    def __init__(self, conn: aiosqlite.Connection, holders: HolderSeal) -> None:
        self._conn = conn
        self._holders = holders

    async def get(self, card_no: str) -> CardRecord | None:
        cursor = await self._conn.execute(
            f"SELECT {_CARD_COLUMNS} FROM cards WHERE card_no = ?", (card_no,))  # noqa: S608
        row = await cursor.fetchone()
        return None if row is None else card_from_row(row, self._holders)

    async def by_id_digest(self, id_digest: str) -> list[CardRecord]:
        cursor = await self._conn.execute(
            f"SELECT {_CARD_COLUMNS} FROM cards WHERE id_digest = ? ORDER BY created_at",  # noqa: S608
            (id_digest,))
        return [card_from_row(row, self._holders) for row in await cursor.fetchall()]

    async def sealed_photo(self, card_no: str) -> bytes | None:
        cursor = await self._conn.execute("SELECT photo_sealed FROM cards WHERE card_no = ?", (card_no,))
        row = await cursor.fetchone()
        return None if row is None else row[0]

    async def import_batch(self, cards: list[NewCard], at: datetime) -> list[ImportOutcome]:
        numbers = [c.record.card_no for c in cards]
        marks = ",".join("?" * len(numbers))
        cursor = await self._conn.execute(
            f"SELECT card_no, record_digest FROM cards WHERE card_no IN ({marks})", numbers)  # noqa: S608
        known = {row[0]: row[1] for row in await cursor.fetchall()}
        people = list({c.record.id_digest for c in cards})
        cursor = await self._conn.execute(
            f"SELECT id_digest FROM cards WHERE status = 'normal' AND id_digest IN ({','.join('?' * len(people))})",  # noqa: S608
            people)
        holding = {row[0] for row in await cursor.fetchall()}
        outcomes: list[ImportOutcome] = []
        fresh = []
        for card in cards:
            number = card.record.card_no
            if number in known:
                outcomes.append("unchanged" if known[number] == card.record_digest else "conflict")
                continue
            if card.record.id_digest in holding:
                outcomes.append("holder_has_card")
                continue
            known[number] = card.record_digest
            holding.add(card.record.id_digest)
            outcomes.append("added")
            fresh.append(card)
        now = ts(at)
        await self._conn.executemany(
            "INSERT INTO cards (card_no, id_digest, id_sealed, holder_sealed, aab301, bank, collected_on,"
            " ss_state, fin_state, fin_since, photo_sealed, photo_sha256, record_digest, created_at,"
            " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (r.card_no, r.id_digest, c.id_sealed, self._holders.seal(r.id_digest, holder_of(r)), r.aab301,
                 r.bank, iso_date(r.collected_on), r.ss_state, r.fin_state, iso_date(r.fin_since),
                 c.photo_sealed, r.photo_sha256, c.record_digest, now, now)
                for c in fresh
                for r in (c.record,)
            ],
        )
        return outcomes
