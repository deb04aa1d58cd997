"""The process pool: work runs in workers, errors come back typed, a crashed worker is replaced."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator

import pytest

from app.errors import InvalidInput, Unavailable, UnsupportedMedia
from app.face.engine import FaceUnusable
from app.face.images import encode_jpeg
from app.face.pool import ProcessPoolFaceEngine
from tests.face.portraits import blank, grace_hopper


@pytest.fixture(scope="module")
def engine() -> Iterator[ProcessPoolFaceEngine]:
    pool = ProcessPoolFaceEngine(workers=1)
    yield pool
    asyncio.run(pool.aclose())


async def test_frames_are_analysed_in_a_worker_process(engine: ProcessPoolFaceEngine) -> None:
    pid = await engine.run(os.getpid)
    assert pid != os.getpid()
    analysis = await engine.analyse_frame(encode_jpeg(grace_hopper()))
    assert analysis.faces == 1


async def test_header_errors_are_raised_before_the_pool(engine: ProcessPoolFaceEngine) -> None:
    with pytest.raises(UnsupportedMedia):
        await engine.analyse_frame(b"not an image")


async def test_errors_raised_in_a_worker_keep_their_code(engine: ProcessPoolFaceEngine) -> None:
    data = encode_jpeg(grace_hopper())
    start = data.index(b"\xff\xda")
    with pytest.raises(InvalidInput) as corrupt:
        await engine.analyse_frame(data[: start + 40] + b"\x00" * 500 + b"\xff\xd9")
    assert corrupt.value.code == "corrupt_image"
    with pytest.raises(FaceUnusable) as unusable:
        await engine.enroll(encode_jpeg(blank()))
    assert unusable.value.code == "no_face"


async def test_a_crashed_worker_fails_the_request_with_503_then_recovers(
    engine: ProcessPoolFaceEngine,
) -> None:
    restarts = engine.restarts
    with pytest.raises(Unavailable) as error:
        await engine.run(os._exit, 1)
    assert error.value.code == "face_engine_unavailable"
    assert error.value.status == 503
    assert engine.restarts == restarts + 1
    analysis = await engine.analyse_frame(encode_jpeg(grace_hopper()))
    assert analysis.faces == 1
    health = await engine.health()
    assert health.ok
    assert health.restarts == restarts + 1
