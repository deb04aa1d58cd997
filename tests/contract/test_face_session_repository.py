"""Face sessions: one open session per real-name check, status changes only from the expected status,
frames reserved on open sessions up to a limit, stale sessions closed as failed, the latest pass."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import msgspec
import pytest

from app.domain.ecards import PassedFace
from app.domain.face_sessions import (
    SESSION_TTL,
    FaceSession,
    SessionStatus,
    StoredFrame,
    StoredTemplate,
    new_session,
)
from app.domain.uow import Storage, UnitOfWork
from app.storage.sql import Duplicate
from tests.contract.rows import NOW, arrange_holders, realname_check


async def arrange_checks(uow: UnitOfWork) -> tuple[int, int]:
    """The holders of `arrange_holders`, with real-name checks r1 and r2 (first account) and r3 (second)."""
    first, second = await arrange_holders(uow)
    await uow.realname.add(realname_check("r1", first))
    await uow.realname.add(realname_check("r2", first))
    await uow.realname.add(realname_check("r3", second, card_no="A00000002"))
    return first, second


def session(account_id: int, realname_id: str = "r1") -> FaceSession:
    """A fresh action session of person p1 on card A00000001, through demo-app."""
    return new_session(account_id, "demo-app", realname_id, "A00000001", "p1", NOW, "actions")


async def test_a_real_name_check_has_one_open_face_session(storage: Storage) -> None:
    async with storage.unit_of_work() as uow:
        account, _ = await arrange_checks(uow)
        first, second, elsewhere = session(account), session(account), session(account, "r2")
        assert await uow.face_sessions.add(first)
        assert not await uow.face_sessions.add(second)
        assert await uow.face_sessions.add(elsewhere)
        open_now = await uow.face_sessions.open_for("r1")
        assert await uow.face_sessions.get(second.id) is None
        assert await uow.face_sessions.set_status(first.id, "failed", expected="open", reason="liveness_failed",
                                                  at=NOW)
        assert await uow.face_sessions.open_for("r1") is None
        assert await uow.face_sessions.add(second)
    assert open_now == first


async def test_a_session_is_stored_open_and_empty_with_its_challenge(storage: Storage) -> None:
    async with storage.unit_of_work() as uow:
        account, _ = await arrange_checks(uow)
        fresh = new_session(account, "demo-app", "r1", "A00000001", "p1", NOW, "actions+light")
        assert await uow.face_sessions.add(msgspec.structs.replace(
            fresh, status="passed", frame_count=9, reason="x", completed_at=NOW))
        stored = await uow.face_sessions.get(fresh.id)
    assert stored == fresh  # the actions and the light sequence read back as drawn


async def test_a_status_moves_only_from_the_expected_one(storage: Storage) -> None:
    async with storage.unit_of_work() as uow:
        account, _ = await arrange_checks(uow)
        s = session(account)
        await uow.face_sessions.add(s)
        assert not await uow.face_sessions.set_status(s.id, "passed", expected="deciding", at=NOW)
        assert await uow.face_sessions.set_status(s.id, "deciding", expected="open")
        assert not await uow.face_sessions.set_status(s.id, "deciding", expected="open")
        assert await uow.face_sessions.set_status(s.id, "open", expected="deciding")  # no verdict: a retry
        assert await uow.face_sessions.set_status(s.id, "deciding", expected="open")
        assert await uow.face_sessions.set_status(s.id, "passed", expected="deciding", at=NOW + timedelta(seconds=9))
        assert not await uow.face_sessions.set_status("unknown", "deciding", expected="open")
        decided = await uow.face_sessions.get(s.id)
    assert decided is not None
    assert (decided.status, decided.reason, decided.completed_at) == ("passed", None, NOW + timedelta(seconds=9))


async def test_a_session_cannot_reopen_beside_a_newer_open_one(storage: Storage) -> None:
    async with storage.unit_of_work() as uow:
        account, _ = await arrange_checks(uow)
        deciding = session(account)
        await uow.face_sessions.add(deciding)
        assert await uow.face_sessions.set_status(deciding.id, "deciding", expected="open")
        assert await uow.face_sessions.add(session(account))  # the check's session is not open meanwhile
    async with storage.unit_of_work() as uow:
        assert not await uow.face_sessions.set_status(deciding.id, "open", expected="deciding")
    async with storage.unit_of_work() as uow:
        after = await uow.face_sessions.get(deciding.id)
    assert after is not None
    assert after.status == "deciding"


async def test_a_persons_stale_sessions_close_as_failed(storage: Storage) -> None:
    async with storage.unit_of_work() as uow:
        account, other = await arrange_checks(uow)
        stale = session(account)
        decided = session(account, "r2")
        someone_else = new_session(other, "demo-app", "r3", "A00000002", "p2", NOW, "actions")
        for s in (stale, decided, someone_else):
            await uow.face_sessions.add(s)
        await uow.face_sessions.set_status(decided.id, "deciding", expected="open")
        too_early = await uow.face_sessions.expire_stale("p1", NOW + SESSION_TTL - timedelta(seconds=1))
        closed = await uow.face_sessions.expire_stale("p1", NOW + SESSION_TTL)
        twice = await uow.face_sessions.expire_stale("p1", NOW + SESSION_TTL)
        untouched = await uow.face_sessions.get(someone_else.id)
        still_deciding = await uow.face_sessions.get(decided.id)
    failed = msgspec.structs.replace(stale, status="failed", reason="expired", completed_at=stale.expires_at)
    assert (too_early, closed, twice) == ([], [failed], [])
    assert untouched == someone_else
    assert still_deciding is not None
    assert still_deciding.status == "deciding"


async def test_frames_are_reserved_on_an_open_session_up_to_the_limit(storage: Storage) -> None:
    async with storage.unit_of_work() as uow:
        account, _ = await arrange_checks(uow)
        s = session(account)
        await uow.face_sessions.add(s)
        firsts = [await uow.face_sessions.reserve_frames(s.id, n, 5) for n in (2, 3, 1)]
        after = await uow.face_sessions.get(s.id)
        await uow.face_sessions.set_status(s.id, "deciding", expected="open")
        closed = await uow.face_sessions.reserve_frames(s.id, 0, 5)
        unknown = await uow.face_sessions.reserve_frames("unknown", 1, 5)
    assert firsts == [0, 2, None]
    assert after is not None
    assert after.frame_count == 5
    assert (closed, unknown) == (None, None)


async def test_frames_read_back_in_capture_order_and_drop_with_the_verdict(storage: Storage) -> None:
    async with storage.unit_of_work() as uow:
        account, _ = await arrange_checks(uow)
        s, other = session(account), session(account, "r2")
        await uow.face_sessions.add(s)
        await uow.face_sessions.add(other)
        for seq in (2, 0, 1):
            await uow.face_sessions.add_frame(s.id, seq, f"a{seq}".encode(), f"f{seq}".encode(), 100 * seq)
        await uow.face_sessions.add_frame(other.id, 0, b"other", b"other", None)
        await uow.face_sessions.keep_audit_frame(s.id, 0, b"image")
        frames = await uow.face_sessions.frames(s.id)
        figures = await uow.face_sessions.figures(s.id, before=2)
        await uow.face_sessions.drop_frames(s.id)
        dropped = await uow.face_sessions.frames(s.id)
        kept = await uow.face_sessions.frames(other.id)
    assert frames == [StoredFrame(sealed_analysis=f"a{n}".encode(), captured_at_ms=100 * n) for n in range(3)]
    assert figures == [b"f0", b"f1"]
    assert dropped == []
    assert kept == [StoredFrame(sealed_analysis=b"other", captured_at_ms=None)]


async def test_a_frame_position_is_taken_once(storage: Storage) -> None:
    async with storage.unit_of_work() as uow:
        account, _ = await arrange_checks(uow)
        s = session(account)
        await uow.face_sessions.add(s)
        await uow.face_sessions.add_frame(s.id, 0, b"a", b"f", None)
    with pytest.raises(Duplicate):
        async with storage.unit_of_work() as uow:
            await uow.face_sessions.add_frame(s.id, 0, b"b", b"g", None)


async def test_the_latest_pass_of_the_account_since_a_moment(storage: Storage) -> None:
    async with storage.unit_of_work() as uow:
        account, other = await arrange_checks(uow)
        older, newer, failed = session(account), session(account, "r2"), session(account)
        verdicts: tuple[tuple[FaceSession, SessionStatus, datetime], ...] = (
            (older, "passed", NOW + timedelta(minutes=1)), (newer, "passed", NOW + timedelta(minutes=2)),
            (failed, "failed", NOW + timedelta(minutes=3)))
        for s, status, at in verdicts:
            assert await uow.face_sessions.add(s)
            await uow.face_sessions.set_status(s.id, "deciding", expected="open")
            await uow.face_sessions.set_status(s.id, status, expected="deciding", at=at)
        latest = await uow.face_sessions.passed_since(account, NOW)
        at_the_moment = await uow.face_sessions.passed_since(account, NOW + timedelta(minutes=2))
        too_late = await uow.face_sessions.passed_since(account, NOW + timedelta(minutes=2, microseconds=1))
        not_theirs = await uow.face_sessions.passed_since(other, NOW)
    assert latest == PassedFace(card_no="A00000001", session_id=newer.id, completed_at=NOW + timedelta(minutes=2))
    assert at_the_moment == latest
    assert (too_late, not_theirs) == (None, None)


async def test_a_card_template_is_replaced_by_the_newer_one(storage: Storage) -> None:
    first = StoredTemplate(photo_sha256="a" * 64, model="m1", sealed=b"t1")
    second = StoredTemplate(photo_sha256="b" * 64, model="m2", sealed=b"t2")
    async with storage.unit_of_work() as uow:
        await arrange_checks(uow)
        none_yet = await uow.face_sessions.template("A00000001")
        await uow.face_sessions.save_template("A00000001", first, NOW)
        await uow.face_sessions.save_template("A00000001", second, NOW + timedelta(days=1))
        stored = await uow.face_sessions.template("A00000001")
    assert (none_yet, stored) == (None, second)


async def test_racing_completions_let_one_decide(storage: Storage) -> None:
    async with storage.unit_of_work() as uow:
        account, _ = await arrange_checks(uow)
        s = session(account)
        await uow.face_sessions.add(s)

    async def complete() -> bool:
        async with storage.unit_of_work() as uow:
            return await uow.face_sessions.set_status(s.id, "deciding", expected="open")

    assert sorted(await asyncio.gather(*(complete() for _ in range(5)))) == [False] * 4 + [True]


async def test_frames_are_held_open_only_while_the_session_is_open(storage: Storage) -> None:
    async with storage.unit_of_work() as uow:
        account, _ = await arrange_checks(uow)
        open_one = session(account)
        await uow.face_sessions.add(open_one)
        assert await uow.face_sessions.hold_open(open_one.id)
        assert await uow.face_sessions.set_status(open_one.id, "deciding", expected="open")
        assert not await uow.face_sessions.hold_open(open_one.id)
        assert not await uow.face_sessions.hold_open("no-such-session")


async def test_a_reservation_may_name_where_it_expects_to_start_and_be_given_back(storage: Storage) -> None:
    async with storage.unit_of_work() as uow:
        account, _ = await arrange_checks(uow)
        s = session(account)
        await uow.face_sessions.add(s)
        assert await uow.face_sessions.reserve_frames(s.id, 2, 10, expected_first=0) == 0
        assert await uow.face_sessions.reserve_frames(s.id, 2, 10, expected_first=0) is None
        assert await uow.face_sessions.reserve_frames(s.id, 2, 10, expected_first=2) == 2
        await uow.face_sessions.release_frames(s.id, 0, 2)  # not the last reservation: kept
        await uow.face_sessions.release_frames(s.id, 2, 2)
        after = await uow.face_sessions.get(s.id)
    assert after is not None
    assert after.frame_count == 2


async def test_a_passed_session_is_spent_on_one_act_whoever_races_for_it(storage: Storage) -> None:
    async with storage.unit_of_work() as uow:
        account, _ = await arrange_checks(uow)
        passed = session(account)
        await uow.face_sessions.add(passed)
        await uow.face_sessions.set_status(passed.id, "deciding", expected="open")
        await uow.face_sessions.set_status(passed.id, "passed", expected="deciding", at=NOW)

    async def spend(act: str) -> str | None:
        async with storage.unit_of_work() as uow:
            return await uow.face_sessions.spend(passed.id, act, NOW)

    acts = [f"act-{n}" for n in range(50)]
    outcomes = await asyncio.gather(*(spend(act) for act in acts))
    assert outcomes.count(None) == 1
    winner = acts[outcomes.index(None)]
    assert all(outcome == winner for outcome in outcomes if outcome is not None)
    async with storage.unit_of_work() as uow:
        stored = await uow.face_sessions.get(passed.id)
        assert await uow.face_sessions.spend(passed.id, "later", NOW) == winner
    assert stored is not None
    assert stored.spent_on == winner
