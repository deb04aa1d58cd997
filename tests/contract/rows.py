"""Rows the contract tests arrange. The SQL adapters check foreign keys, so an e-card needs its card
and status list, a face session its account, channel, real-name check and card."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Literal

import msgspec

from app.domain.cards.model import CardRecord, NewCard
from app.domain.channels import Channel, ChannelKind
from app.domain.ecards import Ecard
from app.domain.idnumber import make_id_number, mask_id_number
from app.domain.realname import RealnameCheck
from app.domain.status_list import EcardState
from app.domain.uow import UnitOfWork
from app.security.vault import Vault

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
VAULT = Vault(b"k" * 32)
CHANNELS: tuple[tuple[str, ChannelKind], ...] = (("demo-app", "app"), ("other-app", "app"),
                                                 ("hospital", "relying_party"))


def card(n: int, *, id_n: int | None = None, **changes: object) -> NewCard:
    number = make_id_number("440305", date(1980, 1, 1) + timedelta(days=id_n if id_n is not None else n), 7)
    card_no = f"A{n:08d}"
    record = CardRecord(
        card_no=card_no, aab301="440300", name="张三", id_digest=VAULT.index(number),
        id_sealed=VAULT.seal(number.encode(), context=card_no.encode()), id_masked=mask_id_number(number),
        birth_date=date(1980, 1, 1), gender="male", ss_state="active", fin_state="inactive",
        collected_on=date(2025, 3, 1), phone="13800138000",
    )
    return NewCard(record=msgspec.structs.replace(record, **changes), photo_sealed=None, record_digest=f"d{n}")


def channel(client_id: str, kind: ChannelKind = "app") -> Channel:
    return Channel(client_id=client_id, name=client_id, kind=kind, secret_hash=None, redirect_uris=(),
                   scopes=(), created_at=NOW)


async def arrange_holders(uow: UnitOfWork) -> tuple[int, int]:
    """Two accounts, the channels of `CHANNELS`, and cards A00000001-A00000003 (three people)."""
    accounts = [await uow.accounts.add(phone, "hash", NOW) for phone in ("13912345678", "13912345679")]
    for client_id, kind in CHANNELS:
        await uow.channels.add(channel(client_id, kind))
    await uow.cards.import_batch([card(1), card(2), card(3)], NOW)
    first, second = accounts
    assert first is not None
    assert second is not None
    return first, second


def ecard(sign_no: str, *, person: str = "p1", card_no: str = "A00000001", status_list: int, idx: int,
          state: EcardState = "active", issued_at: datetime = NOW, sign_level: Literal[1, 2] = 1) -> Ecard:
    return Ecard(sign_no=sign_no, person=person, card_no=card_no, state=state, sign_level=sign_level,
                 status_list=status_list, status_idx=idx, issued_at=issued_at,
                 expires_at=issued_at + timedelta(days=30), state_since=issued_at)


def realname_check(check_id: str, account_id: int, card_no: str = "A00000001",
                   client_id: str = "demo-app") -> RealnameCheck:
    return RealnameCheck(id=check_id, account_id=account_id, client_id=client_id, card_no=card_no,
                         created_at=NOW, expires_at=NOW + timedelta(minutes=30))
