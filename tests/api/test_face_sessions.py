"""Face verification through the API, with the real engine on fixture frames."""

from __future__ import annotations

import os
import signal
import sqlite3
from datetime import timedelta
from typing import Any

import cv2
import pytest
from litestar.testing import AsyncTestClient

from app.clock import FrozenClock
from app.config import Settings
from app.face.images import encode_jpeg
from app.face.pool import ProcessPoolFaceEngine
from app.qa.fixtures import frame_bytes, frames, read_bytes
from app.services import Services
from tests.flow import bearer, import_fixture_cards, realname_for

pytestmark = pytest.mark.face


async def start(client: AsyncTestClient[Any], token: str, realname_id: str, consent: bool = True) -> Any:
    return await client.post("/v1/face/sessions", json={"realname_id": realname_id, "biometric_consent": consent},
                             headers=bearer(token))


async def upload(client: AsyncTestClient[Any], token: str, session_id: str, frames: list[bytes]) -> Any:
    files = [("frame", (f"{i:03d}.jpg", data, "image/jpeg")) for i, data in enumerate(frames)]
    return await client.post(f"/v1/face/sessions/{session_id}/frames", files=files, headers=bearer(token))


async def complete(client: AsyncTestClient[Any], token: str, session_id: str) -> Any:
    return await client.post(f"/v1/face/sessions/{session_id}/complete", headers=bearer(token))


async def perform(client: AsyncTestClient[Any], token: str, challenge: dict[str, Any], person: str) -> Any:
    """Upload `person`'s genuine frames for each challenged action, in order, one request per action."""
    for action in challenge["actions"]:
        r = await upload(client, token, challenge["session_id"], frame_bytes(f"genuine/{person}/{action}"))
        assert r.status_code == 202, r.text
    return await complete(client, token, challenge["session_id"])


@pytest.fixture
async def holder(client: AsyncTestClient[Any], services: Services) -> tuple[str, str]:
    await import_fixture_cards(services)
    return await realname_for(client, services, "astronaut")


async def test_challenge_has_two_or_three_ordered_distinct_actions(
    client: AsyncTestClient[Any], holder: tuple[str, str]
) -> None:
    token, realname_id = holder
    r = await start(client, token, realname_id)
    assert r.status_code == 201, r.text
    body = r.json()
    assert 2 <= len(body["actions"]) <= 3
    assert len(set(body["actions"])) == len(body["actions"])
    assert set(body["actions"]) <= {"blink", "open_mouth", "turn_left", "turn_right"}
    assert 0 < body["expires_in"] <= 180
    assert body["nonce"]


async def test_without_biometric_consent_is_422(client: AsyncTestClient[Any], holder: tuple[str, str]) -> None:
    token, realname_id = holder
    r = await start(client, token, realname_id, consent=False)
    assert r.status_code == 422
    assert r.json()["code"] == "biometric_consent_required"


async def test_unknown_realname_is_404(client: AsyncTestClient[Any], holder: tuple[str, str]) -> None:
    token, _ = holder
    r = await start(client, token, "not-a-check")
    assert r.status_code == 404
    assert r.json()["code"] == "unknown_realname"


async def test_genuine_holder_passes_and_may_then_claim(
    client: AsyncTestClient[Any], holder: tuple[str, str], settings: Settings
) -> None:
    token, realname_id = holder
    challenge = (await start(client, token, realname_id)).json()
    r = await perform(client, token, challenge, "astronaut")
    assert r.status_code == 200, r.text
    assert r.json() == {"session_id": challenge["session_id"], "status": "passed"}
    claim = await client.post("/v1/ecards", json={}, headers=bearer(token))
    assert claim.status_code == 201, claim.text
    # Frames are not kept after the verdict; the decision and its scores are audited.
    with sqlite3.connect(settings.sqlite_path) as db:
        assert db.execute("SELECT count(*) FROM face_frames").fetchone()[0] == 0
        assert db.execute("SELECT count(*) FROM face_audit_frames").fetchone()[0] == 0
        detail = db.execute("SELECT detail FROM audit_log WHERE action = 'face.passed'").fetchone()[0]
    assert "distance" in detail


async def test_verdict_shows_no_scores(client: AsyncTestClient[Any], holder: tuple[str, str]) -> None:
    token, realname_id = holder
    challenge = (await start(client, token, realname_id)).json()
    r = await perform(client, token, challenge, "astronaut")
    assert set(r.json()) <= {"session_id", "status", "reason", "hint"}


async def test_another_person_doing_the_actions_is_face_mismatch(
    client: AsyncTestClient[Any], holder: tuple[str, str]
) -> None:
    token, realname_id = holder
    challenge = (await start(client, token, realname_id)).json()
    r = await perform(client, token, challenge, "hopper")
    assert r.json()["status"] == "failed"
    assert r.json()["reason"] == "face_mismatch"


async def test_repeated_still_photo_fails_liveness(client: AsyncTestClient[Any], holder: tuple[str, str]) -> None:
    token, realname_id = holder
    challenge = (await start(client, token, realname_id)).json()
    await upload(client, token, challenge["session_id"], frame_bytes("attacks/still_selfie"))
    r = await complete(client, token, challenge["session_id"])
    assert (r.json()["status"], r.json()["reason"]) == ("failed", "liveness_failed")


async def test_card_photo_repeated_fails_liveness(client: AsyncTestClient[Any], holder: tuple[str, str]) -> None:
    token, realname_id = holder
    challenge = (await start(client, token, realname_id)).json()
    await upload(client, token, challenge["session_id"], frame_bytes("attacks/card_photo"))
    r = await complete(client, token, challenge["session_id"])
    assert r.json()["reason"] == "liveness_failed"


async def test_blank_frames_give_no_face(client: AsyncTestClient[Any], holder: tuple[str, str]) -> None:
    token, realname_id = holder
    challenge = (await start(client, token, realname_id)).json()
    await upload(client, token, challenge["session_id"], frame_bytes("attacks/no_face"))
    r = await complete(client, token, challenge["session_id"])
    assert r.json()["reason"] == "no_face"


async def test_two_faces_give_multiple_faces(client: AsyncTestClient[Any], holder: tuple[str, str]) -> None:
    token, realname_id = holder
    challenge = (await start(client, token, realname_id)).json()
    await upload(client, token, challenge["session_id"], frame_bytes("attacks/two_faces"))
    r = await complete(client, token, challenge["session_id"])
    assert r.json()["reason"] == "multiple_faces"


async def test_card_without_photo_gives_no_card_photo(client: AsyncTestClient[Any], services: Services) -> None:
    await import_fixture_cards(services)
    token, realname_id = await realname_for(client, services, "no_photo")
    challenge = (await start(client, token, realname_id)).json()
    r = await perform(client, token, challenge, "astronaut")
    assert r.json()["reason"] == "no_card_photo"


async def test_mini_program_uploads_one_frame_per_request(
    client: AsyncTestClient[Any], holder: tuple[str, str]
) -> None:
    token, realname_id = holder
    challenge = (await start(client, token, realname_id)).json()
    frames = [f for action in challenge["actions"] for f in frame_bytes(f"genuine/astronaut/{action}")]
    for n, frame in enumerate(frames, start=1):
        r = await upload(client, token, challenge["session_id"], [frame])
        assert r.json()["total"] == n
    assert (await complete(client, token, challenge["session_id"])).json()["status"] == "passed"


async def test_corrupt_bytes_are_refused_with_a_code(client: AsyncTestClient[Any], holder: tuple[str, str]) -> None:
    token, realname_id = holder
    challenge = (await start(client, token, realname_id)).json()
    good = frame_bytes("genuine/astronaut/blink")[0]
    truncated = await upload(client, token, challenge["session_id"], [good[: len(good) // 2]])
    assert truncated.status_code == 422
    assert truncated.json()["code"] == "corrupt_image"
    text = await upload(client, token, challenge["session_id"], [b"GIF89a not a frame"])
    assert text.status_code == 415
    assert text.json()["code"] == "unsupported_image_type"


async def test_oversized_frame_is_413(client: AsyncTestClient[Any], holder: tuple[str, str]) -> None:
    token, realname_id = holder
    challenge = (await start(client, token, realname_id)).json()
    good = frame_bytes("genuine/astronaut/blink")[0]
    r = await upload(client, token, challenge["session_id"], [good + b"\0" * (2 * 1024 * 1024)])
    assert r.status_code == 413
    assert r.json()["code"] == "frame_too_large"


async def test_a_body_over_the_upload_limit_is_413(client: AsyncTestClient[Any], holder: tuple[str, str]) -> None:
    token, realname_id = holder
    challenge = (await start(client, token, realname_id)).json()
    chunk = b"\xff\xd8" + b"\0" * (2 * 1024 * 1024 - 16)
    r = await upload(client, token, challenge["session_id"], [chunk] * 13)
    assert r.status_code == 413
    assert r.json()["code"] == "payload_too_large"


async def test_more_than_sixty_frames_are_refused_before_decoding(
    client: AsyncTestClient[Any], holder: tuple[str, str]
) -> None:
    token, realname_id = holder
    challenge = (await start(client, token, realname_id)).json()
    r = await upload(client, token, challenge["session_id"], [b"x"] * 61)
    assert r.status_code == 409
    assert r.json()["code"] == "too_many_frames"


async def test_frames_need_multipart(client: AsyncTestClient[Any], holder: tuple[str, str]) -> None:
    token, realname_id = holder
    challenge = (await start(client, token, realname_id)).json()
    r = await client.post(f"/v1/face/sessions/{challenge['session_id']}/frames", json={"frame": "x"},
                          headers=bearer(token))
    assert r.status_code == 415
    empty = await client.post(f"/v1/face/sessions/{challenge['session_id']}/frames",
                              files=[("other", ("a.jpg", b"x", "image/jpeg"))], headers=bearer(token))
    assert empty.status_code == 422
    assert empty.json()["code"] == "no_frames"


async def test_session_is_single_use(client: AsyncTestClient[Any], holder: tuple[str, str]) -> None:
    token, realname_id = holder
    challenge = (await start(client, token, realname_id)).json()
    await perform(client, token, challenge, "astronaut")
    again = await complete(client, token, challenge["session_id"])
    assert again.status_code == 409
    assert again.json()["code"] == "session_used"
    more = await upload(client, token, challenge["session_id"], frame_bytes("genuine/astronaut/blink")[:1])
    assert more.json()["code"] == "session_used"


async def test_expired_session_fails_with_expired(
    client: AsyncTestClient[Any], holder: tuple[str, str], clock: FrozenClock
) -> None:
    token, realname_id = holder
    challenge = (await start(client, token, realname_id)).json()
    clock.advance(timedelta(seconds=181))
    late = await upload(client, token, challenge["session_id"], frame_bytes("genuine/astronaut/blink")[:1])
    assert late.status_code == 409
    assert late.json()["code"] == "challenge_expired"
    r = await complete(client, token, challenge["session_id"])
    assert r.json()["status"] == "failed"
    assert r.json()["reason"] == "expired"


async def test_session_is_bound_to_its_account(client: AsyncTestClient[Any], services: Services,
                                               holder: tuple[str, str]) -> None:
    token, realname_id = holder
    challenge = (await start(client, token, realname_id)).json()
    other_token, _ = await realname_for(client, services, "hopper", phone="13700000001")
    r = await complete(client, other_token, challenge["session_id"])
    assert r.status_code == 404
    assert r.json()["code"] == "unknown_face_session"


async def test_five_failed_sessions_a_day_then_429(client: AsyncTestClient[Any], holder: tuple[str, str]) -> None:
    token, realname_id = holder
    no_face = frame_bytes("attacks/no_face")[:2]
    for _ in range(5):
        challenge = (await start(client, token, realname_id)).json()
        await upload(client, token, challenge["session_id"], no_face)
        assert (await complete(client, token, challenge["session_id"])).json()["status"] == "failed"
    r = await start(client, token, realname_id)
    assert r.status_code == 429
    assert r.json()["code"] == "rate_limited"


async def test_claim_without_a_passed_session_is_refused(
    client: AsyncTestClient[Any], holder: tuple[str, str]
) -> None:
    token, _ = holder
    r = await client.post("/v1/ecards", json={}, headers=bearer(token))
    assert r.status_code == 403
    assert r.json()["code"] == "face_verification_required"


async def test_crashed_worker_gives_503_and_the_pool_recovers(
    client: AsyncTestClient[Any], holder: tuple[str, str], face_engine: ProcessPoolFaceEngine
) -> None:
    token, realname_id = holder
    challenge = (await start(client, token, realname_id)).json()
    frame = frame_bytes("genuine/astronaut/blink")[:1]
    assert (await upload(client, token, challenge["session_id"], frame)).status_code == 202
    executor = face_engine._executor
    assert executor is not None
    assert executor._processes, "the pool has a running worker"
    for pid in list(executor._processes):  # the worker processes of the running pool
        os.kill(pid, signal.SIGKILL)
    r = await upload(client, token, challenge["session_id"], frame)
    assert r.status_code == 503
    assert r.json()["code"] == "face_engine_unavailable"
    again = await upload(client, token, challenge["session_id"], frame)
    assert again.status_code == 202


async def test_card_photo_read_from_fixtures_is_checked(holder: tuple[str, str]) -> None:
    # The fixture loader refuses files whose checksum does not match the manifest.
    assert read_bytes("portraits/astronaut_card.jpg")[:2] == b"\xff\xd8"


async def test_out_of_focus_capture_gives_poor_quality(client: AsyncTestClient[Any], holder: tuple[str, str]) -> None:
    token, realname_id = holder
    challenge = (await start(client, token, realname_id)).json()
    blurred = [encode_jpeg(cv2.GaussianBlur(image, (0, 0), 4))
               for action in challenge["actions"] for image in frames(f"genuine/astronaut/{action}")]
    await upload(client, token, challenge["session_id"], blurred)
    r = await complete(client, token, challenge["session_id"])
    assert (r.json()["status"], r.json()["reason"]) == ("failed", "poor_quality")


async def test_an_upload_sent_again_with_its_first_index_is_kept_once_and_answered_as_before(
    client: AsyncTestClient[Any], holder: tuple[str, str], settings: Settings
) -> None:
    token, realname_id = holder
    challenge = (await start(client, token, realname_id)).json()
    path = f"/v1/face/sessions/{challenge['session_id']}/frames"
    batch = frame_bytes(f"genuine/astronaut/{challenge['actions'][0]}")[:3]

    async def send(first_index: int) -> Any:
        files = [("frame", (f"{i:03d}.jpg", data, "image/jpeg")) for i, data in enumerate(batch)]
        return await client.post(path, files=files, data={"first_index": str(first_index)}, headers=bearer(token))

    first, again = await send(0), await send(0)  # the first answer was lost; the client sends again
    assert (first.status_code, again.status_code) == (202, 202)
    assert again.json() == first.json()
    assert first.json()["total"] == 3
    out_of_turn = await send(7)
    assert (out_of_turn.status_code, out_of_turn.json()["code"]) == (409, "frame_index_mismatch")
    assert out_of_turn.json()["total"] == 3
    with sqlite3.connect(settings.sqlite_path) as db:
        assert db.execute("SELECT count(*) FROM face_frames").fetchone()[0] == 3
    assert (await send(3)).json()["total"] == 6
