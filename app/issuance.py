"""Builds the e-card side of the service: signing keys, status lists, e-cards and QR codes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from app.clock import Clock
from app.config import Settings
from app.domain.ecards import ECARD_TOKEN_LIFETIME, EcardService, FaceEvidence, PassedFace
from app.domain.qrcodes import QrCodeService
from app.domain.status_list import STATUS_LIST_LIFETIME, StatusListService
from app.domain.uow import Storage
from app.security.jose import Signer
from app.security.keys import KeyStore, load_key_store
from app.security.vault import Vault


class NoFaceEvidence:
    """Stands in until face sessions are wired: no face session has passed, so no claim does."""

    async def passed_since(self, account_id: int, since: datetime) -> PassedFace | None:
        return None


# A retired key stays published while any token it signed may still be valid.
MAX_TOKEN_LIFETIME = max(ECARD_TOKEN_LIFETIME, STATUS_LIST_LIFETIME)


@dataclass(frozen=True, slots=True)
class Issuance:
    keys: KeyStore
    signer: Signer
    status_lists: StatusListService
    ecards: EcardService
    qrcodes: QrCodeService

    def jwks(self, clock: Clock) -> dict[str, object]:
        return self.keys.jwks(clock.now(), MAX_TOKEN_LIFETIME)


def build_issuance(settings: Settings, storage: Storage, clock: Clock, vault: Vault,
                   face: FaceEvidence) -> Issuance:
    """Open the signing keys (created on first start outside prod) and build the services."""
    keys = load_key_store(settings.keys_dir, create=settings.env != "prod", now=clock.now())
    signer = Signer(keys)
    status_lists = StatusListService(storage, clock, signer, settings.issuer)
    ecards = EcardService(storage, clock, signer=signer, vault=vault, face=face,
                          status_lists=status_lists, issuer=settings.issuer)
    return Issuance(keys=keys, signer=signer, status_lists=status_lists, ecards=ecards,
                    qrcodes=QrCodeService(storage, clock, ecards))
