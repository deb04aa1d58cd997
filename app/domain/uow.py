"""The unit of work: the repositories of one transaction, committed together or not at all."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import Protocol

from app.domain.accounts import AccountRepository, SmsCodeRepository, TokenRepository
from app.domain.audit import AuditRepository
from app.domain.cards.repository import CardLifecycleRepository
from app.domain.channels import ChannelRepository
from app.domain.consent import ConsentRepository
from app.domain.face_sessions import FaceSessionRepository
from app.domain.ecards import EcardRepository
from app.domain.limits import RateLimitRepository
from app.domain.qrcodes import QrCodeRepository
from app.domain.realname import RealnameRepository
from app.domain.registry import CardRepository


class UnitOfWork(Protocol):
    channels: ChannelRepository
    accounts: AccountRepository
    sms_codes: SmsCodeRepository
    tokens: TokenRepository
    consents: ConsentRepository
    cards: CardRepository
    realname: RealnameRepository
    limits: RateLimitRepository
    audit: AuditRepository
    ecards: EcardRepository
    qrcodes: QrCodeRepository
    card_lifecycle: CardLifecycleRepository
    face_sessions: FaceSessionRepository


class Storage(Protocol):
    def unit_of_work(self) -> AbstractAsyncContextManager[UnitOfWork]:
        """A transaction: committed when the block ends normally, rolled back on an exception."""
        ...

    async def ping(self) -> bool: ...
