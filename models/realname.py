from __future__ import annotations

from typing import Literal

from models.base import IdNumberText, NameText, Wire


class RealnameRequest(Wire):
    """`purpose`: `claim` (scope `ecard:claim`; the card must be usable) or `manage`, before one of
    the holder's own acts (scope `ecard:manage`; a card reported lost passes, so that its holder
    can lift the report)."""

    name: NameText
    id_number: IdNumberText
    purpose: Literal["claim", "manage"] = "claim"


class MaskedHolder(Wire):
    name: str
    id_number: str


class RealnameResult(Wire):
    realname_id: str
    holder: MaskedHolder
    card_no: str
    aab301: str
    expires_at: str
