"""The light challenge's measurement and decision on fixture frames lit by `app.qa.light.respond`.

Genuine answers, answers to another session's sequence, frames without any answer, and screen
replays (an emissive screen shifts the whole picture, face and background alike) are synthesised
from the genuine fixture sets of both people; landmarks are found once per source frame.
"""

from __future__ import annotations

import itertools
import random
import secrets
import time
from functools import cache

import msgspec
import numpy as np
import pytest

from app.face.light import (
    DEFAULT_LIGHT_PARAMS,
    MAX_STEP_MS,
    MAX_STEPS,
    MIN_STEP_MS,
    MIN_STEPS,
    MIN_TOTAL_MS,
    PALETTE,
    LightResult,
    LightSample,
    LightStep,
    ScreenTimeline,
    check_light,
    draw_light_sequence,
    measure_light,
    parse_color,
    skin_polygons,
)
from app.qa import fixtures
from app.qa import light as qa_light
from app.qa.landmarks import Image, Points, single_face

STEPS = [
    LightStep("#FF0000", 320),
    LightStep("#00FFFF", 260),
    LightStep("#0000FF", 410),
    LightStep("#FFFF00", 300),
    LightStep("#00FF00", 450),
    LightStep("#FF00FF", 380),
]
OTHER_STEPS = [
    LightStep("#00FF00", 280),
    LightStep("#FF00FF", 350),
    LightStep("#FFFF00", 420),
    LightStep("#0000FF", 330),
    LightStep("#FF0000", 300),
    LightStep("#00FFFF", 410),
]
SOURCE_FPS = 15.0  # the fixture sets stand for a 15 fps capture
PEOPLE = {"astronaut": "genuine/astronaut/blink", "hopper": "genuine/hopper/turn_left"}


@cache
def clip(set_name: str) -> tuple[tuple[Image, ...], tuple[Points, ...]]:
    frames = fixtures.frames(set_name)
    return tuple(frames), tuple(single_face(frame) for frame in frames)


def played(person: str, count: int, fps: float) -> tuple[list[Image], list[Points]]:
    """`count` frames at `fps` of the person's set played forwards and backwards at 15 fps."""
    frames, points = clip(PEOPLE[person])
    cycle = list(range(len(frames))) + list(range(len(frames) - 2, 0, -1))
    order = [cycle[int(i * SOURCE_FPS / fps) % len(cycle)] for i in range(count)]
    return [frames[i] for i in order], [points[i] for i in order]


def decide(
    frames: list[Image], points: list[Points], times: list[int], steps: list[LightStep] = STEPS
) -> LightResult:
    samples: list[LightSample | None] = [measure_light(f, p) for f, p in zip(frames, points, strict=True)]
    return check_light(steps, samples, [float(t) for t in times])


def answered(
    person: str,
    *,
    fps: float = 15.0,
    lag_ms: float = 90.0,
    strength: float = 0.1,
    white_balance: float = 0.0,
    steps: list[LightStep] = STEPS,
    seed: int = 0,
) -> tuple[list[Image], list[Points], list[int]]:
    count = max(qa_light.frames_needed(s, fps=fps, lag_ms=lag_ms) for s in (STEPS, steps))
    frames, points = played(person, count, fps)
    lit, times = qa_light.respond(
        frames, steps, fps=fps, lag_ms=lag_ms, strength=strength,
        white_balance=white_balance, seed=seed, points=points[0],
    )
    return lit, points, times


def screen_replay(person: str, *, additive: bool, fps: float = 15.0, lag_ms: float = 90.0
                  ) -> tuple[list[Image], list[Points], list[int]]:
    """A replay on a screen: the phone's colours shift the whole picture (emissive display: every
    pixel scaled; glossy glass: the same light added everywhere), face and background alike."""
    count = qa_light.frames_needed(STEPS, fps=fps, lag_ms=lag_ms)
    frames, points = played(person, count, fps)
    rng = np.random.default_rng(5)
    times = qa_light.capture_times(count, fps, rng)
    shown, _ = ScreenTimeline.of(STEPS).shown(np.array(times, dtype=np.float64) - lag_ms, 16.0)
    out = []
    for frame, colour in zip(frames, np.nan_to_num(shown), strict=True):
        linear = qa_light.LINEAR[frame]
        tint = colour.astype(np.float32)
        lit = linear + 0.03 * tint if additive else linear * (1.0 + 0.1 * tint)
        out.append(qa_light.camera_noise(qa_light.to_srgb(lit), rng))
    return out, points, times


# --- the sequence ----------------------------------------------------------------------------------


@pytest.mark.parametrize("rng", [None, random.Random(7)])
def test_drawn_sequences_obey_the_bounds(rng: random.Random | None) -> None:
    for _ in range(300):
        steps = draw_light_sequence(rng)

        assert MIN_STEPS <= len(steps) <= MAX_STEPS
        assert all(MIN_STEP_MS <= s.ms <= MAX_STEP_MS for s in steps)
        assert all(s.color in PALETTE for s in steps)
        assert all(a.color != b.color for a, b in itertools.pairwise(steps))
        assert len({s.color for s in steps}) >= 3
        assert sum(s.ms for s in steps) >= MIN_TOTAL_MS


def test_drawn_sequences_are_unpredictable() -> None:
    drawn = {tuple(draw_light_sequence(secrets.SystemRandom())) for _ in range(50)}
    assert len(drawn) == 50


def test_a_sample_is_plain_data() -> None:
    sample = LightSample(face=(0.5, 0.3, 0.2), background=((3, 0.1, 0.2, 0.3),))
    for codec in (msgspec.json, msgspec.msgpack):
        assert codec.decode(codec.encode(sample), type=LightSample) == sample


# --- measuring ------------------------------------------------------------------------------------


@pytest.mark.face
def test_the_face_value_ignores_the_background() -> None:
    frames, points = clip(PEOPLE["astronaut"])
    image, face = frames[0], points[0]
    # A flat skin colour over the face and forehead, anything at all around it.
    height = face[8, 1] - face[17:27, 1].min()
    mask = np.zeros(image.shape[:2], dtype=bool)
    top = max(int(face[17:27, 1].min() - 0.3 * height), 0)
    mask[top : int(face[8, 1]), int(face[0, 0]) : int(face[16, 0])] = True
    rng = np.random.default_rng(1)
    backgrounds = [rng.integers(0, 256, image.shape), np.full(image.shape, 40), np.full(image.shape, 200)]
    samples = []
    for background in backgrounds:
        synthetic = np.asarray(background, dtype=np.uint8)
        synthetic[mask] = (200, 150, 120)
        samples.append(measure_light(synthetic, face))

    for sample in samples:
        assert sample.face == pytest.approx(parse_color("#C89678"), rel=1e-5)
        assert len(sample.background) >= 4
    levels = [np.mean([cell[1:] for cell in sample.background]) for sample in samples]
    assert levels[1] < 0.03 < 0.5 < levels[2]


@pytest.mark.face
def test_skin_patches_avoid_eyes_and_mouth() -> None:
    import cv2  # noqa: PLC0415

    frames, points = clip(PEOPLE["hopper"])
    face = points[0]
    mask = np.zeros(frames[0].shape[:2], dtype=np.uint8)
    cv2.fillPoly(mask, [np.round(p).astype(np.int32) for p in skin_polygons(face)], 1)
    for feature in (face[36:42], face[42:48], face[48:60]):
        centre = np.round(feature.mean(axis=0)).astype(int)
        assert mask[centre[1], centre[0]] == 0


@pytest.mark.face
def test_measuring_a_vga_frame_takes_under_3_ms() -> None:
    import cv2  # noqa: PLC0415

    frames, points = clip(PEOPLE["hopper"])
    scale = np.array([640 / frames[0].shape[1], 480 / frames[0].shape[0]])
    image = np.ascontiguousarray(cv2.resize(frames[0], (640, 480)))
    face = points[0] * scale
    timings = []
    for _ in range(15):
        start = time.perf_counter()
        measure_light(image, face)
        timings.append(time.perf_counter() - start)
    assert min(timings) < 0.003


# --- deciding -------------------------------------------------------------------------------------


@pytest.mark.face
@pytest.mark.parametrize("person", sorted(PEOPLE))
@pytest.mark.parametrize(
    ("fps", "lag_ms", "strength", "white_balance"),
    [(15.0, 40.0, 0.1, 0.0), (10.0, 120.0, 0.07, 0.3), (30.0, 220.0, 0.2, 0.0), (24.0, 120.0, 0.06, 0.0)],
)
def test_a_genuine_answer_passes(
    person: str, fps: float, lag_ms: float, strength: float, white_balance: float
) -> None:
    frames, points, times = answered(
        person, fps=fps, lag_ms=lag_ms, strength=strength, white_balance=white_balance
    )

    result = decide(frames, points, times)

    assert result.passed, (result.detail, result.scores)
    assert abs(result.scores["lag_ms"] - lag_ms) <= 40.0


@pytest.mark.face
@pytest.mark.parametrize("person", sorted(PEOPLE))
def test_frames_without_an_answer_fail(person: str) -> None:
    count = qa_light.frames_needed(STEPS)
    frames, points = played(person, count, 15.0)
    rng = np.random.default_rng(2)
    times = qa_light.capture_times(count, 15.0, rng)
    still = [qa_light.camera_noise(f.astype(np.float32), rng) for f in frames]

    result = decide(still, points, times)

    assert not result.passed
    assert result.detail == "the face's colour does not follow the light sequence"


@pytest.mark.face
@pytest.mark.parametrize("person", sorted(PEOPLE))
def test_an_answer_to_another_sessions_sequence_fails(person: str) -> None:
    frames, points, times = answered(person, steps=OTHER_STEPS, strength=0.15)

    result = decide(frames, points, times)

    assert not result.passed
    assert result.scores["correlation"] < DEFAULT_LIGHT_PARAMS.min_correlation


@pytest.mark.face
@pytest.mark.parametrize(("person", "additive"), [("astronaut", False), ("hopper", True)])
def test_a_screen_replay_fails_because_the_background_follows_too(person: str, additive: bool) -> None:
    frames, points, times = screen_replay(person, additive=additive)

    result = decide(frames, points, times)

    assert not result.passed
    assert result.detail == "the background follows the light as the face does"
    assert result.scores["background_ratio"] > 0.7


def inset_in_room(
    frames: list[Image], points: list[Points], scale: float
) -> tuple[list[Image], list[Points]]:
    """The replayed frames on a screen `scale` times the frame's size, centred, with a dim room
    around it; then the filming phone's white balance (half-way to grey world, as phones settle
    it over several frames), which pushes the room against whatever colour the screen shows."""
    import cv2  # noqa: PLC0415

    height, width = frames[0].shape[:2]
    inner = (round(width * scale), round(height * scale))
    left, top = (width - inner[0]) // 2, (height - inner[1]) // 2
    rng = np.random.default_rng(3)
    texture = cv2.GaussianBlur(rng.uniform(0.0, 1.0, (height, width)).astype(np.float32), (0, 0), 6.0)
    room = (0.04 + 0.08 * texture)[..., None] * np.array([1.0, 0.9, 0.75], dtype=np.float32)
    out = []
    for frame in frames:
        linear = room.copy()
        linear[top : top + inner[1], left : left + inner[0]] = cv2.resize(
            qa_light.LINEAR[frame], inner, interpolation=cv2.INTER_AREA
        )
        grey = linear.reshape(-1, 3).mean(axis=0)
        balanced = qa_light.to_srgb(linear * (grey.mean() / grey) ** 0.5)
        out.append(np.clip(np.rint(balanced), 0, 255).astype(np.uint8))
    moved = [np.asarray(p * scale + np.array([left, top]), dtype=np.float64) for p in points]
    return out, moved


@pytest.mark.face
@pytest.mark.parametrize("person", sorted(PEOPLE))
def test_a_screen_smaller_than_the_frame_fails_by_the_margin_around_the_face(person: str) -> None:
    frames, points, times = screen_replay(person, additive=False)
    frames, points = inset_in_room(frames, points, scale=0.7)

    result = decide(frames, points, times)

    assert not result.passed
    assert result.detail == "the background around the face follows the light as the face does"
    assert result.scores["near_following"] > DEFAULT_LIGHT_PARAMS.max_near_following


@pytest.mark.face
@pytest.mark.parametrize("person", sorted(PEOPLE))
def test_a_genuine_answer_passes_under_the_same_white_balance(person: str) -> None:
    frames, points, times = answered(person)
    frames, points = inset_in_room(frames, points, scale=1.0)

    result = decide(frames, points, times)

    assert result.passed, (result.detail, result.scores)


@pytest.mark.face
def test_missing_capture_times_fail() -> None:
    frames, points, times = answered("astronaut")
    samples: list[LightSample | None] = [measure_light(f, p) for f, p in zip(frames, points, strict=True)]
    gappy: list[float | None] = [float(t) for t in times]
    gappy[3] = None

    assert check_light(STEPS, samples, gappy).detail == f"captured_at_ms missing for 1 of {len(frames)} frames"
    assert not check_light(STEPS, samples, [None] * len(samples)).passed
    assert "capture times for" in check_light(STEPS, samples, [float(t) for t in times[:-1]]).detail
    backwards = [float(t) for t in times]
    backwards[5], backwards[6] = backwards[6], backwards[5]
    assert check_light(STEPS, samples, backwards).detail == "captured_at_ms goes backwards"


@pytest.mark.face
def test_too_few_frames_fail() -> None:
    frames, points, times = answered("hopper", fps=30.0)
    samples: list[LightSample | None] = [measure_light(f, p) for f, p in zip(frames, points, strict=True)]
    seconds = [float(t) for t in times]
    # Enough frames, but all within the first two colours whatever the lag.
    early = sum(1 for t in times if t < 500)

    few = check_light(STEPS, samples[:6], seconds[:6])
    faceless = check_light(STEPS, [None] * len(samples), seconds)
    two_colours = check_light(STEPS, samples[:early], seconds[:early])

    assert not few.passed
    assert few.detail.startswith("only 6 frames")
    assert not faceless.passed
    assert faceless.detail.startswith("only 0 frames")
    assert early >= DEFAULT_LIGHT_PARAMS.min_frames
    assert two_colours.detail == "too few frames or colours fall within the light sequence"
