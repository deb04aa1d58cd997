from __future__ import annotations

from models.base import IdNumberText, NameText, Wire


class RealnameRequest(Wire):
    name: NameText
    id_number: IdNumberText


class MaskedHolder(Wire):
    name: str
    id_number: str


class RealnameResult(Wire):
    realname_id: str
    holder: MaskedHolder
    card_no: str
    aab301: str
    expires_at: str
