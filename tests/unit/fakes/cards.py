"""Cards and real-name checks in memory (`app.domain.cards.repository`, `app.domain.realname`)."""

from __future__ import annotations

from datetime import date, datetime

import msgspec

from app.domain.cards.model import CardEvent, CardRecord, ImportOutcome, NewCard
from app.domain.realname import RealnameCheck
from tests.unit.fakes.state import FakeState


class FakeCards:
    """The card repository in memory (`app.domain.cards.repository.CardRepository`)."""

    def __init__(self, state: FakeState) -> None:
        self._s = state

    async def get(self, card_no: str) -> CardRecord | None:
        return self._s.cards.get(card_no)

    async def get_for_update(self, card_no: str) -> CardRecord | None:
        return self._s.cards.get(card_no)  # a unit of work on the fake storage runs alone

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


class FakeRealname:
    def __init__(self, state: FakeState) -> None:
        self._s = state

    async def add(self, check: RealnameCheck) -> None:
        self._s.realname[check.id] = check

    async def get(self, check_id: str) -> RealnameCheck | None:
        return self._s.realname.get(check_id)
