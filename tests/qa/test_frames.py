from __future__ import annotations

import itertools
from dataclasses import dataclass
from functools import cache

import cv2
import numpy as np
import numpy.typing as npt
import pytest

from app.face.worker import analyse_image
from app.qa.frames import (
    ACTIONS,
    MAX_SIDE,
    STRAY_MOUTH,
    STRAY_YAW,
    TARGETS,
    Action,
    Change,
    Reach,
    _next_amount,
    calibrate,
    envelope,
    synthesise,
)
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


# --- as the service sees it ----------------------------------------------------------------------
#
# The service judges each action against the person's own neutral state in the same sequence, from
# its own per-frame analysis of the uploaded JPEGs. These tests do the same on both fixture
# portraits: the action must reach what a person asked for it does, and the other actions' signals
# must stay near neutral.

PEOPLE = ("astronaut", "hopper")


@dataclass(frozen=True)
class Seen:
    """A sequence's signals relative to its neutral lead-in, from `analyse_image` on each JPEG."""

    ear_ratio: npt.NDArray[np.float64]
    mouth: npt.NDArray[np.float64]
    yaw: npt.NDArray[np.float64]
    lead: int  # frames before the action starts


def _uploaded(frame: Image) -> Image:
    ok, encoded = cv2.imencode(".jpg", cv2.cvtColor(frame, cv2.COLOR_RGB2BGR),
                               [cv2.IMWRITE_JPEG_QUALITY, 85])
    assert ok
    return np.ascontiguousarray(cv2.cvtColor(cv2.imdecode(encoded, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB))


@cache
def seen(person: str, action: Action) -> Seen:
    analyses = [analyse_image(_uploaded(frame)) for frame in sequence(person, action)]
    assert all(a.faces == 1 for a in analyses), "the service must find the face in every frame"
    ear = np.array([a.ear for a in analyses])
    mar = np.array([a.mar for a in analyses])
    yaw = np.array([a.yaw for a in analyses])
    lead = int(np.argmax(envelope(action, FRAMES) > 0))
    return Seen(
        ear_ratio=ear / float(np.median(ear[:lead])),
        mouth=mar - float(np.median(mar[:lead])),
        yaw=yaw - float(np.median(yaw[:lead])),
        lead=lead,
    )


@pytest.mark.parametrize("person", PEOPLE)
def test_blink_closes_the_eyes_fully_and_nothing_else_moves(person: str) -> None:
    signals = seen(person, "blink")

    # A closed eye reads about 0.1 against 0.25-0.35 open; calibration aims at 0.4 of the open
    # eye, camera motion and JPEG move single frames a little (the fixture selfies at camera
    # scale read 0.45-0.56). The service sees a blink at 0.7: a tenth of margin at least.
    assert signals.ear_ratio.min() <= 0.6
    assert signals.lead <= int(np.argmin(signals.ear_ratio)) < FRAMES - 2
    assert signals.ear_ratio[-1] > 0.85
    assert np.abs(signals.mouth).max() < STRAY_MOUTH
    assert np.abs(signals.yaw).max() < STRAY_YAW


@pytest.mark.parametrize("person", PEOPLE)
def test_open_mouth_opens_wide_and_does_not_read_as_a_turn(person: str) -> None:
    signals = seen(person, "open_mouth")

    # Well past the service's mouth_on (0.25); a person asked to open their mouth reads 0.5-0.9,
    # the landmark model follows a warped jaw to about 0.4-0.5 (the fixture selfies at camera
    # scale: 0.39-0.44).
    assert signals.mouth.max() >= 0.35
    assert signals.mouth[-1] < 0.1
    assert np.abs(signals.yaw).max() < STRAY_YAW
    assert signals.ear_ratio.min() > 0.7  # not a blink either


@pytest.mark.parametrize("person", PEOPLE)
@pytest.mark.parametrize(("action", "sign"), [("turn_left", 1.0), ("turn_right", -1.0)])
def test_a_turn_reaches_a_real_head_turn_with_the_mouth_closed(
    person: str, action: Action, sign: float
) -> None:
    signals = seen(person, action)
    turned = sign * signals.yaw

    assert 25.0 <= turned.max() <= 40.0
    assert turned.min() > -STRAY_YAW  # never the other way
    assert abs(signals.yaw[-1]) < 6.0
    assert np.abs(signals.mouth).max() < STRAY_MOUTH


def test_calibration_lands_in_the_band_and_shows_the_action_alone(astronaut_selfie: Image) -> None:
    reach = calibrate(astronaut_selfie, "turn_right")
    target = TARGETS["turn_right"]

    assert target.lowest <= reach.reached <= target.highest
    assert reach.single
    assert len(reach.changes) == 2  # both landmark fits saw it
    assert all(change.yaw < -target.lowest for change in reach.changes)


def _tried(action: Action, *points: tuple[float, float]) -> list[Reach]:
    return [
        Reach(action=action, amount=amount, changes=(Change(1.0, reached, 0.0),), reached=reached,
              single=True)
        for amount, reached in points
    ]


def test_calibration_steps_up_in_proportion_from_a_weak_try() -> None:
    following = _next_amount(_tried("open_mouth", (0.3, 0.3)), [], TARGETS["open_mouth"])

    assert following == pytest.approx(0.6)


def test_calibration_looks_below_when_a_stronger_warp_reads_less() -> None:
    # The landmark model stopped following: 0.9 reads less than 0.5, so the peak is at or below 0.5.
    following = _next_amount(_tried("open_mouth", (0.5, 0.14), (0.9, -0.18)), [], TARGETS["open_mouth"])

    assert following is not None
    assert following < 0.5


def test_calibration_backs_off_where_the_face_was_lost() -> None:
    following = _next_amount(_tried("turn_left", (28.0, 13.0)), [45.0], TARGETS["turn_left"])

    assert following is not None
    assert 28.0 < following < 45.0


def test_calibration_interpolates_between_a_weak_and_an_overshooting_try() -> None:
    following = _next_amount(_tried("turn_left", (20.0, 20.0), (40.0, 40.0)), [], TARGETS["turn_left"])

    assert following == pytest.approx(30.0)
