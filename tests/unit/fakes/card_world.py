"""The card service on in-memory storage, with a recording e-card listener and a plain PIN hash."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from app.clock import FrozenClock
from app.domain.audit import AuditEntry
from app.domain.cards.model import CardRecord
from app.domain.cards.service import CardService
from tests.unit.fakes.storage import FakeStorage
from tests.unit.fakes.values import START, VAULT


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
    service = CardService(storage, clock, VAULT, listener, pin_hasher=PlainPinHasher())
    return World(storage=storage, clock=clock, listener=listener, service=service)
