"""In-memory fakes for the card lifecycle's storage, e-card rule and PIN hasher."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import msgspec

from app.clock import FrozenClock
from app.domain.audit import AuditEntry
from app.domain.cards.model import CardEvent, CardRecord, ImportOutcome, NewCard
from app.domain.cards.service import CardService
from app.domain.idnumber import make_id_number, mask_id_number, parse_id_number
from app.security.vault import Vault

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
HOLDER_ID = make_id_number("370202", date(1988, 5, 17), 123)
OTHER_ID = make_id_number("440305", date(1979, 1, 2), 456)
AGENT_ID = make_id_number("370203", date(1990, 7, 1), 321)
VAULT = Vault(b"k" * 32)


def card(card_no: str = "A12345678", *, id_number: str = HOLDER_ID, **changes: Any) -> CardRecord:
    """A collected card in Qingdao (370200), social security active, financial not yet."""
    fields: dict[str, Any] = {
        "card_no": card_no, "aab301": "370200", "name": "张三", "id_digest": VAULT.index(id_number),
        "id_sealed": VAULT.seal(id_number.encode(), context=card_no.encode()),
        "id_masked": mask_id_number(id_number), "birth_date": parse_id_number(id_number).birth_date,
        "gender": parse_id_number(id_number).gender, "ss_state": "active", "fin_state": "inactive",
        "collected_on": date(2026, 1, 5), "bank": "Bank of Qingdao",
    }
    fields.update(changes)
    return CardRecord(**fields)


class FakeCards:
    """The card repository in memory (`app.domain.cards.repository.CardRepository`)."""

    def __init__(self, state: FakeState) -> None:
        self._s = state

    async def get(self, card_no: str) -> CardRecord | None:
        return self._s.cards.get(card_no)

    async def by_id_digest(self, id_digest: str) -> list[CardRecord]:
        return [c for c in self._s.cards.values() if c.id_digest == id_digest]

    async def import_batch(self, cards: list[NewCard], at: datetime) -> list[ImportOutcome]:
        outcomes: list[ImportOutcome] = []
        for new in cards:
            record = new.record
            if record.card_no in self._s.cards:
                outcomes.append("unchanged" if self._s.digests.get(record.card_no) == new.record_digest else "conflict")
            elif any(c.id_digest == record.id_digest and c.status == "normal" for c in self._s.cards.values()):
                outcomes.append("holder_has_card")
            else:
                self._s.cards[record.card_no] = record
                self._s.digests[record.card_no] = new.record_digest
                if new.photo_sealed is not None:
                    self._s.photos[record.card_no] = new.photo_sealed
                outcomes.append("added")
        return outcomes

    async def exists(self, card_no: str) -> bool:
        return card_no in self._s.cards

    async def save(self, card: CardRecord) -> bool:
        current = self._s.cards.get(card.card_no)
        if current is None or current.version != card.version:
            return False
        self._s.cards[card.card_no] = msgspec.structs.replace(card, version=card.version + 1)
        return True

    async def sealed_photo(self, card_no: str) -> bytes | None:
        return self._s.photos.get(card_no)

    async def add_replacement(self, old_card_no: str, new: CardRecord, photo_sealed: bytes | None) -> None:
        assert old_card_no in self._s.cards
        assert new.card_no not in self._s.cards
        self._s.cards[new.card_no] = new
        if photo_sealed is not None:
            self._s.photos[new.card_no] = photo_sealed

    async def count_pin_attempt(self, card_no: str, *, limit: int) -> int | None:
        current = self._s.cards[card_no]
        if current.pin.failures >= limit:
            return None
        pin = msgspec.structs.replace(current.pin, failures=current.pin.failures + 1)
        self._s.cards[card_no] = msgspec.structs.replace(current, pin=pin, version=current.version + 1)
        return pin.failures

    async def add_event(self, event: CardEvent) -> None:
        self._s.events.append(event)

    async def events(self, card_no: str) -> list[CardEvent]:
        return [e for e in self._s.events if e.card_no == card_no]

    async def temporary_losses_reported_before(self, moment: datetime) -> list[str]:
        return [c.card_no for c in self._s.cards.values()
                if c.status == "normal" and c.loss_state == "temporary"
                and c.loss_since is not None and c.loss_since <= moment]

    async def financially_inactive_collected_on_or_before(self, day: date) -> list[str]:
        return [c.card_no for c in self._s.cards.values()
                if c.status == "normal" and c.loss_state == "none" and c.fin_state == "inactive"
                and c.collected_on is not None and c.collected_on <= day]


class FakeAudit:
    def __init__(self, state: FakeState) -> None:
        self._s = state

    async def record(self, at: datetime, action: str, *, actor: str, subject: str | None = None,
                     detail: dict[str, Any] | None = None) -> None:
        self._s.audit.append(AuditEntry(id=len(self._s.audit) + 1, at=at, action=action, actor=actor,
                                        subject=subject, detail=detail or {}))

    async def entries(self, *, subject: str | None = None, action_prefix: str = "") -> list[AuditEntry]:
        return [e for e in self._s.audit
                if (subject is None or e.subject == subject) and e.action.startswith(action_prefix)]


@dataclass
class FakeState:
    cards: dict[str, CardRecord] = field(default_factory=dict)
    digests: dict[str, str] = field(default_factory=dict)
    photos: dict[str, bytes] = field(default_factory=dict)
    events: list[CardEvent] = field(default_factory=list)
    audit: list[AuditEntry] = field(default_factory=list)
    leases: dict[str, tuple[str, datetime]] = field(default_factory=dict)


class FakeLeases:
    def __init__(self, state: FakeState) -> None:
        self._s = state

    async def acquire(self, name: str, holder: str, now: datetime, ttl: timedelta) -> bool:
        current = self._s.leases.get(name)
        if current is not None and current[0] != holder and current[1] > now:
            return False
        self._s.leases[name] = (holder, now + ttl)
        return True


class FakeUnitOfWork:
    def __init__(self, state: FakeState) -> None:
        self.cards = FakeCards(state)
        self.audit = FakeAudit(state)
        self.leases = FakeLeases(state)


class FakeStorage:
    """Transactions are serialised and rolled back on an exception, like the SQLite storage."""

    def __init__(self) -> None:
        self.state = FakeState()
        self._lock = asyncio.Lock()

    @asynccontextmanager
    async def unit_of_work(self) -> AsyncIterator[FakeUnitOfWork]:
        async with self._lock:
            saved = (dict(self.state.cards), dict(self.state.photos), list(self.state.events),
                     list(self.state.audit))
            try:
                yield FakeUnitOfWork(self.state)
            except BaseException:
                (self.state.cards, self.state.photos, self.state.events, self.state.audit) = saved
                raise

    async def ping(self) -> bool:
        return True


class RecordingListener:
    """Stands in for the e-card rule: remembers each call."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, str | None]] = []

    async def card_changed(self, uow: object, card_no: str, event: str, *, at: datetime,
                           new_card_no: str | None = None) -> None:
        self.calls.append((card_no, event, new_card_no))


class PlainPinHasher:
    """Fast and obviously not for production: the service's PIN logic is what is under test."""

    async def hash(self, card_no: str, pin: str) -> str:
        return f"plain:{card_no}:{pin}"

    async def verify(self, stored: str, card_no: str, pin: str) -> bool:
        return stored == f"plain:{card_no}:{pin}"


@dataclass
class World:
    storage: FakeStorage
    clock: FrozenClock
    listener: RecordingListener
    service: CardService

    def put(self, record: CardRecord, photo: bytes | None = None) -> CardRecord:
        self.storage.state.cards[record.card_no] = record
        if photo is not None:
            self.storage.state.photos[record.card_no] = VAULT.seal(photo, context=record.card_no.encode())
        return record

    def get(self, card_no: str) -> CardRecord:
        return self.storage.state.cards[card_no]

    @property
    def audit(self) -> list[AuditEntry]:
        return self.storage.state.audit


def world() -> World:
    storage, clock, listener = FakeStorage(), FrozenClock(START), RecordingListener()
    service = CardService(storage, clock, VAULT, listener, pin_hasher=PlainPinHasher())  # type: ignore[arg-type]
    return World(storage=storage, clock=clock, listener=listener, service=service)
