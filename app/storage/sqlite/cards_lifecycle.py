"""SQLite storage of the card lifecycle: the lifecycle columns of `cards` and `card_events`."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, date, datetime
from typing import Any

import aiosqlite
import msgspec

from app.domain.cards.model import CardEvent, CardRecord, PinState
from app.storage.sqlite.codec import dumps, iso_date, opt_date, opt_ts, ts
from app.storage.sqlite.holders import HolderSeal

_COLUMNS = (
    "card_no, aab301, id_digest, id_sealed, holder_sealed, ss_state, ss_since, ss_channel,"
    " fin_state, fin_since, fin_channel, collected_on, loss_state, loss_since, status, status_since,"
    " replaced_by, replaces, bank, pin_hash, pin_change_required,"
    " pin_failures, pin_locked_at, pin_changed_at, lifecycle_version, updated_at"
)


def _day(text: str | None) -> date | None:
    """Dates are stored as YYYY-MM-DD; tolerate a full timestamp written by older code."""
    return None if text is None else opt_date(text[:10])


def _card(row: sqlite3.Row, holders: HolderSeal) -> CardRecord:
    holder = holders.unseal(row["id_digest"], bytes(row["holder_sealed"]))
    return CardRecord(
        card_no=row["card_no"], aab301=row["aab301"], name=holder.name, id_digest=row["id_digest"],
        id_sealed=bytes(row["id_sealed"]),
        id_masked=holders.masked_id(row["card_no"], bytes(row["id_sealed"])),
        ss_state=row["ss_state"], ss_since=_day(row["ss_since"]), ss_channel=row["ss_channel"],
        fin_state=row["fin_state"], fin_since=_day(row["fin_since"]), fin_channel=row["fin_channel"],
        collected_on=_day(row["collected_on"]), loss_state=row["loss_state"],
        loss_since=opt_ts(row["loss_since"]), status=row["status"],
        status_since=opt_ts(row["status_since"]), replaced_by=row["replaced_by"],
        replaces=row["replaces"], phone=holder.phone, address=holder.address,
        postcode=holder.postcode, bank=row["bank"],
        pin=PinState(
            hash=row["pin_hash"], change_required=bool(row["pin_change_required"]),
            failures=row["pin_failures"], locked_at=opt_ts(row["pin_locked_at"]),
            changed_at=opt_ts(row["pin_changed_at"]),
        ),
        version=row["lifecycle_version"], updated_at=opt_ts(row["updated_at"]),
    )


def _opt_ts(moment: datetime | None) -> str | None:
    return None if moment is None else ts(moment)


def _event(row: sqlite3.Row, holders: HolderSeal) -> CardEvent:
    agent = holders.unseal_agent(row["card_no"], row["agent"]) if row["agent"] else None
    return CardEvent(
        card_no=row["card_no"], at=datetime.fromisoformat(row["at"]), action=row["action"],
        actor=row["actor"], agent=agent, before=json.loads(row["before"]),
        after=json.loads(row["after"]), detail=json.loads(row["detail"]),
    )


class SqliteCardLifecycle:
    def __init__(self, conn: aiosqlite.Connection, holders: HolderSeal) -> None:
        self._conn = conn
        self._holders = holders

    async def _holder_with_contact(self, card_no: str, card: CardRecord) -> bytes | None:
        """The sealed holder of `card_no` with `card`'s phone, address and postcode (the contact
        details the lifecycle confirms); None when there is no such card."""
        cursor = await self._conn.execute(
            "SELECT id_digest, holder_sealed FROM cards WHERE card_no = ?", (card_no,))
        row = await cursor.fetchone()
        if row is None:
            return None
        holder = self._holders.unseal(row["id_digest"], bytes(row["holder_sealed"]))
        updated = msgspec.structs.replace(holder, phone=card.phone, address=card.address, postcode=card.postcode)
        return self._holders.seal(row["id_digest"], updated)

    async def get(self, card_no: str) -> CardRecord | None:
        cursor = await self._conn.execute(
            f"SELECT {_COLUMNS} FROM cards WHERE card_no = ?", (card_no,))  # noqa: S608
        row = await cursor.fetchone()
        return None if row is None else _card(row, self._holders)

    async def exists(self, card_no: str) -> bool:
        cursor = await self._conn.execute("SELECT 1 FROM cards WHERE card_no = ?", (card_no,))
        return await cursor.fetchone() is not None

    async def save(self, card: CardRecord) -> bool:
        holder = await self._holder_with_contact(card.card_no, card)
        if holder is None:
            return False
        cursor = await self._conn.execute(
            "UPDATE cards SET ss_state = ?, ss_since = ?, ss_channel = ?, fin_state = ?,"
            " fin_since = ?, fin_channel = ?, collected_on = ?, loss_state = ?, loss_since = ?,"
            " status = ?, status_since = ?, replaced_by = ?, holder_sealed = ?,"
            " pin_hash = ?, pin_change_required = ?, pin_failures = ?, pin_locked_at = ?,"
            " pin_changed_at = ?, updated_at = ?, lifecycle_version = lifecycle_version + 1"
            " WHERE card_no = ? AND lifecycle_version = ?",
            (
                card.ss_state, iso_date(card.ss_since), card.ss_channel, card.fin_state,
                iso_date(card.fin_since), card.fin_channel, iso_date(card.collected_on),
                card.loss_state, _opt_ts(card.loss_since), card.status, _opt_ts(card.status_since),
                card.replaced_by, holder, card.pin.hash,
                int(card.pin.change_required), card.pin.failures, _opt_ts(card.pin.locked_at),
                _opt_ts(card.pin.changed_at), _opt_ts(card.updated_at or datetime.now(UTC)),
                card.card_no, card.version,
            ),
        )
        return cursor.rowcount == 1

    async def sealed_photo(self, card_no: str) -> bytes | None:
        cursor = await self._conn.execute("SELECT photo_sealed FROM cards WHERE card_no = ?", (card_no,))
        row = await cursor.fetchone()
        return None if row is None or row[0] is None else bytes(row[0])

    async def add_replacement(self, old_card_no: str, new: CardRecord, photo_sealed: bytes | None) -> None:
        # The holder (sealed; the lifecycle models only the contact details) and the photo digest
        # are carried over from the old row.
        at = _opt_ts(new.updated_at or datetime.now(UTC))
        holder = await self._holder_with_contact(old_card_no, new)
        await self._conn.execute(
            "INSERT INTO cards (card_no, id_digest, id_sealed, holder_sealed, aab301, bank, collected_on,"
            " ss_state, ss_since, ss_channel, fin_state, status, status_since, replaces, photo_sealed,"
            " photo_sha256, record_digest, created_at, updated_at)"
            " SELECT ?, id_digest, ?, ?, aab301, bank, ?, ?, ?, ?, ?, 'normal', ?, card_no, ?,"
            " photo_sha256, record_digest, ?, ? FROM cards WHERE card_no = ?",
            (
                new.card_no, new.id_sealed, holder, iso_date(new.collected_on), new.ss_state,
                iso_date(new.ss_since), new.ss_channel, new.fin_state, _opt_ts(new.status_since),
                photo_sealed, at, at, old_card_no,
            ),
        )

    async def count_pin_attempt(self, card_no: str, *, limit: int) -> int | None:
        cursor = await self._conn.execute(
            "UPDATE cards SET pin_failures = pin_failures + 1,"
            " lifecycle_version = lifecycle_version + 1"
            " WHERE card_no = ? AND pin_failures < ? RETURNING pin_failures",
            (card_no, limit),
        )
        row = await cursor.fetchone()
        return None if row is None else int(row[0])

    async def add_event(self, event: CardEvent) -> None:
        await self._conn.execute(
            "INSERT INTO card_events (card_no, at, action, actor, agent, before, after, detail)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                event.card_no, ts(event.at), event.action, event.actor,
                self._holders.seal_agent(event.card_no, event.agent) if event.agent is not None else None,
                dumps(event.before), dumps(event.after), dumps(_plain(event.detail)),
            ),
        )

    async def events(self, card_no: str) -> list[CardEvent]:
        cursor = await self._conn.execute(
            "SELECT card_no, at, action, actor, agent, before, after, detail FROM card_events"
            " WHERE card_no = ? ORDER BY id", (card_no,))
        return [_event(row, self._holders) for row in await cursor.fetchall()]

    async def temporary_losses_reported_before(self, moment: datetime) -> list[str]:
        cursor = await self._conn.execute(
            "SELECT card_no FROM cards WHERE status = 'normal' AND loss_state = 'temporary'"
            " AND loss_since <= ? ORDER BY loss_since, card_no", (ts(moment),))
        return [row[0] for row in await cursor.fetchall()]

    async def financially_inactive_collected_on_or_before(self, day: date) -> list[str]:
        cursor = await self._conn.execute(
            "SELECT card_no FROM cards WHERE status = 'normal' AND loss_state = 'none'"
            " AND fin_state = 'inactive' AND collected_on IS NOT NULL AND collected_on <= ?"
            " ORDER BY collected_on, card_no", (day.isoformat(),))
        return [row[0] for row in await cursor.fetchall()]


def _plain(detail: dict[str, Any]) -> dict[str, Any]:
    return json.loads(json.dumps(detail, default=str))  # type: ignore[no-any-return]
