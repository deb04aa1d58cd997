"""The services the HTTP layer and the CLI call, built once by the composition root."""

from __future__ import annotations

from dataclasses import dataclass

from app.clock import Clock
from app.config import Settings
from app.domain.accounts import AccountService
from app.domain.cards.service import CardService
from app.domain.channels import ChannelService
from app.domain.consent import ConsentService
from app.domain.face_sessions import FaceSessionService
from app.domain.realname import RealnameService
from app.domain.registry import RegistryImporter
from app.domain.uow import Storage
from app.face.engine import FaceEngine
from app.issuance import Issuance
from app.security.vault import Vault


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
    issuance: Issuance
    cards: CardService
    face: FaceSessionService
    face_engine: FaceEngine
