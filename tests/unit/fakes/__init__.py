"""In-memory storage and stand-ins for unit tests of the domain services.

`FakeStorage` holds every repository of `app.domain.uow.UnitOfWork` in memory: accounts, SMS codes,
tokens, channels, consents and authorization codes, rate counters, real-name checks, cards with
their history, e-cards with their links, status lists and usage history, QR codes, face sessions
with their frames, the audit log, leases, social insurance records, family invitations and links.
A unit of work is serialised and rolled back on an exception, as the SQLite storage's are. The
repository contract suite (tests/contract) runs the same rules against it and against SQLite and
PostgreSQL, so the fakes cannot drift from the real thing.
"""

from tests.unit.fakes.accounts import FakeAccounts, FakeChannels, FakeSmsCodes, FakeTokens
from tests.unit.fakes.bookkeeping import FakeAudit, FakeLeases, FakeLimits
from tests.unit.fakes.card_world import PlainPinHasher, RecordingListener, World, world
from tests.unit.fakes.cards import FakeCards, FakeRealname
from tests.unit.fakes.consent import FakeConsents
from tests.unit.fakes.ecard_usage import FakeEcardUsage
from tests.unit.fakes.ecards import FakeEcards, FakeQrCodes
from tests.unit.fakes.face_sessions import FakeFaceSessions
from tests.unit.fakes.family import FakeFamily
from tests.unit.fakes.issuance import CARD_NO, HOLDER, ISSUER, Issuance
from tests.unit.fakes.records import FakeRecords
from tests.unit.fakes.state import FakeState
from tests.unit.fakes.storage import FakeStorage, FakeUnitOfWork
from tests.unit.fakes.values import AGENT_ID, HOLDER_ID, OTHER_ID, START, VAULT, card

__all__ = [
    "AGENT_ID",
    "CARD_NO",
    "HOLDER",
    "HOLDER_ID",
    "ISSUER",
    "OTHER_ID",
    "START",
    "VAULT",
    "FakeAccounts",
    "FakeAudit",
    "FakeCards",
    "FakeChannels",
    "FakeConsents",
    "FakeEcardUsage",
    "FakeEcards",
    "FakeFaceSessions",
    "FakeFamily",
    "FakeLeases",
    "FakeLimits",
    "FakeQrCodes",
    "FakeRealname",
    "FakeRecords",
    "FakeSmsCodes",
    "FakeState",
    "FakeStorage",
    "FakeTokens",
    "FakeUnitOfWork",
    "Issuance",
    "PlainPinHasher",
    "RecordingListener",
    "World",
    "card",
    "world",
]
