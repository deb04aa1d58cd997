"""Family invitations and links (`family_invitations`, `family_links`)."""

from __future__ import annotations

from datetime import datetime

from app.domain.family import EndReason, FamilyInvitation, FamilyLink
from app.storage.repositories.codec import from_ts, opt_ts, ts
from app.storage.sql import Duplicate, Row, Sql

_LINK_COLUMNS = ("id, holder_sign_no, relative_sign_no, relation, slot, invitation, client_id, created_at,"
                 " ended_at, ended_by, end_reason")


def _invitation(row: Row) -> FamilyInvitation:
    return FamilyInvitation(
        code_hash=row["code_hash"], holder_sign_no=row["holder_sign_no"], relation=row["relation"],
        client_id=row["client_id"], created_at=from_ts(row["created_at"]), expires_at=from_ts(row["expires_at"]),
        accepted_at=opt_ts(row["accepted_at"]), accepted_by=row["accepted_by"],
    )


def _link(row: Row) -> FamilyLink:
    return FamilyLink(
        id=row["id"], holder_sign_no=row["holder_sign_no"], relative_sign_no=row["relative_sign_no"],
        relation=row["relation"], slot=row["slot"], invitation=row["invitation"], client_id=row["client_id"],
        created_at=from_ts(row["created_at"]), ended_at=opt_ts(row["ended_at"]), ended_by=row["ended_by"],
        end_reason=row["end_reason"],
    )


class SqlFamily:
    def __init__(self, sql: Sql) -> None:
        self._sql = sql

    async def add_invitation(self, invitation: FamilyInvitation) -> None:
        await self._sql.run(
            "INSERT INTO family_invitations (code_hash, holder_sign_no, relation, client_id, created_at, expires_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (invitation.code_hash, invitation.holder_sign_no, invitation.relation, invitation.client_id,
             ts(invitation.created_at), ts(invitation.expires_at)))

    async def invitation(self, code_hash: str) -> FamilyInvitation | None:
        row = await self._sql.one("SELECT * FROM family_invitations WHERE code_hash = ?", (code_hash,))
        return None if row is None else _invitation(row)

    async def consume_invitation(self, code_hash: str, by_sign_no: str, at: datetime) -> bool:
        # The conditional UPDATE is the single-use guarantee: of racing acceptances, exactly one
        # changes the row (on PostgreSQL the others wait for it, then find it accepted).
        changed = await self._sql.run(
            "UPDATE family_invitations SET accepted_at = ?, accepted_by = ?"
            " WHERE code_hash = ? AND accepted_at IS NULL AND expires_at > ?",
            (ts(at), by_sign_no, code_hash, ts(at)))
        return changed == 1

    async def purge_invitations(self, expired_before: datetime) -> int:
        return await self._sql.run(
            "DELETE FROM family_invitations WHERE accepted_at IS NULL AND expires_at < ?", (ts(expired_before),))

    async def add_link(self, link: FamilyLink) -> bool:
        try:
            await self._sql.run(
                f"INSERT INTO family_links ({_LINK_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL, NULL)",  # noqa: S608
                (link.id, link.holder_sign_no, link.relative_sign_no, link.relation, link.slot, link.invitation,
                 link.client_id, ts(link.created_at)))
        except Duplicate:
            return False  # family_links_live_slot or family_links_live_pair: a racing link won
        return True

    async def link(self, link_id: str) -> FamilyLink | None:
        row = await self._sql.one(f"SELECT {_LINK_COLUMNS} FROM family_links WHERE id = ?", (link_id,))  # noqa: S608
        return None if row is None else _link(row)

    async def link_for_invitation(self, code_hash: str) -> FamilyLink | None:
        row = await self._sql.one(
            f"SELECT {_LINK_COLUMNS} FROM family_links WHERE invitation = ?", (code_hash,))  # noqa: S608
        return None if row is None else _link(row)

    async def live_links(self, sign_no: str) -> list[FamilyLink]:
        rows = await self._sql.all(
            f"SELECT {_LINK_COLUMNS} FROM family_links"  # noqa: S608
            " WHERE (holder_sign_no = ? OR relative_sign_no = ?) AND ended_at IS NULL"
            " ORDER BY created_at, slot, id", (sign_no, sign_no))
        return [_link(row) for row in rows]

    async def end_link(self, link_id: str, at: datetime, ended_by: str, reason: EndReason) -> FamilyLink | None:
        row = await self._sql.one(
            "UPDATE family_links SET ended_at = ?, ended_by = ?, end_reason = ?"
            " WHERE id = ? AND ended_at IS NULL RETURNING *",
            (ts(at), ended_by, reason, link_id))
        return None if row is None else _link(row)

    async def end_links(self, sign_no: str, at: datetime, ended_by: str, reason: EndReason) -> list[FamilyLink]:
        rows = await self._sql.all(
            "UPDATE family_links SET ended_at = ?, ended_by = ?, end_reason = ?"
            " WHERE (holder_sign_no = ? OR relative_sign_no = ?) AND ended_at IS NULL RETURNING *",
            (ts(at), ended_by, reason, sign_no, sign_no))
        return sorted((_link(row) for row in rows), key=lambda link: (link.created_at, link.slot, link.id))
