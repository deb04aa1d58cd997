from __future__ import annotations

import itertools

import cv2
import numpy as np
import pytest

from app.qa.frames import ACTIONS, MAX_SIDE, envelope, synthesise
from app.qa.landmarks import (
    FaceCountError,
    Image,
    eye_aspect_ratio,
    head_yaw,
    mouth_opening,
    nose_offset,
)
from tests.qa.conftest import FRAMES, landmarks, sequence


@pytest.mark.parametrize("action", ACTIONS)
def test_sequence_has_the_requested_number_of_frames_at_the_photo_size(
    action: str, astronaut_selfie: Image
) -> None:
    frames = sequence("astronaut", action)  # type: ignore[arg-type]

    assert len(frames) == FRAMES
    assert all(f.shape == astronaut_selfie.shape and f.dtype == np.uint8 for f in frames)


@pytest.mark.parametrize("action", ACTIONS)
def test_consecutive_frames_are_never_identical(action: str) -> None:
    frames = sequence("astronaut", action)  # type: ignore[arg-type]

    for before, after in itertools.pairwise(frames):
        assert not np.array_equal(before, after)
        assert np.mean(np.abs(before.astype(int) - after.astype(int))) > 0.5


@pytest.mark.parametrize("action", ACTIONS)
def test_every_action_starts_and_ends_neutral(action: str) -> None:
    strengths = envelope(action, FRAMES)  # type: ignore[arg-type]

    assert strengths[0] == strengths[1] == strengths[-1] == strengths[-2] == 0.0
    assert strengths.max() == 1.0


def test_blink_closes_the_eyes_and_opens_them_again() -> None:
    ear = np.array([eye_aspect_ratio(p) for p in landmarks("astronaut", "blink")])
    baseline = float(np.median(ear[:3]))
    closed = int(np.argmin(ear))

    assert ear[closed] < 0.6 * baseline
    assert 2 < closed < FRAMES - 2
    assert ear[-1] > 0.85 * baseline


def test_blink_also_works_behind_glasses() -> None:
    ear = np.array([eye_aspect_ratio(p) for p in landmarks("hopper", "blink")])

    # Under the service's blink rule (0.7 of the open-eye ratio) even with these landmarks, which
    # the glasses' rim pulls up more than the engine's (0.39-0.47 there).
    assert ear.min() < 0.7 * float(np.median(ear[:3]))


def test_open_mouth_opens_the_mouth_and_closes_it_again() -> None:
    opening = np.array([mouth_opening(p) for p in landmarks("astronaut", "open_mouth")])
    baseline = float(np.median(opening[:3]))

    assert opening.max() > baseline + 0.15
    assert opening[-1] < baseline + 0.05


def _yaw(person: str, action: str) -> np.ndarray:
    frames = sequence(person, action)  # type: ignore[arg-type]
    points = landmarks(person, action)  # type: ignore[arg-type]
    return np.array([head_yaw(p, f.shape[:2]) for p, f in zip(points, frames, strict=True)])


def test_turn_left_moves_the_nose_to_the_image_right_by_over_20_degrees() -> None:
    yaw = _yaw("astronaut", "turn_left")
    baseline = float(np.median(yaw[:3]))
    offsets = [nose_offset(p) for p in landmarks("astronaut", "turn_left")]

    assert yaw.max() - baseline >= 20.0
    assert max(offsets) > offsets[0] + 0.2
    assert abs(yaw[-1] - baseline) < 6.0


def test_turn_right_moves_the_nose_to_the_image_left_by_over_20_degrees() -> None:
    yaw = _yaw("astronaut", "turn_right")
    baseline = float(np.median(yaw[:3]))
    offsets = [nose_offset(p) for p in landmarks("astronaut", "turn_right")]

    assert yaw.min() - baseline <= -20.0
    assert min(offsets) < offsets[0] - 0.2


def test_the_same_seed_gives_the_same_frames_and_another_seed_different_ones(
    astronaut_selfie: Image,
) -> None:
    first = synthesise(astronaut_selfie, "blink", frames=8, seed=11, check=False)
    again = synthesise(astronaut_selfie, "blink", frames=8, seed=11, check=False)
    other = synthesise(astronaut_selfie, "blink", frames=8, seed=12, check=False)

    assert all(np.array_equal(a, b) for a, b in zip(first, again, strict=True))
    assert not np.array_equal(first[0], other[0])


def test_a_large_photo_is_scaled_down_to_the_output_limit(astronaut_selfie: Image) -> None:
    large = cv2.resize(astronaut_selfie, None, fx=2.4, fy=2.4, interpolation=cv2.INTER_CUBIC)

    frames = synthesise(large, "open_mouth", frames=8, check=False)

    assert max(frames[0].shape[:2]) == MAX_SIDE


def test_a_photo_without_a_face_is_refused() -> None:
    wall = np.full((240, 200, 3), 180, dtype=np.uint8)

    with pytest.raises(FaceCountError) as refused:
        synthesise(wall, "blink")
    assert refused.value.count == 0


def test_a_photo_with_two_faces_is_refused(two_people: Image) -> None:
    with pytest.raises(FaceCountError) as refused:
        synthesise(two_people, "blink")
    assert refused.value.count == 2


def test_an_unknown_action_or_frame_count_is_refused(astronaut_selfie: Image) -> None:
    with pytest.raises(ValueError, match="unknown action"):
        synthesise(astronaut_selfie, "smile")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="frames must be"):
        synthesise(astronaut_selfie, "blink", frames=3)
