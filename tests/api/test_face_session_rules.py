"""Face sessions that cannot be re-rolled, guide the user frame by frame, and explain a failure."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import cv2
import pytest
from litestar.testing import AsyncTestClient

from app.clock import FrozenClock
from app.face.images import encode_jpeg
from app.qa.fixtures import frame_bytes, frames
from app.services import Services
from tests.api.test_face_sessions import complete, perform, start, upload
from tests.flow import import_fixture_cards, realname_check, realname_for

pytestmark = pytest.mark.face


@pytest.fixture
async def holder(client: AsyncTestClient[Any], services: Services) -> tuple[str, str]:
    await import_fixture_cards(services)
    return await realname_for(client, services, "astronaut")


async def test_a_second_start_returns_the_open_session(client: AsyncTestClient[Any], holder: tuple[str, str]) -> None:
    token, realname_id = holder
    first = await start(client, token, realname_id)
    again = await start(client, token, realname_id)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["session_id"] == first.json()["session_id"]
    assert again.json()["actions"] == first.json()["actions"]
    assert again.json()["nonce"] == first.json()["nonce"]


async def test_after_a_verdict_a_start_is_a_new_session(client: AsyncTestClient[Any], holder: tuple[str, str]) -> None:
    token, realname_id = holder
    first = (await start(client, token, realname_id)).json()
    await upload(client, token, first["session_id"], frame_bytes("attacks/no_face")[:2])
    await complete(client, token, first["session_id"])
    second = await start(client, token, realname_id)
    assert second.status_code == 201
    assert second.json()["session_id"] != first["session_id"]


async def test_an_expired_session_counts_as_a_failed_one(
    client: AsyncTestClient[Any], holder: tuple[str, str], clock: FrozenClock
) -> None:
    token, realname_id = holder
    for _ in range(2):  # two sessions that fail
        challenge = (await start(client, token, realname_id)).json()
        await upload(client, token, challenge["session_id"], frame_bytes("attacks/no_face")[:2])
        assert (await complete(client, token, challenge["session_id"])).json()["status"] == "failed"
    seen = set()
    for _ in range(3):  # three challenges left to expire, never completed
        r = await start(client, token, realname_id)
        assert r.status_code == 201, r.text
        seen.add(r.json()["session_id"])
        clock.advance(timedelta(seconds=181))
    assert len(seen) == 3
    r = await start(client, token, realname_id)
    assert r.status_code == 429
    assert r.json()["code"] == "rate_limited"


async def test_open_sessions_on_other_checks_count_against_the_failure_limit(
    client: AsyncTestClient[Any], holder: tuple[str, str]
) -> None:
    token, _ = holder
    # Starting many sessions first and failing them later cannot exceed the daily failure limit.
    for _ in range(5):
        r = await start(client, token, await realname_check(client, token))
        assert r.status_code == 201, r.text
    r = await start(client, token, await realname_check(client, token))
    assert r.status_code == 429


async def test_at_most_ten_starts_per_person_a_day(client: AsyncTestClient[Any], holder: tuple[str, str]) -> None:
    token, realname_id = holder
    for _ in range(10):
        challenge = (await start(client, token, realname_id)).json()
        assert (await perform(client, token, challenge, "astronaut")).json()["status"] == "passed"
    r = await start(client, token, realname_id)
    assert r.status_code == 429
    assert r.json()["code"] == "rate_limited"
    assert int(r.headers["retry-after"]) > 0


async def test_every_upload_answers_with_guidance_per_frame(
    client: AsyncTestClient[Any], holder: tuple[str, str]
) -> None:
    token, realname_id = holder
    challenge = (await start(client, token, realname_id)).json()
    good = await upload(client, token, challenge["session_id"], frame_bytes("genuine/astronaut/blink")[:4])
    assert good.status_code == 202
    assert good.json()["feedback"] == [{"index": i, "face": True, "guidance": None} for i in range(4)]
    empty = await upload(client, token, challenge["session_id"], frame_bytes("attacks/no_face")[:1])
    assert empty.json()["feedback"] == [{"index": 4, "face": False, "guidance": "no_face"}]
    small = cv2.resize(frames("genuine/astronaut/blink")[0], None, fx=0.6, fy=0.6, interpolation=cv2.INTER_AREA)
    far = await upload(client, token, challenge["session_id"], [encode_jpeg(small)])
    assert far.json()["feedback"] == [{"index": 5, "face": True, "guidance": "move_closer"}]
    dim = frames("genuine/astronaut/blink")[0] // 6
    dark = await upload(client, token, challenge["session_id"], [encode_jpeg(dim)])
    assert dark.json()["feedback"][0]["guidance"] == "too_dark"


async def test_a_failed_verdict_carries_a_hint_in_chinese_and_english(
    client: AsyncTestClient[Any], holder: tuple[str, str]
) -> None:
    token, realname_id = holder
    challenge = (await start(client, token, realname_id)).json()
    await upload(client, token, challenge["session_id"], frame_bytes("attacks/no_face"))
    body = (await complete(client, token, challenge["session_id"])).json()
    assert body["reason"] == "no_face"
    assert body["hint"]["zh"]
    assert body["hint"]["en"]


async def test_a_passed_verdict_has_no_hint(client: AsyncTestClient[Any], holder: tuple[str, str]) -> None:
    token, realname_id = holder
    challenge = (await start(client, token, realname_id)).json()
    body = (await perform(client, token, challenge, "astronaut")).json()
    assert body == {"session_id": challenge["session_id"], "status": "passed"}


async def test_racing_starts_open_one_session(client: AsyncTestClient[Any], holder: tuple[str, str]) -> None:
    token, realname_id = holder
    answers = await asyncio.gather(*(start(client, token, realname_id) for _ in range(20)))
    assert sorted(r.status_code for r in answers) == [200] * 19 + [201]
    assert len({r.json()["session_id"] for r in answers}) == 1
