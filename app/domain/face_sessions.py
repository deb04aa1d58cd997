"""Face verification sessions (人脸核验): a challenge, frames with live guidance, then the verdict.

A session is started by a channel acting for the citizen, on a real-name check of theirs, with the
holder's separate consent to facial processing (PIPL art. 29). It is single use and bound to that
account, channel and check. The challenge is what the channel's policy asks for: ordered actions,
a light sequence (colours the client flashes on the screen), or both. Frames are analysed as they
arrive (in the face engine's worker processes); each upload answers with per-frame guidance; only
the frames' figures are kept, sealed, and deleted with the verdict. The verdict and its scores go
to the audit log; the client learns `passed` or `failed` with a reason code and a hint.

A challenge cannot be re-rolled until it suits a prepared animation: a second start on a real-name
check with an open session returns that session; a person gets at most `SESSION_STARTS_PER_DAY`
starts a day; a session left to expire counts as a failed one, and open sessions count against the
failure limit from the moment they start.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Literal, Protocol

import msgspec

from app.domain.channels import FaceChallengeKind
from app.domain.ecards import PassedFace
from app.domain.face_hints import Hint, hint_for
from app.domain.limits import DailyLimit
from app.errors import Conflict, DomainError, Forbidden, InvalidInput, NotFound
from app.face.engine import (
    ACTIONS,
    ENCODER_MODEL,
    Action,
    CardTemplate,
    FaceUnusable,
    FaceVerdict,
    FrameAnalysis,
    LightResponse,
)
from app.face.guidance import FrameFeedback, feedback
from app.face.light import LightStep, draw_light_sequence

if TYPE_CHECKING:
    from app.clock import Clock
    from app.domain.realname import RealnameService
    from app.domain.uow import Storage, UnitOfWork
    from app.face.engine import FaceEngine
    from app.security.vault import Vault

SESSION_TTL = timedelta(seconds=180)
MAX_FRAMES = 60
FAILED_SESSIONS_PER_DAY = 5
SESSION_STARTS_PER_DAY = 10

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
    light: tuple[LightStep, ...] = ()
    frame_count: int = 0
    status: SessionStatus = "open"
    reason: str | None = None
    completed_at: datetime | None = None
    spent_on: str | None = None  # the holder's act a passed session was spent on (app/domain/face_proof.py)


class StoredTemplate(msgspec.Struct, frozen=True, kw_only=True):
    """A card photo's template as stored: sealed, and tied to the photo it was computed from."""

    photo_sha256: str
    model: str
    sealed: bytes


class StoredFrame(msgspec.Struct, frozen=True, kw_only=True):
    sealed_analysis: bytes
    captured_at_ms: int | None = None


class FaceSessionRepository(Protocol):
    async def add(self, session: FaceSession) -> bool:
        """Insert; False when the session's real-name check already has an open session."""
        ...

    async def get(self, session_id: str) -> FaceSession | None: ...

    async def open_for(self, realname_id: str) -> FaceSession | None:
        """The open session of a real-name check, if any."""
        ...

    async def expire_stale(self, person: str, now: datetime) -> list[FaceSession]:
        """Close the person's open sessions that expired by `now` as failed (`expired`)."""
        ...

    async def reserve_frames(self, session_id: str, count: int, limit: int,
                             expected_first: int | None = None) -> int | None:
        """Claim `count` sequence numbers on an open session; the first, or None past `limit` (or
        when `expected_first` is given and the session has another number of frames)."""
        ...

    async def release_frames(self, session_id: str, first: int, count: int) -> None:
        """Give back the numbers of a reservation whose frames were not kept, if none came after."""
        ...

    async def hold_open(self, session_id: str) -> bool:
        """Hold an open session open until this unit of work ends (a verdict waits for it); False
        when it is no longer open."""
        ...

    async def add_frame(self, session_id: str, seq: int, sealed_analysis: bytes, sealed_figures: bytes,
                        captured_at_ms: int | None) -> None: ...

    async def figures(self, session_id: str, before: int) -> list[bytes]:
        """Sealed figures (analyses without face crops) of the frames before `before`, in order."""
        ...

    async def keep_audit_frame(self, session_id: str, seq: int, sealed_image: bytes) -> None: ...

    async def frames(self, session_id: str) -> list[StoredFrame]:
        """Sealed analyses with their capture times, in capture order."""
        ...

    async def set_status(self, session_id: str, status: SessionStatus, *, expected: SessionStatus,
                         reason: str | None = None, at: datetime | None = None) -> bool:
        """Move from `expected` to `status`; False when the session was not in `expected`, or when
        it would reopen beside a newer open session on the same real-name check."""
        ...

    async def drop_frames(self, session_id: str) -> None: ...

    async def passed_since(self, account_id: int, since: datetime) -> PassedFace | None: ...

    async def spend(self, session_id: str, act: str, at: datetime) -> str | None:
        """Mark the session spent on `act` unless it is spent already, in one statement; None when
        it was marked now, else the act it was spent on before."""
        ...

    async def template(self, card_no: str) -> StoredTemplate | None: ...

    async def save_template(self, card_no: str, stored: StoredTemplate, at: datetime) -> None: ...


class StartedSession(msgspec.Struct, frozen=True, kw_only=True):
    session: FaceSession
    expires_in: int
    resumed: bool = False  # the real-name check's open session, returned again


class Upload(msgspec.Struct, frozen=True, kw_only=True):
    received: int
    total: int
    feedback: list[FrameFeedback]


class Verdict(msgspec.Struct, frozen=True, kw_only=True):
    session_id: str
    status: Outcome
    reason: str | None = None
    hint: Hint | None = None


def draw_challenge(rng: secrets.SystemRandom | None = None) -> tuple[Action, ...]:
    """2 or 3 distinct actions in random order, from an unpredictable source."""
    rng = rng or secrets.SystemRandom()
    return tuple(rng.sample(ACTIONS, rng.choice((2, 3))))


def new_session(account_id: int, client_id: str, realname_id: str, card_no: str, person: str,
                now: datetime, policy: FaceChallengeKind, *, fixed_actions: tuple[Action, ...] = ()) -> FaceSession:
    """A fresh session with the challenge the channel's policy asks for.

    `fixed_actions` replaces the drawn actions: only a test service has them (ECARD_TEST_FACE_ACTIONS,
    refused unless ECARD_ENV=test), for browser tests whose fake camera replays a recording.
    """
    return FaceSession(
        id=secrets.token_urlsafe(16), account_id=account_id, client_id=client_id,
        realname_id=realname_id, card_no=card_no, person=person,
        actions=(fixed_actions or draw_challenge()) if "actions" in policy else (),
        light=tuple(draw_light_sequence()) if "light" in policy else (),
        nonce=secrets.token_urlsafe(12), biometric_consent_at=now, created_at=now,
        expires_at=now + SESSION_TTL,
    )


# Failures count per person *and account*: a stranger who knows the holder's name and ID number can
# pass the real-name check and start sessions that fail, but only against their own account's five,
# not the holder's. Starts count per person, so that nobody can shop for challenges (SPEC §8).
class _AlreadyOpen(Exception):
    """The real-name check got an open session from another request meanwhile."""


FAILURES = DailyLimit("face:person-account", FAILED_SESSIONS_PER_DAY, "too many failed face verifications today")
STARTS = DailyLimit("face:starts", SESSION_STARTS_PER_DAY, "too many face verifications started today")


class FaceSessionService:
    def __init__(self, storage: Storage, clock: Clock, vault: Vault, engine: FaceEngine,
                 realname: RealnameService, *, threshold: float, keep_frames: bool,
                 fixed_actions: tuple[Action, ...] = ()) -> None:
        self._storage = storage
        self._clock = clock
        self._vault = vault
        self._engine = engine
        self._realname = realname
        self._threshold = threshold
        self._keep_frames = keep_frames
        self._fixed_actions = fixed_actions  # a test service's known challenge; empty everywhere else

    async def start(self, account_id: int, client_id: str, realname_id: str,
                    biometric_consent: bool) -> StartedSession:
        """A new session on the caller's real-name check, or the check's session still open."""
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
        async with self._storage.unit_of_work() as uow:
            await self._expire_stale(uow, person, now)
            current = await uow.face_sessions.open_for(realname_id)
            if current is not None:
                return self._started(current, now, resumed=True)
        try:
            async with self._storage.unit_of_work() as uow:
                # A start counts at once as one of the person's starts and as a failure of this
                # account, given back if the session passes: each one conditional write, so racing
                # starts, in any number of processes, cannot pass the limits together.
                if not await FAILURES.take(uow.limits, f"{person}:{account_id}", now):
                    raise FAILURES.refused(now)
                if not await STARTS.take(uow.limits, person, now):
                    raise STARTS.refused(now)
                channel = await uow.channels.get(client_id)
                session = new_session(account_id, client_id, realname_id, checked.card.card_no, person, now,
                                      channel.face_challenge if channel else "actions",
                                      fixed_actions=self._fixed_actions)
                if not await uow.face_sessions.add(session):
                    raise _AlreadyOpen  # rolls the takes back
                await uow.audit.record(now, "face.session_started", actor=client_id, subject=session.id,
                                       detail={"account_id": account_id, "card_no": session.card_no,
                                               "actions": list(session.actions), "light": len(session.light),
                                               "biometric_consent": True})
                return self._started(session, now, resumed=False)
        except _AlreadyOpen:
            pass
        # Another request started a session on this check between our read and our insert.
        async with self._storage.unit_of_work() as uow:
            current = await uow.face_sessions.open_for(realname_id)
        if current is None:
            raise Conflict("the face session could not be started; try again", code="session_conflict")
        return self._started(current, now, resumed=True)

    async def _expire_stale(self, uow: UnitOfWork, person: str, now: datetime) -> None:
        """Sessions left to expire are failures: closed as such (counted when they started)."""
        for stale in await uow.face_sessions.expire_stale(person, now):
            await uow.audit.record(now, "face.failed", actor=stale.client_id, subject=stale.id, detail={
                "account_id": stale.account_id, "card_no": stale.card_no, "reason": "expired",
                "detail": "the session expired without a verdict", "frames": stale.frame_count,
            })

    def _started(self, session: FaceSession, now: datetime, *, resumed: bool) -> StartedSession:
        remaining = max(0, int((session.expires_at - now).total_seconds()))
        return StartedSession(session=session, expires_in=remaining, resumed=resumed)

    async def _own(self, session_id: str, account_id: int, client_id: str) -> FaceSession:
        async with self._storage.unit_of_work() as uow:
            session = await uow.face_sessions.get(session_id)
        if session is None or session.account_id != account_id:
            raise NotFound("no such face session for this account", code="unknown_face_session")
        if session.client_id != client_id:
            raise Forbidden("the session belongs to another channel", code="wrong_channel")
        return session

    async def add_frames(self, session_id: str, account_id: int, client_id: str,
                         frames: Sequence[bytes], captured_at_ms: Sequence[int] = (),
                         first_index: int | None = None) -> Upload:
        """Analyse and keep the figures of frames, in the order given, after those already sent.

        `captured_at_ms` (light sessions): when each frame was captured, in ms since the client
        began showing the first colour; one per frame when given. `first_index`: the index the
        client expects the first of these frames to get. With it an upload is idempotent: sent
        again after its answer was lost, it is answered as before and nothing is kept twice; sent
        out of turn, it is refused (`frame_index_mismatch`, with the session's `total`).
        """
        if not frames:
            raise InvalidInput("send at least one multipart part named 'frame'", code="no_frames",
                               field="frame")
        if captured_at_ms and len(captured_at_ms) != len(frames):
            raise DomainError("send one captured_at_ms part per frame part, in the same order",
                              code="invalid_request", field="captured_at_ms")
        if any(not 0 <= t <= SESSION_TTL.total_seconds() * 1000 for t in captured_at_ms):
            raise DomainError("captured_at_ms must be milliseconds since the first colour was shown",
                              code="invalid_request", field="captured_at_ms")
        session = await self._own(session_id, account_id, client_id)
        self._require_open(session)
        async with self._storage.unit_of_work() as uow:
            first = await uow.face_sessions.reserve_frames(session_id, len(frames), MAX_FRAMES, first_index)
        if first is None and first_index is not None:
            return await self._upload_again_or_refuse(session_id, first_index, len(frames))
        if first is None:
            raise Conflict(f"at most {MAX_FRAMES} frames per session", code="too_many_frames",
                           limit=MAX_FRAMES)
        # All frames of one upload at once, so that every face worker takes a share.
        light = bool(session.light)
        try:
            analyses = await asyncio.gather(*(self._engine.analyse_frame(frame, light=light) for frame in frames))
        except BaseException:
            async with self._storage.unit_of_work() as uow:  # the same frames may be sent again
                await uow.face_sessions.release_frames(session_id, first, len(frames))
            raise
        context = session_id.encode()
        times: Sequence[int | None] = captured_at_ms or [None] * len(frames)
        async with self._storage.unit_of_work() as uow:
            # Frames are kept only while the session is open: a verdict reached during the
            # analysis has deleted the others, and these must not outlive it.
            if not await uow.face_sessions.hold_open(session_id):
                raise Conflict("the face session is finished; start a new one", code="session_used")
            earlier = [self._unseal_analysis(sealed, context)
                       for sealed in await uow.face_sessions.figures(session_id, before=first)]
            for offset, (frame, analysis, at) in enumerate(zip(frames, analyses, times, strict=True)):
                sealed = self._vault.seal(msgspec.msgpack.encode(analysis), context=context)
                figures = self._vault.seal(msgspec.msgpack.encode(analysis.without_images()), context=context)
                await uow.face_sessions.add_frame(session_id, first + offset, sealed, figures, at)
                if self._keep_frames:
                    await uow.face_sessions.keep_audit_frame(
                        session_id, first + offset, self._vault.seal(frame, context=context))
        return Upload(received=len(frames), total=first + len(frames),
                      feedback=feedback([*earlier, *analyses], first=len(earlier)))

    async def _upload_again_or_refuse(self, session_id: str, first_index: int, count: int) -> Upload:
        """An upload whose `first_index` is not where the session stands: the same frames sent
        again after their answer was lost (answered as before), or out of turn (refused)."""
        context = session_id.encode()
        async with self._storage.unit_of_work() as uow:
            session = await uow.face_sessions.get(session_id)
            kept = await uow.face_sessions.figures(session_id, before=first_index + count)
        if session is None or session.status != "open":
            raise Conflict("the face session is finished; start a new one", code="session_used")
        if len(kept) == first_index + count:
            analyses = [self._unseal_analysis(sealed, context) for sealed in kept]
            return Upload(received=count, total=session.frame_count, feedback=feedback(analyses, first=first_index))
        if session.frame_count + count > MAX_FRAMES and session.frame_count == first_index:
            raise Conflict(f"at most {MAX_FRAMES} frames per session", code="too_many_frames",
                           limit=MAX_FRAMES)
        raise Conflict(f"the session has {session.frame_count} frames; send the next with first_index "
                       f"{session.frame_count}", code="frame_index_mismatch", total=session.frame_count)

    def _unseal_analysis(self, sealed: bytes, context: bytes) -> FrameAnalysis:
        return msgspec.msgpack.decode(self._vault.unseal(sealed, context=context), type=FrameAnalysis)

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
            stored = await uow.face_sessions.frames(session_id)
        if session.expires_at <= self._clock.now():
            verdict = FaceVerdict(passed=False, reason=None, detail="the session expired")
            return await self._record(session, verdict, reason="expired")
        try:
            analyses = [self._unseal_analysis(frame.sealed_analysis, session_id.encode()) for frame in stored]
            light = (LightResponse(steps=list(session.light), captured_at_ms=[f.captured_at_ms for f in stored])
                     if session.light else None)
            template = await self._card_template(session.card_no)
            verdict = (
                FaceVerdict(passed=False, reason="no_card_photo", detail="the card has no usable photo")
                if template is None
                else await self._engine.decide(session.actions, analyses, template, self._threshold, light)
            )
        except DomainError:
            # No verdict was reached (the engine is down, say): the session stays open for a retry,
            # unless a newer session was started on the same check meanwhile; then it ends here.
            async with self._storage.unit_of_work() as uow:
                reopened = await uow.face_sessions.set_status(session_id, "open", expected="deciding")
            if not reopened:
                await self._record(session, FaceVerdict(passed=False, reason=None, detail="a newer session"
                                                         " was started on the same check"), reason="superseded")
            raise
        return await self._record(session, verdict, reason=verdict.reason)

    async def _record(self, session: FaceSession, verdict: FaceVerdict, *, reason: str | None) -> Verdict:
        now = self._clock.now()
        status: Outcome = "passed" if verdict.passed else "failed"
        async with self._storage.unit_of_work() as uow:
            await uow.face_sessions.set_status(session.id, status, expected="deciding", reason=reason, at=now)
            await uow.face_sessions.drop_frames(session.id)
            if verdict.passed:  # the failure counted at the start is given back
                await FAILURES.give_back(uow.limits, f"{session.person}:{session.account_id}", session.created_at)
            await uow.audit.record(now, f"face.{status}", actor=session.client_id, subject=session.id, detail={
                "account_id": session.account_id, "card_no": session.card_no, "reason": reason,
                "detail": verdict.detail, "actions": list(session.actions), "scores": verdict.scores,
                "frames": session.frame_count, "threshold": self._threshold, "light": len(session.light),
            })
        return Verdict(session_id=session.id, status=status, reason=reason,
                       hint=None if verdict.passed else hint_for(reason))

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
