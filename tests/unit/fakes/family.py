"""Family invitations and links in memory, as `SqlFamily` keeps them: an invitation accepted once
and only before it expires; a live link per holder slot and per holder-relative pair (an insert
that breaks either is refused with False)."""

from __future__ import annotations

from datetime import datetime

import msgspec

from app.domain.family import EndReason, FamilyInvitation, FamilyLink
from app.storage.sql import Duplicate
from tests.unit.fakes.state import FakeState


class FakeFamily:
    """`app.domain.family.FamilyRepository`. Foreign keys (e-cards) are not checked."""

    def __init__(self, state: FakeState) -> None:
        self._s = state

    async def add_invitation(self, invitation: FamilyInvitation) -> None:
        if invitation.code_hash in self._s.family_invitations:
            raise Duplicate(f"family invitation {invitation.code_hash}")
        self._s.family_invitations[invitation.code_hash] = msgspec.structs.replace(
            invitation, accepted_at=None, accepted_by=None)

    async def invitation(self, code_hash: str) -> FamilyInvitation | None:
        return self._s.family_invitations.get(code_hash)

    async def consume_invitation(self, code_hash: str, by_sign_no: str, at: datetime) -> bool:
        invitation = self._s.family_invitations.get(code_hash)
        if invitation is None or invitation.accepted_at is not None or invitation.expires_at <= at:
            return False
        self._s.family_invitations[code_hash] = msgspec.structs.replace(
            invitation, accepted_at=at, accepted_by=by_sign_no)
        return True

    async def purge_invitations(self, expired_before: datetime) -> int:
        gone = [h for h, i in self._s.family_invitations.items()
                if i.accepted_at is None and i.expires_at < expired_before]
        for code_hash in gone:
            del self._s.family_invitations[code_hash]
        return len(gone)

    async def add_link(self, link: FamilyLink) -> bool:
        if link.id in self._s.family_links or any(other.invitation == link.invitation
                                                  for other in self._s.family_links.values()):
            raise Duplicate(f"family link {link.id}")
        clashes = any(
            other.ended_at is None and other.holder_sign_no == link.holder_sign_no
            and (other.slot == link.slot or other.relative_sign_no == link.relative_sign_no)
            for other in self._s.family_links.values())
        if clashes:
            return False
        self._s.family_links[link.id] = msgspec.structs.replace(link, ended_at=None, ended_by=None, end_reason=None)
        return True

    async def link(self, link_id: str) -> FamilyLink | None:
        return self._s.family_links.get(link_id)

    async def link_for_invitation(self, code_hash: str) -> FamilyLink | None:
        return next((link for link in self._s.family_links.values() if link.invitation == code_hash), None)

    async def live_links(self, sign_no: str) -> list[FamilyLink]:
        return sorted((link for link in self._s.family_links.values()
                       if link.ended_at is None and sign_no in (link.holder_sign_no, link.relative_sign_no)),
                      key=lambda link: (link.created_at, link.slot, link.id))

    async def end_link(self, link_id: str, at: datetime, ended_by: str, reason: EndReason) -> FamilyLink | None:
        link = self._s.family_links.get(link_id)
        if link is None or link.ended_at is not None:
            return None
        ended = msgspec.structs.replace(link, ended_at=at, ended_by=ended_by, end_reason=reason)
        self._s.family_links[link_id] = ended
        return ended

    async def end_links(self, sign_no: str, at: datetime, ended_by: str, reason: EndReason) -> list[FamilyLink]:
        ended = []
        for link in await self.live_links(sign_no):
            done = await self.end_link(link.id, at, ended_by, reason)
            if done is not None:
                ended.append(done)
        return ended
