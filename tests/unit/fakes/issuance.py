"""The e-card and QR code services on in-memory storage: real signing keys, face verification read
from storage, two people's cards and the channels that claim and verify on record."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import msgspec

from app.clock import FrozenClock
from app.domain.cards.changes import CardChange
from app.domain.cards.model import CardRecord
from app.domain.channels import Channel, ChannelKind
from app.domain.ecards import ECARD_TOKEN_LIFETIME, Ecard, EcardService, IssuedEcard
from app.domain.face_sessions import StoredFaceEvidence, new_session
from app.domain.qrcodes import QrCodeService
from app.domain.status_list import StatusListService, decode_lst, read
from app.security.jose import ECARD_TYP, STATUS_LIST_TYP, Signer, verify
from app.security.keys import KeyStore, load_key_store
from tests.unit.fakes.storage import FakeStorage
from tests.unit.fakes.values import OTHER_ID, START, VAULT, card

ISSUER = "https://ecard.test"
HOLDER = 1  # the holder's account
CARD_NO = "A12345678"
CHANNELS: tuple[tuple[str, ChannelKind], ...] = (
    ("demo-app", "app"), ("other-app", "app"), ("hospital", "relying_party"), ("bank-counter", "counter"))


class Issuance:
    """The e-card and QR code services, the holder's card A12345678 and another person's card
    B87654321, and the channels of `CHANNELS`."""

    def __init__(self, keys_dir: Path) -> None:
        self.storage = FakeStorage()
        self.clock = FrozenClock(START)
        self.keys: KeyStore = load_key_store(keys_dir, create=True, now=START)
        signer = Signer(self.keys)
        self.status_lists = StatusListService(self.storage, self.clock, signer, ISSUER)
        self.service = EcardService(self.storage, self.clock, signer=signer, vault=VAULT,
                                    face=StoredFaceEvidence(self.storage), status_lists=self.status_lists,
                                    issuer=ISSUER)
        self.qrcodes = QrCodeService(self.storage, self.clock, self.service)
        for client_id, kind in CHANNELS:
            self.storage.state.channels[client_id] = Channel(
                client_id=client_id, name=f"{client_id} name", kind=kind, secret_hash=None, redirect_uris=(),
                scopes=(), created_at=START)
        self.put(card(CARD_NO))
        self.put(card("B87654321", id_number=OTHER_ID))

    def put(self, record: CardRecord) -> None:
        self.storage.state.cards[record.card_no] = record

    def face_passed(self, account_id: int = HOLDER, card_no: str = CARD_NO, *,
                    ago: timedelta = timedelta(minutes=1)) -> None:
        """A face session of `account_id` on `card_no` that passed `ago`."""
        session = new_session(account_id, "demo-app", "r1", card_no, "person", self.clock.now() - ago, "actions")
        self.storage.state.face_sessions[session.id] = msgspec.structs.replace(
            session, status="passed", completed_at=self.clock.now() - ago)

    async def claim(self, client_id: str = "demo-app", account_id: int = HOLDER, card_no: str = CARD_NO) -> IssuedEcard:
        self.face_passed(account_id, card_no)
        return await self.service.claim(account_id, client_id)

    async def card_changed(self, card_no: str, event: CardChange, new_card_no: str | None = None) -> None:
        async with self.storage.unit_of_work() as uow:
            await self.service.card_changed(uow, card_no, event, at=self.clock.now(), new_card_no=new_card_no)

    def ecard(self, sign_no: str) -> Ecard:
        return self.storage.state.ecards[sign_no]

    def claims(self, token: str) -> dict[str, Any]:
        return verify(token, typ=ECARD_TYP, keys=self.keys, now=self.clock.now(),
                      max_token_lifetime=ECARD_TOKEN_LIFETIME, issuer=ISSUER)

    async def status_of(self, ecard: Ecard) -> int:
        """The e-card's entry in its signed status list, as a relying party reads it offline."""
        token = await self.status_lists.token(ecard.status_list)
        claims = verify(token, typ=STATUS_LIST_TYP, keys=self.keys, now=self.clock.now(),
                        max_token_lifetime=ECARD_TOKEN_LIFETIME)
        return read(decode_lst(claims["status_list"]["lst"]), ecard.status_idx)

    def replace_card(self, old: str, new: str, **changes: Any) -> None:
        """The counter's side of a replacement: the old card retired, the new one on record."""
        self.put(msgspec.structs.replace(self.storage.state.cards[old], status="replaced", replaced_by=new))
        self.put(card(new, replaces=old, **changes))
