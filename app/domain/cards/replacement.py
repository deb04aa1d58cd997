"""Replacement (补换卡): a new card number in the same region; holder and photo carried over."""

from __future__ import annotations

import secrets
from datetime import datetime

from app.domain.cards.model import CardRecord, PinState


def new_card_number(old: CardRecord) -> str:
    """A candidate number shaped like the old one: letters and a leading region code kept, other
    digits drawn at random. The caller retries while the number is taken."""
    keep = len(old.aab301) if old.card_no.startswith(old.aab301) else 0
    return old.card_no[:keep] + "".join(
        secrets.choice("0123456789") if char.isdigit() else char for char in old.card_no[keep:]
    )


def replacement_card(
    old: CardRecord, card_no: str, id_sealed: bytes, *, at: datetime
) -> CardRecord:
    """The new card, `id_sealed` sealed for its own number.

    Same holder and region; handed over at the counter, so collected with the social security
    application enabled; the financial application is enabled at the bank; the initial PIN again.
    """
    return CardRecord(
        card_no=card_no,
        aab301=old.aab301,
        name=old.name,
        id_digest=old.id_digest,
        id_sealed=id_sealed,
        id_masked=old.id_masked,
        birth_date=old.birth_date,
        gender=old.gender,
        ethnicity=old.ethnicity,
        ss_state="active",
        ss_since=at.date(),
        ss_channel="replacement",
        fin_state="inactive",
        collected_on=at.date(),
        status_since=at,
        replaces=old.card_no,
        phone=old.phone,
        address=old.address,
        postcode=old.postcode,
        bank=old.bank,
        photo_sha256=old.photo_sha256,
        pin=PinState(),
        updated_at=at,
    )
