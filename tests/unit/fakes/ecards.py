"""E-cards, their channel links, status lists and QR codes in memory, as `SqlEcards` and
`SqlQrCodes` keep them: one live e-card per person and one e-card per status list index (an insert
that breaks either is refused with False), QR codes used once and only before they expire."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import msgspec

from app.domain.ecards import ChannelLink, Ecard
from app.domain.qrcodes import QrCode, UseOutcome
from app.domain.status_list import EcardState, StatusListInfo
from app.storage.sql import Duplicate
from tests.unit.fakes.state import FakeState


class FakeEcards:
    """`app.domain.ecards.EcardRepository`. Foreign keys (cards, channels, accounts) are not
    checked; the contract suite arranges real rows for the SQL adapters."""

    def __init__(self, state: FakeState) -> None:
        self._s = state

    def _clashes(self, ecard: Ecard) -> bool:
        """Whether another e-card holds the sign number, the status index or the person's live slot."""
        return any(
            other.sign_no == ecard.sign_no
            or (other.status_list, other.status_idx) == (ecard.status_list, ecard.status_idx)
            or (ecard.state != "invalid" and other.state != "invalid" and other.person == ecard.person)
            for other in self._s.ecards.values()
        )

    async def add(self, ecard: Ecard) -> bool:
        if self._clashes(ecard):
            return False
        self._s.ecards[ecard.sign_no] = ecard
        return True

    async def get(self, sign_no: str) -> Ecard | None:
        return self._s.ecards.get(sign_no)

    async def live_for_person(self, person: str) -> Ecard | None:
        return next((e for e in self._s.ecards.values() if e.person == person and e.state != "invalid"), None)

    async def live_for_card(self, card_no: str) -> Ecard | None:
        return next((e for e in self._s.ecards.values() if e.card_no == card_no and e.state != "invalid"), None)

    def _change(self, sign_no: str, **changes: object) -> None:
        current = self._s.ecards.get(sign_no)
        if current is not None:
            self._s.ecards[sign_no] = msgspec.structs.replace(current, **changes)

    async def set_sign_level(self, sign_no: str, level: Literal[1, 2]) -> None:
        self._change(sign_no, sign_level=level)

    async def latest_for_card(self, card_no: str) -> Ecard | None:
        return max((e for e in self._s.ecards.values() if e.card_no == card_no),
                   key=lambda e: e.issued_at, default=None)

    async def for_holder(self, account_id: int, client_id: str | None) -> Ecard | None:
        linked = {sign_no for sign_no, client, account in self._s.ecard_links
                  if account == account_id and (client_id is None or client == client_id)}
        newest_first = sorted((self._s.ecards[s] for s in linked), key=lambda e: e.issued_at, reverse=True)
        return min(newest_first, key=lambda e: e.state == "invalid", default=None)

    async def cancel(self, sign_no: str, at: datetime) -> bool:
        current = self._s.ecards.get(sign_no)
        if current is None or current.state == "invalid":
            return False
        self._s.ecards[sign_no] = msgspec.structs.replace(current, state="invalid", state_since=at, cancelled_at=at)
        await self.touch_status_list(current.status_list, at)
        return True

    async def set_state(self, sign_no: str, state: EcardState, at: datetime,
                        replaced_by: str | None = None) -> None:
        current = self._s.ecards.get(sign_no)
        if current is None or (current.state == "invalid" and state != "invalid"):
            return
        changed = msgspec.structs.replace(
            current, state=state, state_since=current.state_since if current.state == state else at,
            replaced_by=replaced_by if replaced_by is not None else current.replaced_by)
        if state != "invalid" and any(e.person == current.person and e.state != "invalid" and e.sign_no != sign_no
                                      for e in self._s.ecards.values()):
            raise Duplicate(f"the person of {sign_no} has another live e-card")
        self._s.ecards[sign_no] = changed
        await self.touch_status_list(current.status_list, at)

    async def renew(self, sign_no: str, expires_at: datetime) -> None:
        self._change(sign_no, expires_at=expires_at)

    async def link(self, sign_no: str, client_id: str, account_id: int, at: datetime) -> bool:
        key = (sign_no, client_id, account_id)
        if key in self._s.ecard_links:
            return False
        self._s.ecard_links[key] = at
        return True

    async def unlink(self, sign_no: str, client_id: str) -> int:
        gone = [key for key in self._s.ecard_links if key[0] == sign_no and key[1] == client_id]
        for key in gone:
            del self._s.ecard_links[key]
        return len(gone)

    async def links(self, sign_no: str) -> list[ChannelLink]:
        rows = sorted((at, client, account) for (s, client, account), at in self._s.ecard_links.items()
                      if s == sign_no)
        return [ChannelLink(client_id=client, account_id=account, linked_at=at) for at, client, account in rows]

    async def copy_links(self, from_sign_no: str, to_sign_no: str, at: datetime) -> None:
        for sign_no, client, account in list(self._s.ecard_links):
            if sign_no == from_sign_no:
                self._s.ecard_links.setdefault((to_sign_no, client, account), at)

    async def status_list_with_room(self, size: int, fill_limit: float, at: datetime) -> int:
        lists = self._s.status_lists
        if lists:
            newest = lists[max(lists)]
            used = sum(1 for e in self._s.ecards.values() if e.status_list == newest.id)
            if used < newest.size * fill_limit:
                return newest.id
        list_id = max(lists, default=0) + 1
        lists[list_id] = StatusListInfo(id=list_id, size=size, revision=0)
        return list_id

    async def index_taken(self, list_id: int, index: int) -> bool:
        return any((e.status_list, e.status_idx) == (list_id, index) for e in self._s.ecards.values())

    async def status_list(self, list_id: int) -> StatusListInfo | None:
        return self._s.status_lists.get(list_id)

    async def status_entries(self, list_id: int) -> list[tuple[int, EcardState]]:
        return [(e.status_idx, e.state) for e in self._s.ecards.values() if e.status_list == list_id]

    async def touch_status_list(self, list_id: int, at: datetime) -> None:
        current = self._s.status_lists.get(list_id)
        if current is not None:
            self._s.status_lists[list_id] = msgspec.structs.replace(current, revision=current.revision + 1)


class FakeQrCodes:
    """`app.domain.qrcodes.QrCodeRepository`: the first use before expiry wins, and only it."""

    def __init__(self, state: FakeState) -> None:
        self._s = state

    async def add(self, code: QrCode) -> None:
        if code.code_hash in self._s.qrcodes:
            raise Duplicate(f"QR code {code.code_hash}")
        self._s.qrcodes[code.code_hash] = msgspec.structs.replace(code, used_at=None, used_by=None)

    async def use(self, code_hash: str, at: datetime, used_by: str) -> tuple[UseOutcome, QrCode | None]:
        code = self._s.qrcodes.get(code_hash)
        if code is None:
            return "unknown", None
        if code.used_at is not None:
            return "already_used", code
        if code.expires_at <= at:
            return "expired", code
        used = msgspec.structs.replace(code, used_at=at, used_by=used_by)
        self._s.qrcodes[code_hash] = used
        return "used", used

    async def purge(self, expired_before: datetime) -> int:
        gone = [h for h, code in self._s.qrcodes.items() if code.expires_at < expired_before]
        for code_hash in gone:
            del self._s.qrcodes[code_hash]
        return len(gone)
