"""The one place that chooses adapters and builds the services (SQLite, SMS sender, face engine)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from app.clock import Clock, SystemClock
from app.config import Settings
from app.domain.accounts import AccountService, SmsSender
from app.domain.cards.changes import CardStateListener
from app.domain.cards.ecard_link import LiveEcardState
from app.domain.cards.service import CardService
from app.domain.channels import ChannelService
from app.domain.consent import ConsentService
from app.domain.ecards import EcardService, FaceEvidence
from app.domain.face_sessions import FaceSessionService, StoredFaceEvidence
from app.domain.family import FamilyService
from app.domain.holder_acts import HolderActs
from app.domain.qrcodes import QrCodeService
from app.domain.realname import RealnameService
from app.domain.records import RecordService
from app.domain.records_import import RecordImporter
from app.domain.registry import RegistryImporter
from app.domain.status_list import StatusListService
from app.domain.uow import Storage
from app.face.engine import FaceEngine
from app.face.images import decode_image
from app.face.pool import ProcessPoolFaceEngine
from app.security.jose import Signer
from app.security.keys import load_key_store
from app.security.passwords import Argon2Passwords
from app.security.pins import PepperedPinHasher
from app.security.vault import Vault, check_private_keys, load_vault
from app.services import Issuance, Services
from app.sms import OutboxSmsSender, load_sender
from app.storage.database import Database
from app.storage.postgres import PgDatabase, PgSql
from app.storage.repositories.holders import seal_legacy_holders
from app.storage.repositories.uow import SqlStorage
from app.storage.sql import SqliteSql

log = logging.getLogger("ecard.composition")


def _check_photo(data: bytes) -> None:
    decode_image(data)


def build_issuance(settings: Settings, storage: Storage, clock: Clock, vault: Vault,
                   face: FaceEvidence) -> Issuance:
    """Open the signing keys (created on first start outside prod) and build the e-card services."""
    keys = load_key_store(settings.keys_dir, create=settings.env != "prod", now=clock.now())
    signer = Signer(keys)
    status_lists = StatusListService(storage, clock, signer, settings.issuer)
    ecards = EcardService(storage, clock, signer=signer, vault=vault, face=face,
                          status_lists=status_lists, issuer=settings.issuer)
    return Issuance(keys=keys, signer=signer, status_lists=status_lists, ecards=ecards,
                    qrcodes=QrCodeService(storage, clock, ecards))


def build_card_service(storage: Storage, clock: Clock, vault: Vault, listener: CardStateListener) -> CardService:
    """The card lifecycle with the keyed slow PIN hash and the e-card state from `uow.ecards`."""
    return CardService(storage, clock, vault, listener, pin_hasher=PepperedPinHasher(vault),
                       ecards=LiveEcardState())


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
    clock = clock or SystemClock()
    if settings.env == "prod":
        check_private_keys(settings.keys_dir)
    vault = load_vault(settings.keys_dir, create=settings.env != "prod")
    engine = face_engine or ProcessPoolFaceEngine(settings.face_pool_size)
    try:
        if start_face_workers and isinstance(engine, ProcessPoolFaceEngine):
            await engine.start()
        async with open_storage(settings, vault) as storage:
            yield _build(settings, clock, vault, storage, engine)
    finally:
        if face_engine is None:
            await engine.aclose()


@asynccontextmanager
async def open_storage(settings: Settings, vault: Vault) -> AsyncIterator[Storage]:
    """The database `ECARD_DATABASE_URL` names, migrated: a SQLite file or a PostgreSQL pool."""
    if settings.is_postgres:
        pg = PgDatabase(settings.database_url, max_size=settings.database_pool_size)
        await pg.open()
        try:
            yield SqlStorage(pg, vault, PgSql)
        finally:
            await pg.close()
        return
    database = Database(settings.sqlite_path)
    await database.open()
    try:
        storage = SqlStorage(database, vault, SqliteSql)
        await seal_legacy_holders(database, storage.holders)
        yield storage
    finally:
        await database.close()


def _build(settings: Settings, clock: Clock, vault: Vault, storage: Storage, engine: FaceEngine) -> Services:
    if settings.test_face_actions:  # settings.check() allows it only with ECARD_ENV=test
        log.warning("ECARD_TEST_FACE_ACTIONS: every face session challenges %s (a test service)",
                    ",".join(settings.test_face_actions))
    sms: SmsSender = (
        load_sender(settings.sms_sender) if settings.sms_sender else OutboxSmsSender(storage, clock)
    )
    issuance = build_issuance(settings, storage, clock, vault, StoredFaceEvidence(storage))
    realname = RealnameService(storage, clock, vault)
    cards = build_card_service(storage, clock, vault, issuance.ecards)
    return Services(
        settings=settings, clock=clock, storage=storage, vault=vault,
        channels=ChannelService(storage, clock),
        accounts=AccountService(storage, clock, sms, vault, Argon2Passwords(),
                                sms_per_minute=settings.sms_per_minute),
        consent=ConsentService(storage, clock),
        realname=realname,
        registry=RegistryImporter(storage, clock, vault, _check_photo),
        records=RecordService(storage),
        record_importer=RecordImporter(storage, clock, vault),
        issuance=issuance,
        cards=cards,
        holder=HolderActs(storage, clock, cards, issuance.ecards),
        face=FaceSessionService(storage, clock, vault, engine, realname,
                                threshold=settings.face_match_threshold,
                                keep_frames=settings.face_audit_frames,
                                fixed_actions=settings.test_face_actions),
        face_engine=engine,
        family=FamilyService(storage, clock),
    )
