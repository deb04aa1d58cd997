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
from app.domain.face_sessions import FaceSessionService, StoredFaceEvidence
from app.domain.realname import RealnameService
from app.domain.registry import RegistryImporter
from app.face.engine import FaceEngine
from app.face.images import decode_image
from app.face.pool import ProcessPoolFaceEngine
from app.issuance import build_issuance
from app.security.vault import check_private_keys, load_vault
from app.services import Services
from app.sms import OutboxSmsSender, load_sender
from app.storage.database import Database
from app.storage.sqlite.holders import seal_legacy_holders
from app.storage.sqlite.uow import SqliteStorage


def _check_photo(data: bytes) -> None:
    decode_image(data)


@asynccontextmanager
async def open_services(
    settings: Settings,
    *,
    clock: Clock | None = None,
    face_engine: FaceEngine | None = None,
    start_face_workers: bool = False,
) -> AsyncIterator[Services]:
    """Open storage and build every service; everything is closed again on exit.

    The face engine's worker processes start on first use, or at once with `start_face_workers`
    (the server: its first face request then finds the models loaded); pass `face_engine` to
    share one (the test suite does, so that each test does not start its own workers).
    """
    settings.check()
    if not settings.database_url.startswith("sqlite:///"):
        raise ConfigError("only sqlite:///PATH database URLs are supported in this version")
    clock = clock or SystemClock()
    if settings.env == "prod":
        check_private_keys(settings.keys_dir)
    vault = load_vault(settings.keys_dir, create=settings.env != "prod")
    database = Database(settings.sqlite_path)
    await database.open()
    engine = face_engine or ProcessPoolFaceEngine(settings.face_pool_size)
    try:
        if start_face_workers and isinstance(engine, ProcessPoolFaceEngine):
            await engine.start()
        storage = SqliteStorage(database, vault)
        await seal_legacy_holders(database, storage.holders)
        sms: SmsSender = (
            load_sender(settings.sms_sender) if settings.sms_sender else OutboxSmsSender(storage, clock)
        )
        issuance = build_issuance(settings, storage, clock, vault, StoredFaceEvidence(storage))
        realname = RealnameService(storage, clock, vault)
        yield Services(
            settings=settings, clock=clock, storage=storage, vault=vault,
            channels=ChannelService(storage, clock),
            accounts=AccountService(storage, clock, sms, vault, sms_per_minute=settings.sms_per_minute),
            consent=ConsentService(storage, clock),
            realname=realname,
            registry=RegistryImporter(storage, clock, vault, _check_photo),
            issuance=issuance,
            cards=build_card_service(storage, clock, vault, issuance.ecards),
            face=FaceSessionService(storage, clock, vault, engine, realname,
                                    threshold=settings.face_match_threshold,
                                    keep_frames=settings.face_audit_frames),
            face_engine=engine,
        )
    finally:
        if face_engine is None:
            await engine.aclose()
        await database.close()
