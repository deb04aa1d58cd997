"""Face sessions, their frames and card templates in memory, as `SqlFaceSessions` keeps them: one
open session per real-name check, status changes only from the expected status, frames reserved
on open sessions only."""

from __future__ import annotations

from datetime import datetime

import msgspec

from app.domain.ecards import PassedFace
from app.domain.face_sessions import FaceSession, SessionStatus, StoredFrame, StoredTemplate
from app.storage.sql import Duplicate
from tests.unit.fakes.state import FakeState


class FakeFaceSessions:
    """`app.domain.face_sessions.FaceSessionRepository`."""

    def __init__(self, state: FakeState) -> None:
        self._s = state

    def _another_open(self, realname_id: str, session_id: str) -> bool:
        return any(s.realname_id == realname_id and s.status == "open" and s.id != session_id
                   for s in self._s.face_sessions.values())

    async def add(self, session: FaceSession) -> bool:
        if session.id in self._s.face_sessions or self._another_open(session.realname_id, session.id):
            return False
        # The insert leaves status, frame count, reason and completion to the table's defaults.
        self._s.face_sessions[session.id] = msgspec.structs.replace(
            session, status="open", frame_count=0, reason=None, completed_at=None)
        return True

    async def get(self, session_id: str) -> FaceSession | None:
        return self._s.face_sessions.get(session_id)

    async def open_for(self, realname_id: str) -> FaceSession | None:
        return next((s for s in self._s.face_sessions.values()
                     if s.realname_id == realname_id and s.status == "open"), None)

    async def expire_stale(self, person: str, now: datetime) -> list[FaceSession]:
        expired = [msgspec.structs.replace(s, status="failed", reason="expired", completed_at=s.expires_at)
                   for s in self._s.face_sessions.values()
                   if s.person == person and s.status == "open" and s.expires_at <= now]
        for session in expired:
            self._s.face_sessions[session.id] = session
        return expired

    async def reserve_frames(self, session_id: str, count: int, limit: int,
                             expected_first: int | None = None) -> int | None:
        session = self._s.face_sessions.get(session_id)
        if session is None or session.status != "open" or session.frame_count + count > limit:
            return None
        if expected_first is not None and session.frame_count != expected_first:
            return None
        self._s.face_sessions[session_id] = msgspec.structs.replace(
            session, frame_count=session.frame_count + count)
        return session.frame_count

    async def release_frames(self, session_id: str, first: int, count: int) -> None:
        session = self._s.face_sessions.get(session_id)
        if session is not None and session.frame_count == first + count:
            self._s.face_sessions[session_id] = msgspec.structs.replace(session, frame_count=first)

    async def hold_open(self, session_id: str) -> bool:
        session = self._s.face_sessions.get(session_id)
        return session is not None and session.status == "open"

    async def add_frame(self, session_id: str, seq: int, sealed_analysis: bytes, sealed_figures: bytes,
                        captured_at_ms: int | None) -> None:
        if (session_id, seq) in self._s.face_frames:
            raise Duplicate(f"frame {seq} of session {session_id}")
        frame = StoredFrame(sealed_analysis=sealed_analysis, captured_at_ms=captured_at_ms)
        self._s.face_frames[(session_id, seq)] = (frame, sealed_figures)

    def _in_order(self, session_id: str) -> list[tuple[int, tuple[StoredFrame, bytes]]]:
        return sorted(((seq, kept) for (s, seq), kept in self._s.face_frames.items() if s == session_id),
                      key=lambda item: item[0])

    async def figures(self, session_id: str, before: int) -> list[bytes]:
        return [figures for seq, (_, figures) in self._in_order(session_id) if seq < before]

    async def keep_audit_frame(self, session_id: str, seq: int, sealed_image: bytes) -> None:
        if (session_id, seq) in self._s.face_audit_frames:
            raise Duplicate(f"audit frame {seq} of session {session_id}")
        self._s.face_audit_frames[(session_id, seq)] = sealed_image

    async def frames(self, session_id: str) -> list[StoredFrame]:
        return [frame for _, (frame, _) in self._in_order(session_id)]

    async def set_status(self, session_id: str, status: SessionStatus, *, expected: SessionStatus,
                         reason: str | None = None, at: datetime | None = None) -> bool:
        session = self._s.face_sessions.get(session_id)
        if session is None or session.status != expected:
            return False
        if status == "open" and self._another_open(session.realname_id, session_id):
            return False  # the database's face_sessions_one_open refuses it
        self._s.face_sessions[session_id] = msgspec.structs.replace(
            session, status=status, reason=reason, completed_at=at)
        return True

    async def drop_frames(self, session_id: str) -> None:
        for key in [k for k in self._s.face_frames if k[0] == session_id]:
            del self._s.face_frames[key]

    async def passed_since(self, account_id: int, since: datetime) -> PassedFace | None:
        passed = [s for s in self._s.face_sessions.values()
                  if s.account_id == account_id and s.status == "passed"
                  and s.completed_at is not None and s.completed_at >= since]
        latest = max(passed, key=lambda s: s.completed_at or since, default=None)
        if latest is None or latest.completed_at is None:
            return None
        return PassedFace(card_no=latest.card_no, session_id=latest.id, completed_at=latest.completed_at)

    async def spend(self, session_id: str, act: str, at: datetime) -> str | None:
        session = self._s.face_sessions.get(session_id)
        if session is None:
            return ""
        if session.spent_on is not None:
            return session.spent_on
        self._s.face_sessions[session_id] = msgspec.structs.replace(session, spent_on=act)
        return None

    async def template(self, card_no: str) -> StoredTemplate | None:
        return self._s.card_templates.get(card_no)

    async def save_template(self, card_no: str, stored: StoredTemplate, at: datetime) -> None:
        self._s.card_templates[card_no] = stored
