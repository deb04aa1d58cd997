"""QA synthesis of a light-challenge answer: the screen's colours reflected on a fixture face."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import numpy as np
import pytest

from app.face.light import LightStep, measure_light
from app.qa import fixtures
from app.qa.landmarks import Image, Points, find_faces, single_face
from app.qa.light import frames_needed, load_sequence, reflection_weight, respond

STEPS = [LightStep("#FF0000", 300), LightStep("#0000FF", 300), LightStep("#00FF00", 300)]


@cache
def first_frame(person: str) -> tuple[Image, Points]:
    frame = fixtures.frames(f"genuine/{person}/blink")[0]
    return frame, single_face(frame)


def held(person: str, count: int) -> list[Image]:
    """The person's first frame, held still: every change then comes from `respond`."""
    return [first_frame(person)[0]] * count


def log_chroma(rgb: tuple[float, float, float]) -> np.ndarray:
    logs = np.log(np.asarray(rgb))
    return logs - logs.mean()


def test_frames_needed_covers_the_sequence_and_the_lag() -> None:
    assert frames_needed(STEPS, fps=10.0, lag_ms=100.0) == 11
    assert frames_needed(STEPS, fps=30.0, lag_ms=0.0) == 28


@pytest.mark.face
def test_every_frame_gets_a_rising_capture_time() -> None:
    frame, points = first_frame("astronaut")
    lit, times = respond(held("astronaut", 20), STEPS, fps=20.0, seed=4, points=points)

    assert len(lit) == len(times) == 20
    assert all(f.shape == frame.shape and f.dtype == np.uint8 for f in lit)
    assert times == sorted(times)
    assert all(isinstance(t, int) for t in times)
    steps = np.diff(times)
    assert steps.min() >= 35
    assert steps.max() <= 65


@pytest.mark.face
@pytest.mark.parametrize("person", ["astronaut", "hopper"])
def test_the_face_takes_the_screen_colour_and_the_background_hardly(person: str) -> None:
    _frame, points = first_frame(person)
    lit, times = respond(held(person, 12), STEPS, fps=10.0, lag_ms=50.0, strength=0.15, points=points)
    samples = {t: measure_light(f, points) for f, t in zip(lit, times, strict=True)}
    red = [s for t, s in samples.items() if 100 <= t - 50 < 250]
    blue = [s for t, s in samples.items() if 400 <= t - 50 < 550]
    assert red
    assert blue

    face_shift = log_chroma(red[0].face) - log_chroma(blue[0].face)
    cells = {cell[0]: cell[1:] for cell in red[0].background}
    shifts = [log_chroma(cells[c[0]]) - log_chroma(c[1:]) for c in blue[0].background if c[0] in cells]
    background_shift = np.median(np.array(shifts), axis=0)

    assert face_shift[0] > 0.05
    assert face_shift[2] < -0.05
    assert np.abs(background_shift).max() < 0.2 * np.abs(face_shift).max()


@pytest.mark.face
def test_frontal_parts_catch_more_light_than_the_sides_and_the_room() -> None:
    frame, points = first_frame("hopper")
    weight = reflection_weight(frame.shape[:2], points)

    def at(point: np.ndarray) -> float:
        return float(weight[round(point[1]), round(point[0])])

    nose, cheek_side = at(points[30]), at(0.8 * points[2] + 0.2 * points[31])
    assert nose > cheek_side > at(np.array([3.0, 3.0]))
    assert at(np.array([3.0, 3.0])) < 0.05
    assert nose > 0.9


@pytest.mark.face
def test_frames_after_the_sequence_keep_their_colour() -> None:
    frame, points = first_frame("astronaut")
    lit, times = respond(held("astronaut", 20), STEPS, fps=10.0, lag_ms=0.0, points=points)
    after = [f for f, t in zip(lit, times, strict=True) if t >= 900 + 20]
    assert after

    difference = np.abs(after[-1].astype(np.float64) - frame.astype(np.float64)).mean()
    assert difference < 2.0  # only sensor noise


@pytest.mark.face
def test_a_lit_frame_still_shows_one_face() -> None:
    _frame, points = first_frame("hopper")
    lit, _times = respond(held("hopper", 4), STEPS, fps=10.0, strength=0.2, points=points)

    assert len(find_faces(lit[2])) == 1


def test_a_sequence_loads_from_the_answer_or_its_light_list(tmp_path: Path) -> None:
    steps = [{"color": "#FF0000", "ms": 200}, {"color": "#00ffff", "ms": 450}]
    bare, wrapped = tmp_path / "bare.json", tmp_path / "answer.json"
    bare.write_text(json.dumps(steps))
    wrapped.write_text(json.dumps({"face_session_id": "fs_1", "challenge": ["blink"], "light": steps}))

    expected = [LightStep("#FF0000", 200), LightStep("#00ffff", 450)]
    assert load_sequence(bare) == expected
    assert load_sequence(wrapped) == expected


@pytest.mark.parametrize(
    "content",
    ["not json", "[]", '{"light": []}', '[{"color": "red", "ms": 200}]', '[{"color": "#FF0000", "ms": 0}]',
     '{"colours": []}'],
)
def test_a_bad_sequence_file_is_refused(tmp_path: Path, content: str) -> None:
    path = tmp_path / "light.json"
    path.write_text(content)

    with pytest.raises(ValueError, match=str(path)):
        load_sequence(path)
