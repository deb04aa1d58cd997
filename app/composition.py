"""The one place that chooses adapters and builds the services (SQLite, SMS sender, face engine)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from app.clock import Clock, SystemClock
from app.config import ConfigError, Settings
from app.domain.accounts import AccountService, SmsSender
from app.domain.cards.service import build_card_service
from app.domain.channels import ChannelService
from app.domain.consent import ConsentService
from app.domain.realname import RealnameService
from app.domain.registry import RegistryImporter
from app.face.images import decode_image
from app.issuance import NoFaceEvidence, build_issuance
from app.security.vault import load_vault
from app.services import Services
from app.sms import OutboxSmsSender, load_sender
from app.storage.database import Database
from app.storage.sqlite.uow import SqliteStorage


def _check_photo(data: bytes) -> None:
    decode_image(data)


@asynccontextmanager
async def open_services(settings: Settings, *, clock: Clock | None = None) -> AsyncIterator[Services]:
    """Open storage and build every service; everything is closed again on exit."""
    settings.check()
    if not settings.database_url.startswith("sqlite:///"):
        raise ConfigError("only sqlite:///PATH database URLs are supported in this version")
    clock = clock or SystemClock()
    vault = load_vault(settings.keys_dir, create=settings.env != "prod")
    database = Database(settings.sqlite_path)
    await database.open()
    try:
        storage = SqliteStorage(database)
        sms: SmsSender = load_sender(settings.sms_sender) if settings.sms_sender else OutboxSmsSender(storage, clock)
        issuance = build_issuance(settings, storage, clock, vault, NoFaceEvidence())
        yield Services(
            settings=settings, clock=clock, storage=storage, vault=vault,
            channels=ChannelService(storage, clock),
            accounts=AccountService(storage, clock, sms),
            consent=ConsentService(storage, clock),
            realname=RealnameService(storage, clock, vault),
            registry=RegistryImporter(storage, clock, vault, _check_photo),
            issuance=issuance,
            cards=build_card_service(storage, clock, vault, issuance.ecards),
        )
    finally:
        await database.close()
