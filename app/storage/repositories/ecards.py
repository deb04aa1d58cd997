"""SQLite repositories of e-cards, their channel links, status lists and QR codes."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from app.domain.ecards import ChannelLink, Ecard
from app.domain.qrcodes import QrCode, UseOutcome
from app.domain.status_list import EcardState, StatusListInfo
from app.storage.repositories.codec import from_ts, opt_ts, ts
from app.storage.sql import Duplicate, Row, Sql

_ECARD_COLUMNS = (
    "sign_no, person, card_no, state, sign_level, status_list, status_idx, issued_at, expires_at,"
    " state_since, replaced_by, cancelled_at"
)


def _ecard(row: Row) -> Ecard:
    return Ecard(
        sign_no=row["sign_no"], person=row["person"], card_no=row["card_no"], state=row["state"],
        sign_level=row["sign_level"], status_list=row["status_list"], status_idx=row["status_idx"],
        issued_at=from_ts(row["issued_at"]), expires_at=from_ts(row["expires_at"]),
        state_since=from_ts(row["state_since"]), replaced_by=row["replaced_by"],
        cancelled_at=opt_ts(row["cancelled_at"]),
    )


class SqlEcards:
    def __init__(self, sql: Sql) -> None:
        self._sql = sql

    async def _one(self, where: str, params: tuple[object, ...]) -> Ecard | None:
        row = await self._sql.one(
            f"SELECT {_ECARD_COLUMNS} FROM ecards WHERE {where}", params)  # noqa: S608
        return None if row is None else _ecard(row)

    async def add(self, ecard: Ecard) -> bool:
        try:
            await self._sql.run(
                f"INSERT INTO ecards ({_ECARD_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",  # noqa: S608
                (ecard.sign_no, ecard.person, ecard.card_no, ecard.state, ecard.sign_level,
                 ecard.status_list, ecard.status_idx, ts(ecard.issued_at), ts(ecard.expires_at),
                 ts(ecard.state_since), ecard.replaced_by,
                 None if ecard.cancelled_at is None else ts(ecard.cancelled_at)),
            )
        except Duplicate:
            return False
        return True

    async def get(self, sign_no: str) -> Ecard | None:
        return await self._one("sign_no = ?", (sign_no,))

    async def live_for_person(self, person: str) -> Ecard | None:
        return await self._one("person = ? AND state <> 'invalid'", (person,))

    async def live_for_card(self, card_no: str) -> Ecard | None:
        return await self._one("card_no = ? AND state <> 'invalid'", (card_no,))

    async def set_sign_level(self, sign_no: str, level: Literal[1, 2]) -> None:
        await self._sql.run("UPDATE ecards SET sign_level = ? WHERE sign_no = ?", (level, sign_no))

    async def latest_for_card(self, card_no: str) -> Ecard | None:
        return await self._one("card_no = ? ORDER BY issued_at DESC LIMIT 1", (card_no,))

    async def for_holder(self, account_id: int, client_id: str | None) -> Ecard | None:
        columns = ", ".join(f"e.{c.strip()}" for c in _ECARD_COLUMNS.split(","))
        row = await self._sql.one(
            f"SELECT {columns} FROM ecards e JOIN ecard_channels l ON l.sign_no = e.sign_no"  # noqa: S608
            " WHERE l.account_id = ? AND (CAST(? AS TEXT) IS NULL OR l.client_id = ?)"
            " ORDER BY e.state = 'invalid', e.issued_at DESC LIMIT 1",
            (account_id, client_id, client_id),
        )
        return None if row is None else _ecard(row)

    async def set_state(self, sign_no: str, state: EcardState, at: datetime,
                        replaced_by: str | None = None) -> None:
        await self._sql.run(
            "UPDATE ecards SET state = ?, state_since = CASE WHEN state = ? THEN state_since ELSE ? END,"
            " replaced_by = COALESCE(?, replaced_by) WHERE sign_no = ? AND (state <> 'invalid' OR ? = 'invalid')",
            (state, state, ts(at), replaced_by, sign_no, state),
        )
        await self._sql.run(
            "UPDATE status_lists SET revision = revision + 1, updated_at = ?"
            " WHERE id = (SELECT status_list FROM ecards WHERE sign_no = ?)", (ts(at), sign_no))

    async def cancel(self, sign_no: str, at: datetime) -> bool:
        changed = await self._sql.run(
            "UPDATE ecards SET state = 'invalid', state_since = ?, cancelled_at = ?"
            " WHERE sign_no = ? AND state <> 'invalid'", (ts(at), ts(at), sign_no))
        await self._sql.run(
            "UPDATE status_lists SET revision = revision + 1, updated_at = ?"
            " WHERE id = (SELECT status_list FROM ecards WHERE sign_no = ?)", (ts(at), sign_no))
        return changed == 1

    async def renew(self, sign_no: str, expires_at: datetime) -> None:
        await self._sql.run("UPDATE ecards SET expires_at = ? WHERE sign_no = ?",
                                 (ts(expires_at), sign_no))

    async def link(self, sign_no: str, client_id: str, account_id: int, at: datetime) -> bool:
        changed = await self._sql.run(
            "INSERT INTO ecard_channels (sign_no, client_id, account_id, linked_at)"
            " VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING", (sign_no, client_id, account_id, ts(at)))
        return changed == 1

    async def unlink(self, sign_no: str, client_id: str) -> int:
        return await self._sql.run(
            "DELETE FROM ecard_channels WHERE sign_no = ? AND client_id = ?", (sign_no, client_id))

    async def links(self, sign_no: str) -> list[ChannelLink]:
        rows = await self._sql.all(
            "SELECT client_id, account_id, linked_at FROM ecard_channels WHERE sign_no = ?"
            " ORDER BY linked_at, client_id, account_id", (sign_no,))
        return [ChannelLink(client_id=r["client_id"], account_id=r["account_id"],
                            linked_at=from_ts(r["linked_at"])) for r in rows]

    async def copy_links(self, from_sign_no: str, to_sign_no: str, at: datetime) -> None:
        await self._sql.run(
            "INSERT INTO ecard_channels (sign_no, client_id, account_id, linked_at)"
            " SELECT ?, client_id, account_id, ? FROM ecard_channels WHERE sign_no = ? ON CONFLICT DO NOTHING",
            (to_sign_no, ts(at), from_sign_no))

    async def status_list_with_room(self, size: int, fill_limit: float, at: datetime) -> int:
        row = await self._sql.one(
            "SELECT s.id, s.size, (SELECT count(*) FROM ecards e WHERE e.status_list = s.id) AS used"
            " FROM status_lists s ORDER BY s.id DESC LIMIT 1")
        if row is not None and row["used"] < row["size"] * fill_limit:
            return int(row["id"])
        row = await self._sql.one(
            "INSERT INTO status_lists (size, created_at, updated_at) VALUES (?, ?, ?) RETURNING id",
            (size, ts(at), ts(at)))
        assert row is not None
        return int(row["id"])

    async def index_taken(self, list_id: int, index: int) -> bool:
        return await self._sql.one(
            "SELECT 1 FROM ecards WHERE status_list = ? AND status_idx = ?", (list_id, index)) is not None

    async def status_list(self, list_id: int) -> StatusListInfo | None:
        row = await self._sql.one(
            "SELECT id, size, revision FROM status_lists WHERE id = ?", (list_id,))
        return None if row is None else StatusListInfo(id=row["id"], size=row["size"],
                                                       revision=row["revision"])

    async def status_entries(self, list_id: int) -> list[tuple[int, EcardState]]:
        rows = await self._sql.all(
            "SELECT status_idx, state FROM ecards WHERE status_list = ?", (list_id,))
        return [(r["status_idx"], r["state"]) for r in rows]

    async def touch_status_list(self, list_id: int, at: datetime) -> None:
        await self._sql.run(
            "UPDATE status_lists SET revision = revision + 1, updated_at = ? WHERE id = ?",
            (ts(at), list_id))


def _qrcode(row: Row) -> QrCode:
    return QrCode(
        code_hash=row["code_hash"], sign_no=row["sign_no"], client_id=row["client_id"],
        created_at=from_ts(row["created_at"]), expires_at=from_ts(row["expires_at"]),
        used_at=opt_ts(row["used_at"]), used_by=row["used_by"], presented_by=row["presented_by"],
    )


class SqlQrCodes:
    def __init__(self, sql: Sql) -> None:
        self._sql = sql

    async def add(self, code: QrCode) -> None:
        await self._sql.run(
            "INSERT INTO qrcodes (code_hash, sign_no, client_id, created_at, expires_at, presented_by)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (code.code_hash, code.sign_no, code.client_id, ts(code.created_at), ts(code.expires_at),
             code.presented_by))

    async def use(self, code_hash: str, at: datetime, used_by: str) -> tuple[UseOutcome, QrCode | None]:
        # The conditional UPDATE is the single-use guarantee: of racing verifications, exactly one
        # changes the row, whatever the locking around it.
        changed = await self._sql.run(
            "UPDATE qrcodes SET used_at = ?, used_by = ?"
            " WHERE code_hash = ? AND used_at IS NULL AND expires_at > ?",
            (ts(at), used_by, code_hash, ts(at)))
        won = changed == 1
        row = await self._sql.one("SELECT * FROM qrcodes WHERE code_hash = ?", (code_hash,))
        if row is None:
            return "unknown", None
        code = _qrcode(row)
        if won:
            return "used", code
        if code.used_at is not None:
            return "already_used", code
        return "expired", code

    async def purge(self, expired_before: datetime) -> int:
        return await self._sql.run("DELETE FROM qrcodes WHERE expires_at < ?",
                                          (ts(expired_before),))
