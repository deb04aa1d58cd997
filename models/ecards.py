"""The e-card, its dynamic QR code and their verification, as clients send and receive them."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from models.base import Wire
from models.realname import MaskedHolder

QrCodeText = Annotated[str, msgspec.Meta(min_length=1, max_length=4096,
                                         description="the string read from the QR symbol")]


FaceSessionId = Annotated[str, msgspec.Meta(
    min_length=1, max_length=64, description="a face session of the holder that passed within 10 minutes")]


class HolderLossReport(Wire):
    """The holder reports the physical card lost from the app; only `temporary` (lifts itself after
    7 days); a formal report is made at a counter (409 `formal_loss_at_counter`)."""

    face_session_id: FaceSessionId
    kind: Literal["temporary", "formal"] = "temporary"


class HolderUnlock(Wire):
    """The holder lifts the card's temporary loss report from the app."""

    face_session_id: FaceSessionId


class LinkedChannel(Wire):
    client_id: str
    linked_at: str


class StatusReference(Wire):
    """Where a relying party checks the e-card offline (IETF Token Status List)."""

    idx: int
    uri: str


class EcardView(Wire):
    sign_no: str  # 签发号
    state: Literal["active", "suspended", "invalid"]
    card_no: str
    aab301: str  # the issuing region's 6-digit administrative code
    sign_level: int  # 1 identity and query services; 2 payment as well
    holder: MaskedHolder
    channels: list[LinkedChannel]
    issued_at: str
    valid_until: str
    state_since: str
    status: StatusReference
    replaced_by: str | None = None


class ClaimedEcard(Wire):
    """The e-card token (JWS, `typ` ecard+jwt, ES256) and its view."""

    token: str
    expires_in: int
    ecard: EcardView
    token_type: str = "ecard+jwt"  # noqa: S105 - the JWS typ


class RenewedEcard(Wire):
    """A fresh e-card token (JWS, `typ` ecard+jwt) for the same e-card: the same `jti` (sign
    number), a later `exp`."""

    token: str
    expires_in: int
    ecard: EcardView


class UsageParty(Wire):
    """The channel or relying party involved, named as it was called at the time."""

    client_id: str
    name: str
    kind: str  # app, mini_program, relying_party, counter, …


class UsageEntry(Wire):
    kind: Literal["qrcode_verified", "claimed", "channel_linked", "channel_unlinked", "loss_reported",
                  "unlocked", "cancelled", "family_linked", "family_unlinked", "family_qrcode_verified"]
    at: str
    party: UsageParty
    family_member: MaskedHolder | None = None  # the family kinds: the other person of the link, masked


class UsageHistory(Wire):
    """A page of the e-card's use, newest first; pass `next_cursor` back as `cursor` for the next."""

    entries: list[UsageEntry]
    next_cursor: str | None = None


class QrCodeRequest(Wire):
    image_format: Literal["png", "svg"] = "png"


class QrCode(Wire):
    code: str
    expires_in: int
    expires_at: str
    image: str  # a data: URI of the QR symbol (image/png or image/svg+xml)
    image_format: Literal["png", "svg"]


class QrVerifyRequest(Wire):
    code: QrCodeText


class QrVerification(Wire):
    """Who presents the code and whether the card is usable; `card_no` only for `card:manage`."""

    sub: str  # pseudonymous subject, the same as in the e-card token
    sign_no: str
    holder: MaskedHolder
    aab301: str
    sign_level: int
    ecard_state: Literal["active", "suspended", "invalid"]
    card_usable: bool
    verified_at: str
    # `family`: a holder showed this relative's card through a family link (亲情服务), and
    # `presenter` is that holder, masked; `holder`: the card's own holder showed it.
    presented_by: Literal["holder", "family"]
    card_no: str | None = None
    presenter: MaskedHolder | None = None
