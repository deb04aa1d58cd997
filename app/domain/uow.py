"""The unit of work: the repositories of one transaction, committed together or not at all."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import Protocol

from app.domain.accounts import AccountRepository, SmsCodeRepository, TokenRepository
from app.domain.audit import AuditRepository
from app.domain.cards.repository import CardRepository
from app.domain.channels import ChannelRepository
from app.domain.consent import ConsentRepository
from app.domain.ecard_usage import EcardUsageRepository
from app.domain.ecards import EcardRepository
from app.domain.face_sessions import FaceSessionRepository
from app.domain.family import FamilyRepository
from app.domain.leases import LeaseRepository
from app.domain.limits import RateLimitRepository
from app.domain.qrcodes import QrCodeRepository
from app.domain.realname import RealnameRepository
from app.domain.records import RecordRepository


class UnitOfWork(Protocol):
    # Read-only members, so that an implementation may hold narrower repository types.
    @property
    def channels(self) -> ChannelRepository: ...
    @property
    def accounts(self) -> AccountRepository: ...
    @property
    def sms_codes(self) -> SmsCodeRepository: ...
    @property
    def tokens(self) -> TokenRepository: ...
    @property
    def consents(self) -> ConsentRepository: ...
    @property
    def cards(self) -> CardRepository: ...
    @property
    def realname(self) -> RealnameRepository: ...
    @property
    def limits(self) -> RateLimitRepository: ...
    @property
    def audit(self) -> AuditRepository: ...
    @property
    def ecards(self) -> EcardRepository: ...
    @property
    def qrcodes(self) -> QrCodeRepository: ...
    @property
    def ecard_usage(self) -> EcardUsageRepository: ...
    @property
    def face_sessions(self) -> FaceSessionRepository: ...
    @property
    def leases(self) -> LeaseRepository: ...
    @property
    def records(self) -> RecordRepository: ...
    @property
    def family(self) -> FamilyRepository: ...


class Storage(Protocol):
    def unit_of_work(self) -> AbstractAsyncContextManager[UnitOfWork]:
        """A transaction: committed when the block ends normally, rolled back on an exception."""
        ...

    async def ping(self) -> bool: ...
