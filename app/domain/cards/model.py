"""The physical social security card: its holder, both applications, loss state, status and PIN,
and the rule of when it can back an e-card. One model for the registry, the lifecycle, real-name
checks and e-cards."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

import msgspec

from app.domain.text import ascii_number

# The two applications on a card: 社会保障应用 and 金融应用 (the bank account).
Application = Literal["social_security", "financial"]
# Where an activation happens (SPEC §2): the card's bank branch, first use at a designated hospital or
# pharmacy, a bureau window, or the 12333 hotline.
ActivationChannel = Literal["bank", "hospital", "pharmacy", "bureau", "hotline"]
ACTIVATION_CHANNELS: tuple[ActivationChannel, ...] = ("bank", "hospital", "pharmacy", "bureau", "hotline")
AppState = Literal["inactive", "active"]
# overdue: reported lost by the 300-day rule because the financial application was never enabled.
LossState = Literal["none", "temporary", "formal", "overdue"]
LossKind = Literal["temporary", "formal"]
CardStatus = Literal["normal", "replaced", "cancelled"]

# Six consecutive wrong PIN entries lock the PIN until a counter resets it.
PIN_ATTEMPTS = 6


class PinState(msgspec.Struct, frozen=True, kw_only=True):
    # None while the initial PIN (last six digits of the ID number) is still in force.
    hash: str | None = None
    change_required: bool = True
    failures: int = 0
    locked_at: datetime | None = None
    changed_at: datetime | None = None

    @property
    def locked(self) -> bool:
        """Locked by the sixth wrong entry (entries still being checked do not lock it)."""
        return self.locked_at is not None

    @property
    def attempts_remaining(self) -> int:
        return max(0, PIN_ATTEMPTS - self.failures)


class Contact(msgspec.Struct, frozen=True, kw_only=True):
    """Contact details confirmed or updated at activation; None leaves a field unchanged."""

    phone: str | None = None
    address: str | None = None
    postcode: str | None = None


class CardRecord(msgspec.Struct, frozen=True, kw_only=True):
    """One physical card (a row of `cards`). The holder's ID number is held sealed; `id_masked` is
    computed from it when the card is read, never stored."""

    card_no: str
    aab301: str  # 6-digit administrative region code of the issuing department (发卡地区)
    name: str
    id_digest: str  # keyed digest of the ID number: how a person's cards are found
    id_sealed: bytes
    id_masked: str
    birth_date: date
    gender: str  # "male" | "female", from the ID number
    ethnicity: str | None = None
    ss_state: AppState
    ss_since: date | None = None
    ss_channel: str | None = None
    fin_state: AppState
    fin_since: date | None = None
    fin_channel: str | None = None
    collected_on: date | None = None
    loss_state: LossState = "none"
    loss_since: datetime | None = None
    status: CardStatus = "normal"
    status_since: datetime | None = None
    replaced_by: str | None = None
    replaces: str | None = None
    phone: str | None = None
    address: str | None = None
    postcode: str | None = None
    bank: str | None = None
    photo_sha256: str | None = None
    pin: PinState = msgspec.field(default_factory=PinState)
    version: int = 0
    updated_at: datetime | None = None

    def summary(self) -> dict[str, Any]:
        """The lifecycle state, as written to the audit log before and after a transition."""
        return {
            "status": self.status,
            "social_security": self.ss_state,
            "financial": self.fin_state,
            "loss": self.loss_state,
            "pin_change_required": self.pin.change_required,
            "pin_locked": self.pin.locked,
        }


class NewCard(msgspec.Struct, frozen=True, kw_only=True):
    """A card as the registry import stores it: the record (ID number sealed), the sealed photo,
    and the digest of the import line, which tells a re-run of the same line from a changed one."""

    record: CardRecord
    photo_sealed: bytes | None
    record_digest: str


# "holder_has_card": the person already has a card in use (one person, one card in use; a new
# card for them comes through replacement at a counter, not through another import line).
ImportOutcome = Literal["added", "unchanged", "conflict", "holder_has_card"]


def card_number(raw: str) -> str:
    """A card number as typed (full-width, lower case) in the form it is stored."""
    return ascii_number(raw).upper()


def card_usability(card: CardRecord) -> str | None:
    """Why the card cannot back an e-card, or None when it can (实名 + 实卡)."""
    if card.status != "normal":
        return f"the card has been {card.status}"
    if card.loss_state != "none":
        return "the card is reported lost"
    if card.ss_state != "active":
        return "the card's social security application is not active"
    return None


def card_usable(card: CardRecord) -> bool:
    """A card can back an active e-card: collected and enabled, not lost, not replaced or cancelled."""
    return card_usability(card) is None


class Agent(msgspec.Struct, frozen=True, kw_only=True):
    """Someone acting for the holder (委托办理), with their own ID and a power of attorney."""

    name: str
    id_number: str
    power_of_attorney_ref: str


class Actor(msgspec.Struct, frozen=True, kw_only=True):
    """Who asks for a transition: the calling channel, and the agent if the holder is not present."""

    channel: str
    agent: Agent | None = None


class CardEvent(msgspec.Struct, frozen=True, kw_only=True):
    """One entry of a card's history (`card_events`), written with its audit entry."""

    card_no: str
    at: datetime
    action: str
    actor: str
    agent: dict[str, str] | None
    before: dict[str, Any]
    after: dict[str, Any]
    detail: dict[str, Any] = msgspec.field(default_factory=dict)
