"""The face session service on in-memory storage, with a stand-in face engine: the session's life
(start, frames, verdict), a second start that returns the open session, and the daily limits.

The engine's image analysis and decision are tested in tests/face; here every frame shows one face
(or none, for b"empty") and the verdict is whatever the test sets.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import timedelta

import pytest

from app.clock import FrozenClock
from app.domain.channels import Channel, FaceChallengeKind
from app.domain.face_hints import hint_for
from app.domain.face_sessions import (
    FAILED_SESSIONS_PER_DAY,
    MAX_FRAMES,
    SESSION_STARTS_PER_DAY,
    SESSION_TTL,
    FaceSessionService,
    StartedSession,
    StoredFaceEvidence,
)
from app.domain.realname import RealnameService
from app.errors import Conflict, DomainError, Forbidden, InvalidInput, NotFound, RateLimited, Unavailable
from app.face.engine import (
    ACTIONS,
    Action,
    CardTemplate,
    EngineHealth,
    FaceBox,
    FaceVerdict,
    FrameAnalysis,
    LightResponse,
)
from tests.unit.fakes import HOLDER_ID, START, VAULT, FakeStorage, card

HOLDER = 1  # the holder's own account
STRANGER = 2  # another account that knows the holder's name and ID number
PASS = FaceVerdict(passed=True, scores={"distance": 0.31})
FAIL = FaceVerdict(passed=False, reason="liveness_failed", detail="turn_left not seen", scores={"distance": 0.33})


class StandInEngine:
    """Every frame shows one face (b"empty": none); the verdict is `verdict`, or an outage when `down`."""

    def __init__(self) -> None:
        self.verdict = PASS
        self.down = False
        self.enrolled = 0
        self.decisions: list[tuple[tuple[Action, ...], int, LightResponse | None]] = []
        # While `gate` is set, analyses and decisions wait for it to open (`busy` says one is waiting).
        self.gate: asyncio.Event | None = None
        self.busy = asyncio.Event()

    async def _wait_at_the_gate(self) -> None:
        if self.gate is not None:
            self.busy.set()
            await self.gate.wait()

    async def enroll(self, photo: bytes) -> CardTemplate:
        self.enrolled += 1
        return CardTemplate(encoding=[0.0] * 128)

    async def analyse_frame(self, frame: bytes, *, light: bool = False) -> FrameAnalysis:
        await self._wait_at_the_gate()
        if self.down:
            raise Unavailable("the face workers are restarting", code="face_engine_unavailable")
        if frame == b"empty":
            return FrameAnalysis(width=640, height=480, faces=0)
        return FrameAnalysis(width=640, height=480, faces=1, box=FaceBox(200, 120, 440, 360), interocular=90.0,
                             sharpness=200.0, brightness=120.0, chip=b"chip", thumb=b"thumb")

    async def decide(self, challenge: Sequence[Action], frames: Sequence[FrameAnalysis], card: CardTemplate | None,
                     threshold: float, light: LightResponse | None = None) -> FaceVerdict:
        await self._wait_at_the_gate()
        if self.down:
            raise Unavailable("the face workers are restarting", code="face_engine_unavailable")
        self.decisions.append((tuple(challenge), len(frames), light))
        return self.verdict

    async def health(self) -> EngineHealth:
        return EngineHealth(ok=True, workers=1)

    async def aclose(self) -> None:
        return None


class Faces:
    """The service, the holder's card A12345678 with its photo, and the channels demo-app (actions),
    light-app (light) and other-app."""

    def __init__(self) -> None:
        self.storage = FakeStorage()
        self.clock = FrozenClock(START)
        self.engine = StandInEngine()
        self.realname = RealnameService(self.storage, self.clock, VAULT)
        self.service = FaceSessionService(self.storage, self.clock, VAULT, self.engine, self.realname,
                                          threshold=0.4, keep_frames=False)
        state = self.storage.state
        state.cards["A12345678"] = card(photo_sha256="ab" * 32)
        state.photos["A12345678"] = VAULT.seal(b"portrait", context=b"A12345678")
        policies: tuple[tuple[str, FaceChallengeKind], ...] = (
            ("demo-app", "actions"), ("light-app", "light"), ("other-app", "actions"))
        for client_id, policy in policies:
            state.channels[client_id] = Channel(client_id=client_id, name=client_id, kind="app", secret_hash=None,
                                                redirect_uris=(), scopes=(), created_at=START, face_challenge=policy)

    async def check(self, account_id: int = HOLDER, client_id: str = "demo-app") -> str:
        """A real-name check of the holder's name and ID number by `account_id`; its id."""
        return (await self.realname.check(account_id, client_id, "张三", HOLDER_ID)).check.id

    async def start(self, realname_id: str, account_id: int = HOLDER, client_id: str = "demo-app") -> StartedSession:
        return await self.service.start(account_id, client_id, realname_id, True)

    async def attempt(self, realname_id: str, account_id: int = HOLDER, *, verdict: FaceVerdict = PASS) -> str:
        """A whole session: start, three frames, the verdict; the session's id."""
        self.engine.verdict = verdict
        session = (await self.start(realname_id, account_id)).session
        await self.service.add_frames(session.id, account_id, "demo-app", [b"f"] * 3)
        await self.service.complete(session.id, account_id, "demo-app")
        return session.id

    def actions(self) -> list[str]:
        return [entry.action for entry in self.storage.state.audit if entry.action.startswith("face.")]


@pytest.fixture
def f() -> Faces:
    return Faces()


# --- starting -------------------------------------------------------------------------------------

async def test_no_session_without_explicit_consent_to_facial_processing(f: Faces) -> None:
    realname_id = await f.check()
    with pytest.raises(InvalidInput) as refused:
        await f.service.start(HOLDER, "demo-app", realname_id, False)
    assert refused.value.code == "biometric_consent_required"
    assert (f.storage.state.face_sessions, f.actions()) == ({}, [])


async def test_a_session_challenges_two_or_three_distinct_actions_for_180_seconds(f: Faces) -> None:
    started = await f.start(await f.check())
    session = started.session
    assert 2 <= len(session.actions) <= 3
    assert len(set(session.actions)) == len(session.actions)
    assert set(session.actions) <= set(ACTIONS)
    assert (started.expires_in, started.resumed, session.light) == (180, False, ())
    assert session.biometric_consent_at == START
    assert f.storage.state.audit[-1].detail["biometric_consent"] is True


async def test_a_light_channel_gets_a_colour_sequence_to_show(f: Faces) -> None:
    session = (await f.start(await f.check(client_id="light-app"), client_id="light-app")).session
    assert session.actions == ()
    assert 4 <= len(session.light) <= 8


async def test_a_second_start_returns_the_open_session_and_costs_no_start(f: Faces) -> None:
    realname_id = await f.check()
    first = await f.start(realname_id)
    f.clock.advance(timedelta(seconds=30))
    again = await f.start(realname_id)
    assert again.resumed
    assert (again.session.id, again.session.actions, again.session.nonce) == (
        first.session.id, first.session.actions, first.session.nonce)
    assert again.expires_in == 150
    assert sum(n for (bucket, _), n in f.storage.state.counters.items() if bucket.startswith("face:starts")) == 1


async def test_a_real_name_check_starts_sessions_only_for_its_account_and_channel(f: Faces) -> None:
    realname_id = await f.check()
    for account, channel in ((HOLDER, "other-app"), (STRANGER, "demo-app")):
        with pytest.raises(NotFound) as refused:
            await f.start(realname_id, account, channel)
        assert refused.value.code == "unknown_realname"
    assert f.storage.state.face_sessions == {}


async def test_a_session_left_to_expire_is_closed_as_failed_when_the_next_starts(f: Faces) -> None:
    realname_id = await f.check()
    first = (await f.start(realname_id)).session
    f.clock.advance(SESSION_TTL)
    second = await f.start(realname_id)
    assert not second.resumed
    assert second.session.id != first.id
    closed = f.storage.state.face_sessions[first.id]
    assert (closed.status, closed.reason, closed.completed_at) == ("failed", "expired", first.expires_at)
    assert f.storage.state.audit[-2].detail["reason"] == "expired"
    assert f.actions() == ["face.session_started", "face.failed", "face.session_started"]


# --- the daily limits -----------------------------------------------------------------------------

async def test_five_failures_a_day_stop_that_account_but_not_the_holders_own(f: Faces) -> None:
    stranger_check = await f.check(STRANGER)
    for _ in range(FAILED_SESSIONS_PER_DAY):
        await f.attempt(stranger_check, STRANGER, verdict=FAIL)
    with pytest.raises(RateLimited) as refused:
        await f.start(stranger_check, STRANGER)
    assert refused.value.detail == "too many failed face verifications today"
    assert not (await f.start(await f.check(HOLDER))).resumed
    f.clock.advance(timedelta(days=1))
    assert not (await f.start(await f.check(STRANGER), STRANGER)).resumed


async def test_sessions_left_to_expire_count_as_failures(f: Faces) -> None:
    realname_id = await f.check()
    for _ in range(FAILED_SESSIONS_PER_DAY):
        await f.start(realname_id)
        f.clock.advance(SESSION_TTL)
    with pytest.raises(RateLimited) as refused:
        await f.start(realname_id)
    assert refused.value.detail == "too many failed face verifications today"


async def test_a_person_starts_at_most_ten_sessions_a_day_passed_ones_included(f: Faces) -> None:
    # Passed sessions give their failure back, so only the limit on starts can stop the eleventh.
    realname_id = await f.check()
    for _ in range(SESSION_STARTS_PER_DAY):
        await f.attempt(realname_id)
    with pytest.raises(RateLimited) as refused:
        await f.start(await f.check(STRANGER), STRANGER)
    assert refused.value.detail == "too many face verifications started today"
    assert refused.value.retry_after == 15 * 3600  # until midnight UTC
    assert f.actions().count("face.passed") == SESSION_STARTS_PER_DAY


# --- frames and the verdict -----------------------------------------------------------------------

async def test_frames_arrive_over_several_uploads_each_answered_with_guidance(f: Faces) -> None:
    session = (await f.start(await f.check())).session
    first = await f.service.add_frames(session.id, HOLDER, "demo-app", [b"f", b"empty"])
    second = await f.service.add_frames(session.id, HOLDER, "demo-app", [b"f"])
    assert (first.received, first.total, second.received, second.total) == (2, 2, 1, 3)
    assert [(fb.index, fb.face) for fb in first.feedback] == [(0, True), (1, False)]
    assert first.feedback[1].guidance == "no_face"
    assert [fb.index for fb in second.feedback] == [2]
    await f.service.complete(session.id, HOLDER, "demo-app")
    assert f.engine.decisions == [(session.actions, 3, None)]


async def test_a_session_takes_at_most_sixty_frames(f: Faces) -> None:
    session = (await f.start(await f.check())).session
    await f.service.add_frames(session.id, HOLDER, "demo-app", [b"f"] * MAX_FRAMES)
    with pytest.raises(Conflict) as refused:
        await f.service.add_frames(session.id, HOLDER, "demo-app", [b"f"])
    assert refused.value.code == "too_many_frames"


async def test_a_session_belongs_to_its_account_and_channel(f: Faces) -> None:
    session = (await f.start(await f.check())).session
    with pytest.raises(NotFound):
        await f.service.add_frames(session.id, STRANGER, "demo-app", [b"f"])
    with pytest.raises(Forbidden) as elsewhere:
        await f.service.complete(session.id, HOLDER, "other-app")
    assert elsewhere.value.code == "wrong_channel"


async def test_a_pass_is_kept_for_the_claim_and_the_frames_are_dropped(f: Faces) -> None:
    session_id = await f.attempt(await f.check())
    session = f.storage.state.face_sessions[session_id]
    assert (session.status, session.completed_at) == ("passed", START)
    assert f.storage.state.face_frames == {}
    passed = await StoredFaceEvidence(f.storage).passed_since(HOLDER, START)
    assert passed is not None
    assert (passed.session_id, passed.card_no) == (session_id, "A12345678")
    assert f.storage.state.audit[-1].detail["scores"] == PASS.scores  # scores go to the audit log only


async def test_a_failure_says_why_with_a_hint_and_spends_the_session(f: Faces) -> None:
    f.engine.verdict = FAIL
    session = (await f.start(await f.check())).session
    await f.service.add_frames(session.id, HOLDER, "demo-app", [b"f"] * 3)
    verdict = await f.service.complete(session.id, HOLDER, "demo-app")
    assert (verdict.status, verdict.reason, verdict.hint) == ("failed", "liveness_failed", hint_for("liveness_failed"))
    for retry in (f.service.complete(session.id, HOLDER, "demo-app"),
                  f.service.add_frames(session.id, HOLDER, "demo-app", [b"f"])):
        with pytest.raises(Conflict) as spent:
            await retry
        assert spent.value.code == "session_used"


async def test_an_expired_session_fails_without_a_decision(f: Faces) -> None:
    session = (await f.start(await f.check())).session
    await f.service.add_frames(session.id, HOLDER, "demo-app", [b"f"] * 3)
    f.clock.advance(SESSION_TTL)
    with pytest.raises(Conflict) as late:
        await f.service.add_frames(session.id, HOLDER, "demo-app", [b"f"])
    assert late.value.code == "challenge_expired"
    verdict = await f.service.complete(session.id, HOLDER, "demo-app")
    assert (verdict.status, verdict.reason) == ("failed", "expired")
    assert f.engine.decisions == []


async def test_an_engine_outage_leaves_the_session_open_for_a_retry(f: Faces) -> None:
    session = (await f.start(await f.check())).session
    await f.service.add_frames(session.id, HOLDER, "demo-app", [b"f"] * 3)
    f.engine.down = True
    with pytest.raises(DomainError) as outage:
        await f.service.complete(session.id, HOLDER, "demo-app")
    assert outage.value.code == "face_engine_unavailable"
    assert f.storage.state.face_sessions[session.id].status == "open"
    f.engine.down = False
    assert (await f.service.complete(session.id, HOLDER, "demo-app")).status == "passed"


async def test_a_light_session_hands_the_capture_times_to_the_decision(f: Faces) -> None:
    session = (await f.start(await f.check(client_id="light-app"), client_id="light-app")).session
    with pytest.raises(DomainError) as uneven:
        await f.service.add_frames(session.id, HOLDER, "light-app", [b"f", b"f"], [0])
    assert uneven.value.code == "invalid_request"
    await f.service.add_frames(session.id, HOLDER, "light-app", [b"f", b"f"], [0, 200])
    await f.service.complete(session.id, HOLDER, "light-app")
    assert f.engine.decisions == [((), 2, LightResponse(steps=list(session.light), captured_at_ms=[0, 200]))]


async def test_the_card_template_is_computed_once_and_a_card_without_a_photo_fails(f: Faces) -> None:
    realname_id = await f.check()
    await f.attempt(realname_id)
    await f.attempt(realname_id)
    assert f.engine.enrolled == 1
    f.storage.state.cards["A12345678"] = card(photo_sha256=None)
    session_id = await f.attempt(realname_id)
    assert f.storage.state.face_sessions[session_id].reason == "no_card_photo"
    assert len(f.engine.decisions) == 2


async def test_frames_still_in_analysis_when_the_verdict_is_reached_are_not_kept(f: Faces) -> None:
    session = (await f.start(await f.check())).session
    await f.service.add_frames(session.id, HOLDER, "demo-app", [b"f"] * 3)
    gate = f.engine.gate = asyncio.Event()
    late = asyncio.create_task(f.service.add_frames(session.id, HOLDER, "demo-app", [b"f"] * 2))
    await f.engine.busy.wait()
    f.engine.gate = None  # the verdict does not wait; the late upload's analysis still does
    verdict = await f.service.complete(session.id, HOLDER, "demo-app")
    gate.set()
    with pytest.raises(Conflict) as refused:
        await late
    assert (verdict.status, refused.value.code) == ("passed", "session_used")
    assert [key for key in f.storage.state.face_frames if key[0] == session.id] == []


async def test_an_outage_after_a_newer_session_was_started_ends_the_older_one(f: Faces) -> None:
    check = await f.check()
    older = (await f.start(check)).session
    await f.service.add_frames(older.id, HOLDER, "demo-app", [b"f"] * 3)
    f.engine.gate, f.engine.down = asyncio.Event(), True
    deciding = asyncio.create_task(f.service.complete(older.id, HOLDER, "demo-app"))
    await f.engine.busy.wait()
    newer = (await f.start(check)).session  # the check has no open session while the older is decided
    f.engine.gate.set()
    with pytest.raises(Unavailable):
        await deciding
    sessions = f.storage.state.face_sessions
    assert (sessions[older.id].status, sessions[older.id].reason) == ("failed", "superseded")
    assert sessions[newer.id].status == "open"


async def test_frames_not_analysed_in_an_outage_can_be_sent_again_at_the_same_index(f: Faces) -> None:
    session = (await f.start(await f.check())).session
    f.engine.down = True
    with pytest.raises(Unavailable):
        await f.service.add_frames(session.id, HOLDER, "demo-app", [b"f"] * 3, first_index=0)
    f.engine.down = False
    upload = await f.service.add_frames(session.id, HOLDER, "demo-app", [b"f"] * 3, first_index=0)
    assert (upload.received, upload.total) == (3, 3)
    assert [item.index for item in upload.feedback] == [0, 1, 2]
