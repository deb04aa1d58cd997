"""The real engine (dlib models, in this process) on small public-domain portraits."""

from __future__ import annotations

from functools import cache

import cv2
import numpy as np
import pytest

from app.face import worker
from app.face.engine import Action, CardTemplate, FaceBox, FaceUnusable, FrameAnalysis
from app.face.geometry import eye_aspect_ratio, mouth_aspect_ratio
from app.face.images import RGBImage, encode_jpeg
from app.face.match import DEFAULT_MATCH_THRESHOLD, distance, template_encoding
from app.qa import fixtures
from tests.face.portraits import astronaut, blank, grace_hopper, side_by_side

THRESHOLD = DEFAULT_MATCH_THRESHOLD


@cache
def card_of(name: str) -> CardTemplate:
    """Card photos: a mirrored copy stands in for a second photo of the person."""
    photo = {"hopper": grace_hopper(), "astronaut": astronaut()}[name]
    return worker.enroll(encode_jpeg(np.ascontiguousarray(cv2.flip(photo, 1))))


def analyse(images: list[RGBImage]) -> list[FrameAnalysis]:
    return [worker.analyse_frame(encode_jpeg(image, 85)) for image in images]


def test_enroll_gives_a_storable_128d_template() -> None:
    template = card_of("hopper")
    assert len(template.encoding) == 128
    assert CardTemplate.from_bytes(template.to_bytes()) == template


def test_the_two_portraits_are_different_people() -> None:
    hopper, astro = card_of("hopper"), card_of("astronaut")
    assert distance(template_encoding(hopper), template_encoding(astro)) > THRESHOLD


def test_enroll_without_a_face_is_no_face() -> None:
    with pytest.raises(FaceUnusable) as error:
        worker.enroll(encode_jpeg(blank()))
    assert error.value.code == "no_face"


def test_enroll_with_two_faces_is_multiple_faces() -> None:
    two = side_by_side(grace_hopper(), np.ascontiguousarray(cv2.flip(grace_hopper(), 1)))
    with pytest.raises(FaceUnusable) as error:
        worker.enroll(encode_jpeg(two))
    assert error.value.code == "multiple_faces"


def test_frame_analysis_keeps_figures_and_a_chip_not_the_frame() -> None:
    analysis = worker.analyse_frame(encode_jpeg(grace_hopper()))
    assert analysis.faces == 1
    assert analysis.box is not None
    assert 0.2 < analysis.ear < 0.45
    assert abs(analysis.yaw) < 15
    assert len(analysis.chip) == 150 * 150 * 3
    assert analysis.without_images().chip == b""


def test_blank_frames_give_no_face() -> None:
    frames = analyse([blank(value=v) for v in range(60, 72)])
    verdict = worker.decide(["blink", "turn_left"], frames, card_of("hopper"), THRESHOLD)
    assert (verdict.passed, verdict.reason) == (False, "no_face")


def test_a_still_photo_repeated_fails_liveness() -> None:
    frames = analyse([grace_hopper()] * 10)
    verdict = worker.decide(["blink", "open_mouth"], frames, card_of("hopper"), THRESHOLD)
    assert (verdict.passed, verdict.reason) == (False, "liveness_failed")


def test_no_card_photo_is_its_own_reason() -> None:
    frames = analyse([grace_hopper()] * 3)
    verdict = worker.decide(["blink"], frames, None, THRESHOLD)
    assert (verdict.passed, verdict.reason) == (False, "no_card_photo")


# Real frame sequences from the QA generator (landmark-driven warping of a still portrait).


@cache
def performed(challenge: tuple[Action, ...]) -> list[FrameAnalysis]:
    frames_mod = pytest.importorskip("app.qa.frames")
    images: list[RGBImage] = []
    for seed, action in enumerate(challenge):
        images += frames_mod.synthesise(grace_hopper(), action, frames=10, seed=seed)
    return analyse(images)


def test_genuine_sequence_passes_and_reports_scores() -> None:
    challenge: tuple[Action, ...] = ("turn_left", "blink", "open_mouth")
    verdict = worker.decide(challenge, performed(challenge), card_of("hopper"), THRESHOLD)
    assert verdict.passed, verdict
    assert verdict.scores["match_distance"] <= THRESHOLD
    assert verdict.scores["encoded_frames"] <= 4


def test_another_person_doing_the_actions_is_a_mismatch() -> None:
    challenge: tuple[Action, ...] = ("turn_left", "blink", "open_mouth")
    verdict = worker.decide(challenge, performed(challenge), card_of("astronaut"), THRESHOLD)
    assert (verdict.passed, verdict.reason) == (False, "face_mismatch")


def test_the_right_actions_in_the_wrong_order_fail() -> None:
    challenge: tuple[Action, ...] = ("turn_left", "blink", "open_mouth")
    frames = performed(challenge)
    verdict = worker.decide(
        ["open_mouth", "turn_left", "blink"], frames, card_of("hopper"), THRESHOLD
    )
    assert (verdict.passed, verdict.reason) == (False, "liveness_failed")


# Landmarks must not depend on where the detector's box lands (HOG boxes jump by 8-pixel cells and
# 20 % size steps between frames of a still face).


def _boxes_around(box: FaceBox) -> list[FaceBox]:
    out = []
    for grow in (1.0, 1.1, 1.2):
        for dx in (-8, 0, 8):
            for dy in (-8, 0, 8, 16):
                side = box.width * grow
                cx, cy = (box.left + box.right) / 2 + dx, (box.top + box.bottom) / 2 + dy
                out.append(
                    FaceBox(round(cx - side / 2), round(cy - side / 2),
                            round(cx + side / 2), round(cy + side / 2))
                )
    return out


def test_a_closed_mouth_stays_closed_wherever_the_detector_box_lands() -> None:
    selfie = fixtures.portrait("hopper_selfie")  # thin lips, closed mouth
    box = worker.analyse_image(selfie).box
    assert box is not None
    boxes = _boxes_around(box)
    models = worker.load_models()
    started_from_box = [
        mouth_aspect_ratio(worker._points(models.landmarks68(selfie, worker._rect(b))))
        for b in boxes
    ]
    refined = [worker.face_landmarks(selfie, b)[0] for b in boxes]
    mars = [mouth_aspect_ratio(points) for points in refined]
    ears = [eye_aspect_ratio(points) for points in refined]

    # The 68-point model alone, started from a box too large and too low, opens the mouth.
    assert max(started_from_box) > 0.2
    assert max(mars) < 0.08
    assert max(ears) - min(ears) < 0.1
