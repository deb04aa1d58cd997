"""The cards in storage, for the registry import, real-name checks, e-cards and the lifecycle (one
transaction's view, reached as `uow.cards`)."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Protocol

from app.domain.cards.model import CardEvent, CardRecord, ImportOutcome, NewCard

if TYPE_CHECKING:
    from app.domain.uow import UnitOfWork


class CardRepository(Protocol):
    async def get(self, card_no: str) -> CardRecord | None: ...

    async def by_id_digest(self, id_digest: str) -> list[CardRecord]:
        """A person's cards (in use, replaced, cancelled), oldest first."""
        ...

    async def import_batch(self, cards: list[NewCard], at: datetime) -> list[ImportOutcome]:
        """Insert new cards: a card number on record is `unchanged` when its line's digest matches,
        else a `conflict`; a person with a card in use gets no second one (`holder_has_card`)."""
        ...

    async def save(self, card: CardRecord) -> bool:
        """Write the lifecycle columns if the row still has `card.version`; the stored version is
        incremented. False when another transaction changed the card first."""
        ...

    async def exists(self, card_no: str) -> bool: ...

    async def sealed_photo(self, card_no: str) -> bytes | None: ...

    async def add_replacement(self, old_card_no: str, new: CardRecord, photo_sealed: bytes | None) -> None:
        """Insert `new` with the old card's holder record (birth date, gender, ethnicity…) and the
        photo, sealed for the new card number."""
        ...

    async def get_for_update(self, card_no: str) -> CardRecord | None:
        """The card, held against other transitions until this unit of work ends (a row lock on
        PostgreSQL; SQLite's transactions are serial anyway), so that a transition never fails on
        a change made between its read and its write."""
        ...

    async def count_pin_attempt(self, card_no: str, *, limit: int) -> int | None:
        """Count one PIN entry before it is checked, so that parallel guesses are all counted.

        Returns the entry's number among the failures on record (1 for the first), or None when
        `limit` entries are on record already (locked, or that many still being checked).
        """
        ...

    async def add_event(self, event: CardEvent) -> None: ...

    async def events(self, card_no: str) -> list[CardEvent]:
        """The card's history, oldest first."""
        ...

    async def temporary_losses_reported_before(self, moment: datetime) -> list[str]:
        """Normal cards whose temporary loss report was made before `moment`."""
        ...

    async def financially_inactive_collected_on_or_before(self, day: date) -> list[str]:
        """Normal cards not reported lost, financial application inactive, collected by `day`."""
        ...


class ECardStateReader(Protocol):
    """The state of the e-card linked to a card (`active`, `suspended`, `invalid`), if any; the
    e-card module provides it."""

    async def ecard_state(self, uow: UnitOfWork, card_no: str) -> str | None: ...
