"""Face verification sessions (人脸核验): an ordered action challenge, frames, then the verdict.

A session is started by a channel acting for the citizen, on a real-name check of theirs, with the
holder's separate consent to facial processing (PIPL art. 29). It is single use and bound to that
account, channel and check. Frames are analysed as they arrive (in the face engine's worker
processes); only their figures are kept, sealed, and deleted with the verdict. The verdict and its
scores go to the audit log; the client learns `passed` or `failed` with a reason code.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Literal, Protocol

import msgspec

from app.domain.ecards import PassedFace
from app.domain.limits import day_window, seconds_to_next_day
from app.errors import Conflict, DomainError, Forbidden, InvalidInput, NotFound, RateLimited
from app.face.engine import (
    ACTIONS,
    ENCODER_MODEL,
    Action,
    CardTemplate,
    FaceUnusable,
    FaceVerdict,
    FrameAnalysis,
)

if TYPE_CHECKING:
    from app.clock import Clock
    from app.domain.realname import RealnameService
    from app.domain.uow import Storage
    from app.face.engine import FaceEngine
    from app.security.vault import Vault

SESSION_TTL = timedelta(seconds=180)
MAX_FRAMES = 60
FAILED_SESSIONS_PER_DAY = 5

SessionStatus = Literal["open", "deciding", "passed", "failed"]
Outcome = Literal["passed", "failed"]


class FaceSession(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    account_id: int
    client_id: str
    realname_id: str
    card_no: str
    person: str  # keyed digest of the holder's ID number: the rate limit is per person
    actions: tuple[Action, ...]
    nonce: str
    biometric_consent_at: datetime
    created_at: datetime
    expires_at: datetime
    frame_count: int = 0
    status: SessionStatus = "open"
    reason: str | None = None
    completed_at: datetime | None = None


class StoredTemplate(msgspec.Struct, frozen=True, kw_only=True):
    """A card photo's template as stored: sealed, and tied to the photo it was computed from."""

    photo_sha256: str
    model: str
    sealed: bytes


class FaceSessionRepository(Protocol):
    async def add(self, session: FaceSession) -> None: ...

    async def get(self, session_id: str) -> FaceSession | None: ...

    async def reserve_frames(self, session_id: str, count: int, limit: int) -> int | None:
        """Claim `count` sequence numbers on an open session; the first, or None past `limit`."""
        ...

    async def add_frame(self, session_id: str, seq: int, sealed_analysis: bytes) -> None: ...

    async def keep_audit_frame(self, session_id: str, seq: int, sealed_image: bytes) -> None: ...

    async def frames(self, session_id: str) -> list[bytes]:
        """Sealed analyses in capture order."""
        ...

    async def set_status(self, session_id: str, status: SessionStatus, *, expected: SessionStatus,
                         reason: str | None = None, at: datetime | None = None) -> bool:
        """Move from `expected` to `status`; False when the session was not in `expected`."""
        ...

    async def drop_frames(self, session_id: str) -> None: ...

    async def passed_since(self, account_id: int, since: datetime) -> PassedFace | None: ...

    async def template(self, card_no: str) -> StoredTemplate | None: ...

    async def save_template(self, card_no: str, stored: StoredTemplate, at: datetime) -> None: ...


class StartedSession(msgspec.Struct, frozen=True, kw_only=True):
    session: FaceSession
    expires_in: int


class Upload(msgspec.Struct, frozen=True, kw_only=True):
    received: int
    total: int


class Verdict(msgspec.Struct, frozen=True, kw_only=True):
    session_id: str
    status: Outcome
    reason: str | None = None


def draw_challenge(rng: secrets.SystemRandom | None = None) -> tuple[Action, ...]:
    """2 or 3 distinct actions in random order, from an unpredictable source."""
    rng = rng or secrets.SystemRandom()
    return tuple(rng.sample(ACTIONS, rng.choice((2, 3))))


class FaceSessionService:
    def __init__(self, storage: Storage, clock: Clock, vault: Vault, engine: FaceEngine,
                 realname: RealnameService, *, threshold: float, keep_frames: bool) -> None:
        self._storage = storage
        self._clock = clock
        self._vault = vault
        self._engine = engine
        self._realname = realname
        self._threshold = threshold
        self._keep_frames = keep_frames

    async def start(self, account_id: int, client_id: str, realname_id: str,
                    biometric_consent: bool) -> StartedSession:
        if biometric_consent is not True:
            raise InvalidInput(
                "the holder's explicit consent to processing facial data is required",
                code="biometric_consent_required", field="biometric_consent",
            )
        checked = await self._realname.get(realname_id, account_id)
        if checked.check.client_id != client_id:
            raise NotFound("no such real-name check for this channel", code="unknown_realname")
        now = self._clock.now()
        person = checked.card.id_digest
        session = FaceSession(
            id=secrets.token_urlsafe(16), account_id=account_id, client_id=client_id,
            realname_id=realname_id, card_no=checked.card.card_no, person=person,
            actions=draw_challenge(), nonce=secrets.token_urlsafe(12), biometric_consent_at=now,
            created_at=now, expires_at=now + SESSION_TTL,
        )
        async with self._storage.unit_of_work() as uow:
            if await uow.limits.count(f"face:person:{person}", day_window(now)) >= FAILED_SESSIONS_PER_DAY:
                raise RateLimited("too many failed face verifications today",
                                  retry_after=seconds_to_next_day(now))
            await uow.face_sessions.add(session)
            await uow.audit.record(now, "face.session_started", actor=client_id, subject=session.id,
                                   detail={"account_id": account_id, "card_no": session.card_no,
                                           "actions": list(session.actions), "biometric_consent": True})
        return StartedSession(session=session, expires_in=int(SESSION_TTL.total_seconds()))

    async def _own(self, session_id: str, account_id: int, client_id: str) -> FaceSession:
        async with self._storage.unit_of_work() as uow:
            session = await uow.face_sessions.get(session_id)
        if session is None or session.account_id != account_id:
            raise NotFound("no such face session for this account", code="unknown_face_session")
        if session.client_id != client_id:
            raise Forbidden("the session belongs to another channel", code="wrong_channel")
        return session

    async def add_frames(self, session_id: str, account_id: int, client_id: str,
                         frames: Sequence[bytes]) -> Upload:
        """Analyse and keep the figures of frames, in the order given, after those already sent."""
        if not frames:
            raise InvalidInput("send at least one multipart part named 'frame'", code="no_frames",
                               field="frame")
        session = await self._own(session_id, account_id, client_id)
        self._require_open(session)
        async with self._storage.unit_of_work() as uow:
            first = await uow.face_sessions.reserve_frames(session_id, len(frames), MAX_FRAMES)
        if first is None:
            raise Conflict(f"at most {MAX_FRAMES} frames per session", code="too_many_frames",
                           limit=MAX_FRAMES)
        # All frames of one upload at once, so that every face worker takes a share.
        analyses = await asyncio.gather(*(self._engine.analyse_frame(frame) for frame in frames))
        context = session_id.encode()
        async with self._storage.unit_of_work() as uow:
            for offset, (frame, analysis) in enumerate(zip(frames, analyses, strict=True)):
                sealed = self._vault.seal(msgspec.msgpack.encode(analysis), context=context)
                await uow.face_sessions.add_frame(session_id, first + offset, sealed)
                if self._keep_frames:
                    await uow.face_sessions.keep_audit_frame(
                        session_id, first + offset, self._vault.seal(frame, context=context))
        return Upload(received=len(frames), total=first + len(frames))

    def _require_open(self, session: FaceSession) -> None:
        if session.status != "open":
            raise Conflict("the face session is finished; start a new one", code="session_used")
        if session.expires_at <= self._clock.now():
            raise Conflict("the face session has expired; start a new one", code="challenge_expired")

    async def complete(self, session_id: str, account_id: int, client_id: str) -> Verdict:
        session = await self._own(session_id, account_id, client_id)
        if session.status != "open":
            raise Conflict("the face session is finished; start a new one", code="session_used")
        async with self._storage.unit_of_work() as uow:
            # Only one completion wins the session, however many race for it.
            if not await uow.face_sessions.set_status(session_id, "deciding", expected="open"):
                raise Conflict("the face session is finished; start a new one", code="session_used")
            sealed = await uow.face_sessions.frames(session_id)
        if session.expires_at <= self._clock.now():
            verdict = FaceVerdict(passed=False, reason=None, detail="the session expired")
            return await self._record(session, verdict, reason="expired")
        try:
            analyses = [msgspec.msgpack.decode(self._vault.unseal(s, context=session_id.encode()),
                                               type=FrameAnalysis) for s in sealed]
            template = await self._card_template(session.card_no)
            verdict = (
                FaceVerdict(passed=False, reason="no_card_photo", detail="the card has no usable photo")
                if template is None
                else await self._engine.decide(session.actions, analyses, template, self._threshold)
            )
        except DomainError:
            # No verdict was reached (the engine is down, say): the session stays open for a retry.
            async with self._storage.unit_of_work() as uow:
                await uow.face_sessions.set_status(session_id, "open", expected="deciding")
            raise
        return await self._record(session, verdict, reason=verdict.reason)

    async def _record(self, session: FaceSession, verdict: FaceVerdict, *, reason: str | None) -> Verdict:
        now = self._clock.now()
        status: Outcome = "passed" if verdict.passed else "failed"
        async with self._storage.unit_of_work() as uow:
            await uow.face_sessions.set_status(session.id, status, expected="deciding", reason=reason, at=now)
            await uow.face_sessions.drop_frames(session.id)
            if not verdict.passed:
                await uow.limits.increment(f"face:person:{session.person}", day_window(now))
            await uow.audit.record(now, f"face.{status}", actor=session.client_id, subject=session.id, detail={
                "account_id": session.account_id, "card_no": session.card_no, "reason": reason,
                "detail": verdict.detail, "actions": list(session.actions), "scores": verdict.scores,
                "frames": session.frame_count, "threshold": self._threshold,
            })
        return Verdict(session_id=session.id, status=status, reason=reason)

    async def _card_template(self, card_no: str) -> CardTemplate | None:
        """The card photo's template: computed on first use, then read from storage."""
        async with self._storage.unit_of_work() as uow:
            card = await uow.cards.get(card_no)
            cached = await uow.face_sessions.template(card_no)
            sealed = await uow.cards.sealed_photo(card_no) if card and card.photo_sha256 else None
        if card is None or card.photo_sha256 is None or sealed is None:
            return None
        context = f"template:{card_no}".encode()
        if cached is not None and cached.photo_sha256 == card.photo_sha256 and cached.model == ENCODER_MODEL:
            return CardTemplate.from_bytes(self._vault.unseal(cached.sealed, context=context))
        photo = self._vault.unseal(sealed, context=card_no.encode())
        try:
            template = await self._engine.enroll(photo)
        except FaceUnusable:
            return None
        stored = StoredTemplate(photo_sha256=card.photo_sha256, model=template.model,
                                sealed=self._vault.seal(template.to_bytes(), context=context))
        async with self._storage.unit_of_work() as uow:
            await uow.face_sessions.save_template(card_no, stored, self._clock.now())
        return template


class StoredFaceEvidence:
    """The claim's view of face verification: a session of this account that passed recently."""

    def __init__(self, storage: Storage) -> None:
        self._storage = storage

    async def passed_since(self, account_id: int, since: datetime) -> PassedFace | None:
        async with self._storage.unit_of_work() as uow:
            return await uow.face_sessions.passed_since(account_id, since)
