"""The family service (亲情服务): invitations, the links they make, as clients send and receive them."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from models.base import Wire
from models.realname import MaskedHolder

# What the relative is to the holder (any other value: 400 `invalid_request` naming `relation`).
Relation = Literal["parent", "child", "spouse", "grandparent", "grandchild", "sibling", "other"]
FaceSessionText = Annotated[str, msgspec.Meta(
    min_length=1, max_length=64, description="a face session of the relative's own card, passed within 10 minutes")]


class InvitationRequest(Wire):
    relation: Relation


class Invitation(Wire):
    """A single-use code for the relative to accept within `expires_in` seconds (24 hours)."""

    invitation_code: str
    relation: Relation
    expires_in: int


class AcceptRequest(Wire):
    face_session_id: FaceSessionText


class FamilyLink(Wire):
    """A live link as the caller sees it. `holder`: the caller invited and may show the other
    person's card; `relative`: the other person may show the caller's card."""

    link_id: str
    role: Literal["holder", "relative"]
    relation: Relation  # what the relative is to the holder
    member: MaskedHolder  # the other person, masked
    member_ecard_state: Literal["active", "suspended", "invalid"]
    created_at: str


class FamilyLinks(Wire):
    """The caller's live links both ways, oldest first (at most 8 as holder)."""

    links: list[FamilyLink]
