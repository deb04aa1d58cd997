"""The services the HTTP layer and the CLI call, built once by the composition root."""

from __future__ import annotations

from dataclasses import dataclass

from app.clock import Clock
from app.config import Settings
from app.domain.accounts import AccountService
from app.domain.cards.service import CardService
from app.domain.channels import ChannelService
from app.domain.consent import ConsentService
from app.domain.ecards import ECARD_TOKEN_LIFETIME, EcardService
from app.domain.face_sessions import FaceSessionService
from app.domain.family import FamilyService
from app.domain.holder_acts import HolderActs
from app.domain.qrcodes import QrCodeService
from app.domain.realname import RealnameService
from app.domain.records import RecordService
from app.domain.records_import import RecordImporter
from app.domain.registry import RegistryImporter
from app.domain.status_list import STATUS_LIST_LIFETIME, StatusListService
from app.domain.uow import Storage
from app.face.engine import FaceEngine
from app.security.jose import Signer
from app.security.keys import KeyStore
from app.security.vault import Vault

# A retired key stays published while any token it signed may still be valid.
MAX_TOKEN_LIFETIME = max(ECARD_TOKEN_LIFETIME, STATUS_LIST_LIFETIME)


@dataclass(frozen=True, slots=True)
class Issuance:
    """The e-card side: signing keys, status lists, e-cards and QR codes."""

    keys: KeyStore
    signer: Signer
    status_lists: StatusListService
    ecards: EcardService
    qrcodes: QrCodeService

    def jwks(self, clock: Clock) -> dict[str, object]:
        return self.keys.jwks(clock.now(), MAX_TOKEN_LIFETIME)


@dataclass(frozen=True, slots=True)
class Services:
    settings: Settings
    clock: Clock
    storage: Storage
    vault: Vault
    channels: ChannelService
    accounts: AccountService
    consent: ConsentService
    realname: RealnameService
    registry: RegistryImporter
    records: RecordService
    record_importer: RecordImporter
    issuance: Issuance
    cards: CardService
    holder: HolderActs
    face: FaceSessionService
    face_engine: FaceEngine
    family: FamilyService
