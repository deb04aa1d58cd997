"""Physical card lifecycle: what counter, bank, hospital and pharmacy systems send and receive."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec

from models.base import IdNumberText, NameText, Wire

ActivationChannelName = Literal["bank", "hospital", "pharmacy", "bureau", "hotline"]
ApplicationChoice = Literal["social_security", "financial", "both"]
LossKindName = Literal["temporary", "formal"]
# Checked by the service (six ASCII digits, not weak), so that refusals carry `invalid_pin`/`weak_pin`.
PinText = Annotated[str, msgspec.Meta(min_length=1, max_length=16, description="six-digit card PIN")]
PowerOfAttorneyRef = Annotated[str, msgspec.Meta(
    min_length=1, max_length=64, description="reference of the power of attorney (委托书) on file")]
Reason = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


class AgentIn(Wire):
    """Someone acting for the holder (委托办理): their own name and ID, and the power of attorney."""

    name: NameText
    id_number: IdNumberText
    power_of_attorney_ref: PowerOfAttorneyRef


class ContactIn(Wire):
    """Contact details confirmed at activation; a field left out stays as it is."""

    phone: Annotated[str, msgspec.Meta(max_length=16)] | None = None
    address: Annotated[str, msgspec.Meta(max_length=200)] | None = None
    postcode: Annotated[str, msgspec.Meta(max_length=16)] | None = None


class ActivationRequest(Wire):
    """`application` defaults to `both` at a bank (Qingdao rule) and `social_security` elsewhere."""

    channel: ActivationChannelName
    holder_id_number: IdNumberText
    application: ApplicationChoice | None = None
    agent: AgentIn | None = None
    contact: ContactIn | None = None


class LossReportRequest(Wire):
    """`temporary` lifts by itself after 7 days; `formal` is final and leads to replacement."""

    kind: LossKindName
    holder_id_number: IdNumberText | None = None
    agent: AgentIn | None = None


class UnlockRequest(Wire):
    holder_id_number: IdNumberText
    agent: AgentIn | None = None


class ReplacementRequest(Wire):
    holder_id_number: IdNumberText
    reason: Literal["lost", "damaged"] = "lost"
    agent: AgentIn | None = None


class CancellationRequest(Wire):
    holder_id_number: IdNumberText
    reason: Reason
    agent: AgentIn | None = None


class PinVerifyRequest(Wire):
    pin: PinText


class PinChangeRequest(Wire):
    old_pin: PinText
    new_pin: PinText


class PinResetRequest(Wire):
    """At a counter with the holder's ID. Without `new_pin` the initial PIN is restored (last six
    digits of the ID number), to be changed before use."""

    holder_id_number: IdNumberText
    new_pin: PinText | None = None
    agent: AgentIn | None = None


class ApplicationView(Wire):
    state: Literal["inactive", "active"]
    since: str | None  # date
    channel: str | None


class LossView(Wire):
    state: Literal["none", "temporary", "formal", "overdue"]
    since: str | None
    lifts_at: str | None  # when a temporary report lapses by itself


class PinView(Wire):
    change_required: bool
    locked: bool
    attempts_remaining: int


class CardHolderView(Wire):
    name: str  # masked: 张*
    id_number: str  # masked: 370202********1230
    phone: str | None  # masked: 139****5678
    address: str | None
    postcode: str | None


class CardView(Wire):
    card_no: str
    aab301: str  # the issuing region's administrative code
    status: Literal["normal", "replaced", "cancelled"]
    holder: CardHolderView
    social_security: ApplicationView
    financial: ApplicationView
    collected_on: str | None
    financial_deadline: str | None  # the 300-day rule reports the card lost on this date
    loss: LossView
    pin: PinView
    replaced_by: str | None
    replaces: str | None
    ecard_state: Literal["active", "suspended", "invalid"] | None
    updated_at: str | None


class ReplacementResult(Wire):
    old_card: CardView
    new_card: CardView


class PinResult(Wire):
    card_no: str
    pin: PinView
    verified: bool | None = None  # present on /pin/verify


class AgentRecordView(Wire):
    name: str
    id_masked: str
    power_of_attorney_ref: str


class CardEventView(Wire):
    at: str
    action: str
    actor: str
    agent: AgentRecordView | None
    before: dict[str, Any]
    after: dict[str, Any]
    detail: dict[str, Any]


class SweepResult(Wire):
    as_of: str
    lifted_temporary_losses: list[str]
    overdue_losses: list[str]
