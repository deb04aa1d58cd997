"""The e-card's usage history (`ecard_usage`)."""

from __future__ import annotations

from app.domain.ecard_usage import FamilyMember, RecordedUsage, UsageEvent, UsagePosition
from app.storage.repositories.codec import from_ts, ts
from app.storage.sql import Row, Sql


def _event(row: Row) -> UsageEvent:
    member = None
    if row["family_member_name"] is not None:
        member = FamilyMember(name=row["family_member_name"], id_number=row["family_member_id_number"])
    return UsageEvent(sign_no=row["sign_no"], kind=row["kind"], at=from_ts(row["at"]), client_id=row["client_id"],
                      party_name=row["party_name"], party_kind=row["party_kind"], family_member=member)


class SqlEcardUsage:
    def __init__(self, sql: Sql) -> None:
        self._sql = sql

    async def record(self, event: UsageEvent) -> None:
        member = event.family_member
        await self._sql.run(
            "INSERT INTO ecard_usage (sign_no, kind, at, client_id, party_name, party_kind, family_member_name,"
            " family_member_id_number) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (event.sign_no, event.kind, ts(event.at), event.client_id, event.party_name, event.party_kind,
             member.name if member else None, member.id_number if member else None),
        )

    async def page(self, sign_no: str, after: UsagePosition | None, limit: int) -> list[RecordedUsage]:
        query = "SELECT * FROM ecard_usage WHERE sign_no = ?"
        params: list[object] = [sign_no]
        if after is not None:
            query += " AND (at < ? OR (at = ? AND id < ?))"
            params += [ts(after.at), ts(after.at), after.id]
        rows = await self._sql.all(query + " ORDER BY at DESC, id DESC LIMIT ?", [*params, limit])
        return [RecordedUsage(id=row["id"], event=_event(row)) for row in rows]
