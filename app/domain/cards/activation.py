"""Activation (激活/启用): which applications a channel may enable, and the contact it confirms."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Literal

import msgspec

from app.domain.cards.lifecycle import require_normal
from app.domain.cards.model import ActivationChannel, Application, CardRecord, Contact
from app.domain.text import ascii_number
from app.errors import Conflict, InvalidInput

RequestedApplications = Literal["social_security", "financial", "both"]

_PHONE = re.compile(r"1[3-9][0-9]{9}")
_POSTCODE = re.compile(r"[0-9]{6}")
_MAX_ADDRESS = 200


def applications_for(
    channel: ActivationChannel, requested: RequestedApplications | None
) -> tuple[Application, ...]:
    """The applications to enable.

    At a bank both are enabled together unless one is named: 激活社会保障卡时，原则上应同时激活社会保障
    应用和金融应用 (Qingdao card rules, art. 15). The financial application is a bank account, so
    only the bank can enable it; hospitals, pharmacies, bureau windows and 12333 enable the social
    security application.
    """
    chosen = requested or ("both" if channel == "bank" else "social_security")
    applications: tuple[Application, ...] = (
        ("social_security", "financial") if chosen == "both" else (chosen,)
    )
    if "financial" in applications and channel != "bank":
        raise InvalidInput(
            f"the financial application is enabled at the card's bank, not by {channel}",
            code="financial_activation_bank_only", field="application",
        )
    return applications


def normalise_contact(contact: Contact) -> Contact:
    """Validate the phone (mainland mobile), address and postcode (6 digits) being confirmed."""
    phone = ascii_number(contact.phone) if contact.phone is not None else None
    address = contact.address.strip() if contact.address is not None else None
    postcode = ascii_number(contact.postcode) if contact.postcode is not None else None
    if phone is not None and not _PHONE.fullmatch(phone):
        raise InvalidInput("contact.phone: an 11-digit mobile number", code="invalid_contact",
                           field="contact.phone")
    if address is not None and not 0 < len(address) <= _MAX_ADDRESS:
        raise InvalidInput(f"contact.address: 1-{_MAX_ADDRESS} characters", code="invalid_contact",
                           field="contact.address")
    if postcode is not None and not _POSTCODE.fullmatch(postcode):
        raise InvalidInput("contact.postcode: six digits", code="invalid_contact",
                           field="contact.postcode")
    return Contact(phone=phone, address=address, postcode=postcode)


def activate(
    card: CardRecord, applications: tuple[Application, ...], channel: ActivationChannel,
    contact: Contact, *, at: datetime,
) -> CardRecord:
    """The card with `applications` enabled and the contact updated.

    A temporary or formal loss report blocks activation. A card lost by the 300-day rule may (and
    must) have its financial application enabled: that is the first step towards unlocking it.
    """
    require_normal(card)
    if card.loss_state in ("temporary", "formal"):
        raise Conflict(
            f"card {card.card_no} is reported lost ({card.loss_state})", code="card_reported_lost",
            loss_state=card.loss_state,
        )
    to_enable = [
        app for app in applications
        if (card.ss_state if app == "social_security" else card.fin_state) != "active"
    ]
    if not to_enable:
        raise Conflict(
            f"already active: {', '.join(applications)}", code="already_active",
            applications=list(applications),
        )
    changes: dict[str, object] = {}
    if "social_security" in to_enable:
        changes.update(ss_state="active", ss_since=at.date(), ss_channel=channel)
    if "financial" in to_enable:
        changes.update(fin_state="active", fin_since=at.date(), fin_channel=channel)
    if card.collected_on is None:
        # A card presented for activation has been collected; the 300-day clock starts now.
        changes["collected_on"] = at.date()
    for field in ("phone", "address", "postcode"):
        value = getattr(contact, field)
        if value is not None:
            changes[field] = value
    return msgspec.structs.replace(card, **changes)
