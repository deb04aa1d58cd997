from __future__ import annotations

import json
from datetime import datetime

import msgspec

from app.domain.ecards import PassedFace
from app.domain.face_sessions import FaceSession, SessionStatus, StoredFrame, StoredTemplate
from app.face.light import LightStep
from app.storage.repositories.codec import from_ts, opt_ts, ts
from app.storage.sql import Duplicate, Row, Sql


def _session(row: Row) -> FaceSession:
    return FaceSession(
        id=row["id"], account_id=row["account_id"], client_id=row["client_id"],
        realname_id=row["realname_id"], card_no=row["card_no"], person=row["person"],
        actions=tuple(json.loads(row["actions"])), nonce=row["nonce"],
        biometric_consent_at=from_ts(row["biometric_consent_at"]), created_at=from_ts(row["created_at"]),
        expires_at=from_ts(row["expires_at"]), frame_count=row["frame_count"], status=row["status"],
        reason=row["reason"], completed_at=opt_ts(row["completed_at"]), spent_on=row["spent_on"],
        light=tuple(msgspec.json.decode(row["light"], type=list[LightStep])) if row["light"] else (),
    )


class SqlFaceSessions:
    def __init__(self, sql: Sql) -> None:
        self._sql = sql

    async def add(self, session: FaceSession) -> bool:
        try:
            await self._sql.run(
                "INSERT INTO face_sessions (id, account_id, client_id, realname_id, card_no, person, actions,"
                " nonce, biometric_consent_at, created_at, expires_at, light)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (session.id, session.account_id, session.client_id, session.realname_id, session.card_no,
                 session.person, json.dumps(list(session.actions)), session.nonce,
                 ts(session.biometric_consent_at), ts(session.created_at), ts(session.expires_at),
                 msgspec.json.encode(list(session.light)).decode() if session.light else None),
            )
        except Duplicate:
            return False  # the check already has an open session (face_sessions_one_open)
        return True

    async def open_for(self, realname_id: str) -> FaceSession | None:
        row = await self._sql.one(
            "SELECT * FROM face_sessions WHERE realname_id = ? AND status = 'open'", (realname_id,))
        return None if row is None else _session(row)

    async def expire_stale(self, person: str, now: datetime) -> list[FaceSession]:
        rows = await self._sql.all(
            "UPDATE face_sessions SET status = 'failed', reason = 'expired', completed_at = expires_at"
            " WHERE person = ? AND status = 'open' AND expires_at <= ? RETURNING *", (person, ts(now)))
        return [_session(row) for row in rows]

    async def get(self, session_id: str) -> FaceSession | None:
        row = await self._sql.one("SELECT * FROM face_sessions WHERE id = ?", (session_id,))
        return None if row is None else _session(row)

    async def reserve_frames(self, session_id: str, count: int, limit: int,
                             expected_first: int | None = None) -> int | None:
        row = await self._sql.one(
            "UPDATE face_sessions SET frame_count = frame_count + ?"
            " WHERE id = ? AND status = 'open' AND frame_count + ? <= ?"
            " AND (CAST(? AS INTEGER) IS NULL OR frame_count = ?) RETURNING frame_count",
            (count, session_id, count, limit, expected_first, expected_first))
        return None if row is None else int(row[0]) - count

    async def release_frames(self, session_id: str, first: int, count: int) -> None:
        await self._sql.run("UPDATE face_sessions SET frame_count = ? WHERE id = ? AND frame_count = ?",
                            (first, session_id, first + count))

    async def hold_open(self, session_id: str) -> bool:
        # An update that changes nothing but takes the row's lock (PostgreSQL) until the commit.
        changed = await self._sql.run(
            "UPDATE face_sessions SET frame_count = frame_count WHERE id = ? AND status = 'open'", (session_id,))
        return changed == 1

    async def add_frame(self, session_id: str, seq: int, sealed_analysis: bytes, sealed_figures: bytes,
                        captured_at_ms: int | None) -> None:
        await self._sql.run(
            "INSERT INTO face_frames (session_id, seq, analysis, figures, captured_at_ms) VALUES (?, ?, ?, ?, ?)",
            (session_id, seq, sealed_analysis, sealed_figures, captured_at_ms))

    async def figures(self, session_id: str, before: int) -> list[bytes]:
        rows = await self._sql.all(
            "SELECT figures FROM face_frames WHERE session_id = ? AND seq < ? AND figures IS NOT NULL"
            " ORDER BY seq", (session_id, before))
        return [row[0] for row in rows]

    async def keep_audit_frame(self, session_id: str, seq: int, sealed_image: bytes) -> None:
        await self._sql.run(
            "INSERT INTO face_audit_frames (session_id, seq, image_sealed) VALUES (?, ?, ?)",
            (session_id, seq, sealed_image))

    async def frames(self, session_id: str) -> list[StoredFrame]:
        rows = await self._sql.all(
            "SELECT analysis, captured_at_ms FROM face_frames WHERE session_id = ? ORDER BY seq", (session_id,))
        return [StoredFrame(sealed_analysis=row[0], captured_at_ms=row[1]) for row in rows]

    async def set_status(self, session_id: str, status: SessionStatus, *, expected: SessionStatus,
                         reason: str | None = None, at: datetime | None = None) -> bool:
        try:
            changed = await self._sql.run(
                "UPDATE face_sessions SET status = ?, reason = ?, completed_at = ? WHERE id = ? AND status = ?",
                (status, reason, None if at is None else ts(at), session_id, expected))
        except Duplicate:
            return False  # reopening beside a newer open session on the check (face_sessions_one_open)
        return changed == 1

    async def drop_frames(self, session_id: str) -> None:
        await self._sql.run("DELETE FROM face_frames WHERE session_id = ?", (session_id,))

    async def passed_since(self, account_id: int, since: datetime) -> PassedFace | None:
        row = await self._sql.one(
            "SELECT id, card_no, completed_at FROM face_sessions WHERE account_id = ? AND status = 'passed'"
            " AND completed_at >= ? ORDER BY completed_at DESC LIMIT 1", (account_id, ts(since)))
        if row is None:
            return None
        return PassedFace(card_no=row["card_no"], session_id=row["id"], completed_at=from_ts(row["completed_at"]))

    async def spend(self, session_id: str, act: str, at: datetime) -> str | None:
        # The conditional UPDATE is the single-use guarantee: of racing acts, exactly one marks it.
        if await self._sql.run("UPDATE face_sessions SET spent_on = ?, spent_at = ?"
                               " WHERE id = ? AND spent_on IS NULL", (act, ts(at), session_id)) == 1:
            return None
        row = await self._sql.one("SELECT spent_on FROM face_sessions WHERE id = ?", (session_id,))
        return "" if row is None else str(row["spent_on"])

    async def template(self, card_no: str) -> StoredTemplate | None:
        row = await self._sql.one(
            "SELECT photo_sha256, model, template FROM card_templates WHERE card_no = ?", (card_no,))
        if row is None:
            return None
        return StoredTemplate(photo_sha256=row[0], model=row[1], sealed=row[2])

    async def save_template(self, card_no: str, stored: StoredTemplate, at: datetime) -> None:
        await self._sql.run(
            "INSERT INTO card_templates (card_no, photo_sha256, model, template, created_at)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT (card_no) DO UPDATE SET photo_sha256 = excluded.photo_sha256,"
            " model = excluded.model, template = excluded.template, created_at = excluded.created_at",
            (card_no, stored.photo_sha256, stored.model, stored.sealed, ts(at)))
