"""Storage of the physical cards (`cards`) and their histories (`card_events`).

The holder's personal data is sealed (app/storage/repositories/holders.py); the masked ID number is
computed from the sealed ID number when a card is read.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

from app.domain.cards.model import CardEvent, CardRecord, ImportOutcome, NewCard, PinState
from app.storage.repositories.codec import dumps, iso_date, opt_date, opt_ts, ts
from app.storage.repositories.holders import Holder, HolderSeal
from app.storage.sql import Duplicate, Row, Sql

_COLUMNS = (
    "card_no, aab301, id_digest, id_sealed, holder_sealed, bank, collected_on, ss_state, ss_since,"
    " ss_channel, fin_state, fin_since, fin_channel, loss_state, loss_since, status, status_since,"
    " replaced_by, replaces, photo_sha256, pin_hash, pin_change_required, pin_failures, pin_locked_at,"
    " pin_changed_at, lifecycle_version, updated_at"
)


def _day(text: str | None) -> date | None:
    """Dates are stored as YYYY-MM-DD; tolerate a full timestamp written by older code."""
    return None if text is None else opt_date(text[:10])


def _opt_ts(moment: datetime | None) -> str | None:
    return None if moment is None else ts(moment)


def card_from_row(row: Row, holders: HolderSeal) -> CardRecord:
    holder = holders.unseal(row["id_digest"], bytes(row["holder_sealed"]))
    return CardRecord(
        card_no=row["card_no"], aab301=row["aab301"], id_digest=row["id_digest"],
        id_sealed=bytes(row["id_sealed"]), id_masked=holders.masked_id(row["card_no"], bytes(row["id_sealed"])),
        name=holder.name, birth_date=holder.birth_date, gender=holder.gender, ethnicity=holder.ethnicity,
        phone=holder.phone, address=holder.address, postcode=holder.postcode, bank=row["bank"],
        collected_on=_day(row["collected_on"]),
        ss_state=row["ss_state"], ss_since=_day(row["ss_since"]), ss_channel=row["ss_channel"],
        fin_state=row["fin_state"], fin_since=_day(row["fin_since"]), fin_channel=row["fin_channel"],
        loss_state=row["loss_state"], loss_since=opt_ts(row["loss_since"]), status=row["status"],
        status_since=opt_ts(row["status_since"]), replaced_by=row["replaced_by"], replaces=row["replaces"],
        photo_sha256=row["photo_sha256"],
        pin=PinState(
            hash=row["pin_hash"], change_required=bool(row["pin_change_required"]),
            failures=row["pin_failures"], locked_at=opt_ts(row["pin_locked_at"]),
            changed_at=opt_ts(row["pin_changed_at"]),
        ),
        version=row["lifecycle_version"], updated_at=opt_ts(row["updated_at"]),
    )


def holder_of(card: CardRecord) -> Holder:
    return Holder(name=card.name, birth_date=card.birth_date, gender=card.gender, ethnicity=card.ethnicity,
                  phone=card.phone, address=card.address, postcode=card.postcode)


def _event(row: Row, holders: HolderSeal) -> CardEvent:
    agent = holders.unseal_agent(row["card_no"], row["agent"]) if row["agent"] else None
    return CardEvent(
        card_no=row["card_no"], at=datetime.fromisoformat(row["at"]), action=row["action"],
        actor=row["actor"], agent=agent, before=json.loads(row["before"]),
        after=json.loads(row["after"]), detail=json.loads(row["detail"]),
    )


def _plain(detail: dict[str, Any]) -> dict[str, Any]:
    return json.loads(json.dumps(detail, default=str))  # type: ignore[no-any-return]


_IMPORTED = (
    "card_no", "id_digest", "id_sealed", "holder_sealed", "aab301", "bank", "collected_on", "ss_state",
    "fin_state", "fin_since", "photo_sealed", "photo_sha256", "record_digest", "created_at", "updated_at",
)
_INSERT_CARD = f"INSERT INTO cards ({', '.join(_IMPORTED)}) VALUES ({', '.join('?' * len(_IMPORTED))})"  # noqa: S608


class SqlCards:
    def __init__(self, sql: Sql, holders: HolderSeal) -> None:
        self._sql = sql
        self._holders = holders

    # --- reading ---------------------------------------------------------------------------------

    async def get(self, card_no: str) -> CardRecord | None:
        row = await self._sql.one(f"SELECT {_COLUMNS} FROM cards WHERE card_no = ?", (card_no,))  # noqa: S608
        return None if row is None else card_from_row(row, self._holders)

    async def get_for_update(self, card_no: str) -> CardRecord | None:
        # An update that changes nothing but takes the row's lock until the commit.
        row = await self._sql.one(
            f"UPDATE cards SET lifecycle_version = lifecycle_version WHERE card_no = ? RETURNING {_COLUMNS}",  # noqa: S608
            (card_no,))
        return None if row is None else card_from_row(row, self._holders)

    async def by_id_digest(self, id_digest: str) -> list[CardRecord]:
        rows = await self._sql.all(
            f"SELECT {_COLUMNS} FROM cards WHERE id_digest = ? ORDER BY created_at", (id_digest,))  # noqa: S608
        return [card_from_row(row, self._holders) for row in rows]

    async def exists(self, card_no: str) -> bool:
        return await self._sql.one("SELECT 1 FROM cards WHERE card_no = ?", (card_no,)) is not None

    async def sealed_photo(self, card_no: str) -> bytes | None:
        row = await self._sql.one("SELECT photo_sealed FROM cards WHERE card_no = ?", (card_no,))
        return None if row is None or row[0] is None else bytes(row[0])

    # --- the registry import ---------------------------------------------------------------------

    async def import_batch(self, cards: list[NewCard], at: datetime) -> list[ImportOutcome]:
        numbers = [c.record.card_no for c in cards]
        people = list({c.record.id_digest for c in cards})
        # One statement, so that the cards and the people are read at one moment (two reads could
        # straddle another import's commit and take its cards for other cards of the same people).
        rows = await self._sql.all(
            "SELECT card_no, record_digest, id_digest, status FROM cards"  # noqa: S608
            f" WHERE card_no IN ({','.join('?' * len(numbers))})"
            f" OR (status = 'normal' AND id_digest IN ({','.join('?' * len(people))}))",
            [*numbers, *people])
        wanted = set(numbers)
        known = {row[0]: row[1] for row in rows if row[0] in wanted}
        holding = {row[2] for row in rows if row[3] == "normal"}
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
        try:
            await self._sql.copy("cards", _IMPORTED, [self._insert_row(c, now) for c in fresh])
        except Duplicate:
            # Another import added one of these people or cards since the reads above (only a
            # database whose transactions run side by side gets here): insert one by one.
            added = [position for position, outcome in enumerate(outcomes) if outcome == "added"]
            for position, new in zip(added, fresh, strict=True):
                try:
                    await self._sql.run(_INSERT_CARD, self._insert_row(new, now))
                except Duplicate:
                    outcomes[position] = await self._lost_to(new)
        return outcomes

    async def _lost_to(self, new: NewCard) -> ImportOutcome:
        """What another import wrote first: this very card, another version of it, or another card
        of the same person."""
        row = await self._sql.one("SELECT record_digest FROM cards WHERE card_no = ?", (new.record.card_no,))
        if row is None:
            return "holder_has_card"
        return "unchanged" if row[0] == new.record_digest else "conflict"

    def _insert_row(self, new: NewCard, now: str) -> tuple[object, ...]:
        r = new.record
        return (r.card_no, r.id_digest, r.id_sealed, self._holders.seal(r.id_digest, holder_of(r)), r.aab301,
                r.bank, iso_date(r.collected_on), r.ss_state, r.fin_state, iso_date(r.fin_since),
                new.photo_sealed, r.photo_sha256, new.record_digest, now, now)

    # --- the lifecycle ---------------------------------------------------------------------------

    async def save(self, card: CardRecord) -> bool:
        changed = await self._sql.run(
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
                card.replaced_by, self._holders.seal(card.id_digest, holder_of(card)), card.pin.hash,
                int(card.pin.change_required), card.pin.failures, _opt_ts(card.pin.locked_at),
                _opt_ts(card.pin.changed_at), _opt_ts(card.updated_at or datetime.now(UTC)),
                card.card_no, card.version,
            ),
        )
        return changed == 1

    async def add_replacement(self, old_card_no: str, new: CardRecord, photo_sealed: bytes | None) -> None:
        # The import line's digest and the photo's digest are carried over from the old row.
        at = _opt_ts(new.updated_at or datetime.now(UTC))
        await self._sql.run(
            "INSERT INTO cards (card_no, id_digest, id_sealed, holder_sealed, aab301, bank, collected_on,"
            " ss_state, ss_since, ss_channel, fin_state, status, status_since, replaces, photo_sealed,"
            " photo_sha256, record_digest, created_at, updated_at)"
            " SELECT ?, id_digest, ?, ?, aab301, bank, ?, ?, ?, ?, ?, 'normal', ?, card_no, ?,"
            " photo_sha256, record_digest, ?, ? FROM cards WHERE card_no = ?",
            (
                new.card_no, new.id_sealed, self._holders.seal(new.id_digest, holder_of(new)),
                iso_date(new.collected_on), new.ss_state, iso_date(new.ss_since), new.ss_channel,
                new.fin_state, _opt_ts(new.status_since), photo_sealed, at, at, old_card_no,
            ),
        )

    async def count_pin_attempt(self, card_no: str, *, limit: int) -> int | None:
        row = await self._sql.one(
            "UPDATE cards SET pin_failures = pin_failures + 1,"
            " lifecycle_version = lifecycle_version + 1"
            " WHERE card_no = ? AND pin_failures < ? RETURNING pin_failures",
            (card_no, limit),
        )
        return None if row is None else int(row[0])

    async def temporary_losses_reported_before(self, moment: datetime) -> list[str]:
        rows = await self._sql.all(
            "SELECT card_no FROM cards WHERE status = 'normal' AND loss_state = 'temporary'"
            " AND loss_since <= ? ORDER BY loss_since, card_no", (ts(moment),))
        return [row[0] for row in rows]

    async def financially_inactive_collected_on_or_before(self, day: date) -> list[str]:
        rows = await self._sql.all(
            "SELECT card_no FROM cards WHERE status = 'normal' AND loss_state = 'none'"
            " AND fin_state = 'inactive' AND collected_on IS NOT NULL AND collected_on <= ?"
            " ORDER BY collected_on, card_no", (day.isoformat(),))
        return [row[0] for row in rows]

    # --- history ---------------------------------------------------------------------------------

    async def add_event(self, event: CardEvent) -> None:
        await self._sql.run(
            "INSERT INTO card_events (card_no, at, action, actor, agent, before, after, detail)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                event.card_no, ts(event.at), event.action, event.actor,
                self._holders.seal_agent(event.card_no, event.agent) if event.agent is not None else None,
                dumps(event.before), dumps(event.after), dumps(_plain(event.detail)),
            ),
        )

    async def events(self, card_no: str) -> list[CardEvent]:
        rows = await self._sql.all(
            "SELECT card_no, at, action, actor, agent, before, after, detail FROM card_events"
            " WHERE card_no = ? ORDER BY id", (card_no,))
        return [_event(row, self._holders) for row in rows]
