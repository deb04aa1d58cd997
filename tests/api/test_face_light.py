"""The light challenge through the API: a channel opts in, the face must answer the colours."""

from __future__ import annotations

from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from app.face.images import decode_image, encode_jpeg
from app.face.light import LightStep
from app.qa.fixtures import frame_bytes
from app.qa.light import covering_fps, respond
from app.services import Services
from tests.api.test_face_sessions import complete, start
from tests.flow import bearer, import_fixture_cards, realname_for

pytestmark = pytest.mark.face


async def upload_timed(client: AsyncTestClient[Any], token: str, session_id: str, frames: list[bytes],
                       times: list[int]) -> Any:
    files: list[tuple[str, Any]] = [("frame", (f"{i:03d}.jpg", data, "image/jpeg")) for i, data in enumerate(frames)]
    files += [("captured_at_ms", (None, str(t))) for t in times]
    return await client.post(f"/v1/face/sessions/{session_id}/frames", files=files, headers=bearer(token))


def performed(challenge: dict[str, Any]) -> list[bytes]:
    actions = challenge["actions"] or ["blink"]
    return [frame for action in actions for frame in frame_bytes(f"genuine/astronaut/{action}")]


def lit(frames: list[bytes], light: list[dict[str, Any]]) -> tuple[list[bytes], list[int]]:
    steps = [LightStep(color=s["color"], ms=s["ms"]) for s in light]
    images, times = respond([decode_image(f) for f in frames], steps, fps=covering_fps(steps, len(frames)), seed=3)
    return [encode_jpeg(image) for image in images], times


@pytest.fixture
async def light_holder(client: AsyncTestClient[Any], services: Services) -> tuple[str, str]:
    await import_fixture_cards(services)
    return await realname_for(client, services, "astronaut", face_challenge="actions+light")


async def test_a_light_channel_gets_colours_with_its_actions(
    client: AsyncTestClient[Any], light_holder: tuple[str, str]
) -> None:
    token, realname_id = light_holder
    challenge = (await start(client, token, realname_id)).json()
    assert 2 <= len(challenge["actions"]) <= 3
    assert 4 <= len(challenge["light"]) <= 8
    for step in challenge["light"]:
        assert 150 <= step["ms"] <= 500
        assert step["color"].startswith("#")
        assert len(step["color"]) == 7


async def test_light_only_channel_asks_for_no_actions(client: AsyncTestClient[Any], services: Services) -> None:
    await import_fixture_cards(services)
    token, realname_id = await realname_for(client, services, "astronaut", face_challenge="light")
    challenge = (await start(client, token, realname_id)).json()
    assert challenge["actions"] == []
    assert challenge["light"]


async def test_an_actions_channel_flashes_nothing(client: AsyncTestClient[Any], services: Services) -> None:
    await import_fixture_cards(services)
    token, realname_id = await realname_for(client, services, "astronaut")
    assert "light" not in (await start(client, token, realname_id)).json()


async def test_frames_that_answer_the_colours_pass(client: AsyncTestClient[Any], light_holder: tuple[str, str]) -> None:
    token, realname_id = light_holder
    challenge = (await start(client, token, realname_id)).json()
    frames, times = lit(performed(challenge), challenge["light"])
    r = await upload_timed(client, token, challenge["session_id"], frames, times)
    assert r.status_code == 202, r.text
    verdict = (await complete(client, token, challenge["session_id"])).json()
    assert verdict == {"session_id": challenge["session_id"], "status": "passed"}


async def test_an_animated_still_that_does_not_answer_fails(
    client: AsyncTestClient[Any], light_holder: tuple[str, str]
) -> None:
    token, realname_id = light_holder
    challenge = (await start(client, token, realname_id)).json()
    frames = performed(challenge)
    times = [round(i * 1000 / 12) for i in range(len(frames))]
    await upload_timed(client, token, challenge["session_id"], frames, times)
    verdict = (await complete(client, token, challenge["session_id"])).json()
    assert (verdict["status"], verdict["reason"]) == ("failed", "liveness_failed")


async def test_frames_without_capture_times_fail(client: AsyncTestClient[Any], light_holder: tuple[str, str]) -> None:
    token, realname_id = light_holder
    challenge = (await start(client, token, realname_id)).json()
    frames, _times = lit(performed(challenge), challenge["light"])
    files = [("frame", (f"{i:03d}.jpg", data, "image/jpeg")) for i, data in enumerate(frames)]
    await client.post(f"/v1/face/sessions/{challenge['session_id']}/frames", files=files, headers=bearer(token))
    verdict = (await complete(client, token, challenge["session_id"])).json()
    assert verdict["reason"] == "liveness_failed"


@pytest.mark.parametrize("times", [["0", "40"], ["abc"], ["-5"], ["99999999999"]])
async def test_capture_times_must_be_one_whole_millisecond_count_per_frame(
    client: AsyncTestClient[Any], light_holder: tuple[str, str], times: list[str]
) -> None:
    token, realname_id = light_holder
    challenge = (await start(client, token, realname_id)).json()
    frame = frame_bytes("genuine/astronaut/blink")[0]
    files: list[tuple[str, Any]] = [("frame", ("000.jpg", frame, "image/jpeg"))]
    files += [("captured_at_ms", (None, t)) for t in times]
    r = await client.post(f"/v1/face/sessions/{challenge['session_id']}/frames", files=files, headers=bearer(token))
    assert r.status_code == 400, r.text
    assert r.json()["code"] == "invalid_request"


async def test_admin_api_sets_and_shows_the_face_challenge(client: AsyncTestClient[Any]) -> None:
    headers = bearer("dev-admin-token")
    body = {"client_id": "light-app", "kind": "app", "scopes": ["ecard:claim"],
            "redirect_uris": ["https://app.example.cn/cb"], "face_challenge": "actions+light"}
    r = await client.post("/v1/admin/channels", json=body, headers=headers)
    assert r.status_code == 201, r.text
    assert r.json()["face_challenge"] == "actions+light"
    bad = await client.post("/v1/admin/channels", json={**body, "client_id": "x-app", "face_challenge": "flash"},
                            headers=headers)
    assert bad.status_code == 400
    assert bad.json()["code"] == "invalid_request"
