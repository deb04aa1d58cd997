"""In-memory storage and stand-ins for unit tests of the domain services.

`FakeStorage` holds accounts, SMS codes, tokens, channels, rate counters, real-name checks, cards
with their history, the audit log and leases; a unit of work is serialised and rolled back on an
exception, as the SQLite storage's are. The repository contract suite (tests/contract) runs the
same rules against it and against SQLite, so the fakes cannot drift from the real thing.
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import msgspec

from app.clock import FrozenClock
from app.domain.accounts import Account, SmsCode, TokenRecord
from app.domain.audit import AuditEntry
from app.domain.cards.model import CardEvent, CardRecord, ImportOutcome, NewCard
from app.domain.cards.service import CardService
from app.domain.channels import Channel
from app.domain.idnumber import make_id_number, mask_id_number, parse_id_number
from app.domain.realname import RealnameCheck
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
    accounts: dict[int, Account] = field(default_factory=dict)
    sms_codes: list[SmsCode] = field(default_factory=list)
    outbox: list[tuple[str, str, datetime]] = field(default_factory=list)
    tokens: dict[str, TokenRecord] = field(default_factory=dict)
    counters: dict[tuple[str, str], int] = field(default_factory=dict)
    channels: dict[str, Channel] = field(default_factory=dict)
    realname: dict[str, RealnameCheck] = field(default_factory=dict)


class FakeAccounts:
    def __init__(self, state: FakeState) -> None:
        self._s = state

    async def add(self, phone: str, password_hash: str, at: datetime) -> int | None:
        if any(a.phone == phone for a in self._s.accounts.values()):
            return None
        account_id = len(self._s.accounts) + 1
        self._s.accounts[account_id] = Account(id=account_id, phone=phone, password_hash=password_hash,
                                               created_at=at)
        return account_id

    async def by_phone(self, phone: str) -> Account | None:
        return next((a for a in self._s.accounts.values() if a.phone == phone), None)


class FakeSmsCodes:
    def __init__(self, state: FakeState) -> None:
        self._s = state

    async def latest(self, phone: str) -> SmsCode | None:
        return next((c for c in reversed(self._s.sms_codes) if c.phone == phone), None)

    async def add(self, phone: str, code_hash: str, created_at: datetime, expires_at: datetime) -> None:
        self._s.sms_codes.append(SmsCode(id=len(self._s.sms_codes) + 1, phone=phone, code_hash=code_hash,
                                         created_at=created_at, expires_at=expires_at, attempts=0,
                                         consumed_at=None))

    def _replace(self, code_id: int, **changes: Any) -> None:
        index = code_id - 1
        self._s.sms_codes[index] = msgspec.structs.replace(self._s.sms_codes[index], **changes)

    async def count_attempt(self, code_id: int) -> None:
        self._replace(code_id, attempts=self._s.sms_codes[code_id - 1].attempts + 1)

    async def consume(self, code_id: int, at: datetime) -> None:
        self._replace(code_id, consumed_at=at)

    async def deliver(self, phone: str, body: str, at: datetime) -> None:
        self._s.outbox.append((phone, body, at))

    async def outbox(self, phone: str) -> list[tuple[str, datetime]]:
        return [(body, at) for p, body, at in reversed(self._s.outbox) if p == phone][:20]


class FakeTokens:
    def __init__(self, state: FakeState) -> None:
        self._s = state

    async def add(self, token: TokenRecord) -> None:
        self._s.tokens[token.token_hash] = token

    async def find(self, token_hash: str) -> TokenRecord | None:
        return self._s.tokens.get(token_hash)

    async def revoke(self, token_hash: str, at: datetime) -> bool:
        token = self._s.tokens.get(token_hash)
        if token is None or token.revoked_at is not None:
            return False
        self._s.tokens[token_hash] = msgspec.structs.replace(token, revoked_at=at)
        return True

    async def revoke_grant(self, grant_id: str, at: datetime) -> int:
        live = [t for t in self._s.tokens.values() if t.grant_id == grant_id and t.revoked_at is None]
        for token in live:
            self._s.tokens[token.token_hash] = msgspec.structs.replace(token, revoked_at=at)
        return len(live)


class FakeLimits:
    def __init__(self, state: FakeState) -> None:
        self._s = state

    async def count(self, bucket: str, window: str) -> int:
        return self._s.counters.get((bucket, window), 0)

    async def take(self, bucket: str, window: str, limit: int) -> bool:
        if self._s.counters.get((bucket, window), 0) >= limit:
            return False
        self._s.counters[(bucket, window)] = self._s.counters.get((bucket, window), 0) + 1
        return True

    async def give_back(self, bucket: str, window: str) -> None:
        if self._s.counters.get((bucket, window), 0) > 0:
            self._s.counters[(bucket, window)] -= 1


class FakeChannels:
    def __init__(self, state: FakeState) -> None:
        self._s = state

    async def add(self, channel: Channel) -> bool:
        if channel.client_id in self._s.channels:
            return False
        self._s.channels[channel.client_id] = channel
        return True

    async def get(self, client_id: str) -> Channel | None:
        return self._s.channels.get(client_id)


class FakeRealname:
    def __init__(self, state: FakeState) -> None:
        self._s = state

    async def add(self, check: RealnameCheck) -> None:
        self._s.realname[check.id] = check

    async def get(self, check_id: str) -> RealnameCheck | None:
        return self._s.realname.get(check_id)


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
        self.accounts = FakeAccounts(state)
        self.sms_codes = FakeSmsCodes(state)
        self.tokens = FakeTokens(state)
        self.limits = FakeLimits(state)
        self.channels = FakeChannels(state)
        self.realname = FakeRealname(state)


class FakeStorage:
    """Transactions are serialised and rolled back on an exception, like the SQLite storage."""

    def __init__(self) -> None:
        self.state = FakeState()
        self._lock = asyncio.Lock()

    @asynccontextmanager
    async def unit_of_work(self) -> AsyncIterator[FakeUnitOfWork]:
        async with self._lock:
            saved = copy.deepcopy(self.state)
            try:
                yield FakeUnitOfWork(self.state)
            except BaseException:
                self.state.__dict__.update(saved.__dict__)
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
