"""`FakeStorage`: every repository in memory, one unit of work at a time, rolled back on an exception."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from tests.unit.fakes.accounts import FakeAccounts, FakeChannels, FakeSmsCodes, FakeTokens
from tests.unit.fakes.bookkeeping import FakeAudit, FakeLeases, FakeLimits
from tests.unit.fakes.cards import FakeCards, FakeRealname
from tests.unit.fakes.consent import FakeConsents
from tests.unit.fakes.ecard_usage import FakeEcardUsage
from tests.unit.fakes.ecards import FakeEcards, FakeQrCodes
from tests.unit.fakes.face_sessions import FakeFaceSessions
from tests.unit.fakes.family import FakeFamily
from tests.unit.fakes.records import FakeRecords
from tests.unit.fakes.state import FakeState


class FakeUnitOfWork:
    """The members of `app.domain.uow.UnitOfWork`, each on the same state."""

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
        self.consents = FakeConsents(state)
        self.ecards = FakeEcards(state)
        self.qrcodes = FakeQrCodes(state)
        self.ecard_usage = FakeEcardUsage(state)
        self.face_sessions = FakeFaceSessions(state)
        self.records = FakeRecords(state)
        self.family = FakeFamily(state)


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
