"""The CPU-heavy face work: runs inside the worker processes of `app.face.pool` (or inline).

Models are loaded once per process (`load_models`, the pool's initializer). Per frame: the face
is detected on a copy scaled down to about 320 pixels (a selfie face is large), with fallbacks to
the full image only when nothing is found; the 68 landmarks and the 5-point alignment run on the
full-resolution face; the 128-d encoding (the costly step, ~0.1 s) is not computed here but only
for the few frames `decide` chooses, from the aligned chip kept in the analysis.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import cv2
import dlib
import numpy as np

from app.face import geometry, liveness, match, quality
from app.face.engine import (
    Action,
    CardTemplate,
    FaceBox,
    FaceUnusable,
    FaceVerdict,
    FrameAnalysis,
)
from app.face.images import DEFAULT_LIMITS, ImageLimits, RGBImage, decode_image

DETECT_SIDE = 320  # longest side of the copy the detector runs on first
CHIP_SIZE = 150  # what the dlib encoder expects
CHIP_PADDING = 0.25  # as face_recognition uses
# HOG detections scoring below this are not counted as extra faces (printed faces on clothes,
# badges and textures produce weak detections).
EXTRA_FACE_MIN_SCORE = 0.3
# Card photos below this sharpness cannot serve as templates.
TEMPLATE_MIN_SHARPNESS = 15.0


@dataclass(frozen=True)
class Models:
    detector: Any
    landmarks68: Any
    landmarks5: Any
    encoder: Any


_models: Models | None = None


def load_models() -> Models:
    """Load the dlib models once per process (the pool initializer calls this)."""
    global _models  # noqa: PLW0603 - one set of models per worker process
    if _models is None:
        with warnings.catch_warnings():
            # face_recognition_models imports the deprecated pkg_resources.
            warnings.simplefilter("ignore")
            import face_recognition_models as files  # noqa: PLC0415

        cv2.setNumThreads(1)  # one worker per core: no nested thread pools
        _models = Models(
            detector=dlib.get_frontal_face_detector(),
            landmarks68=dlib.shape_predictor(files.pose_predictor_model_location()),
            landmarks5=dlib.shape_predictor(files.pose_predictor_five_point_model_location()),
            encoder=dlib.face_recognition_model_v1(files.face_recognition_model_location()),
        )
    return _models


def _detect(models: Models, image: RGBImage) -> list[tuple[FaceBox, float]]:
    """Faces as (box in full-resolution pixels, detector score), strongest first."""
    height, width = image.shape[:2]
    attempts: list[tuple[float, int]] = []
    longest = max(height, width)
    if longest > DETECT_SIDE * 1.25:
        attempts.append((DETECT_SIDE / longest, 0))
    attempts.append((1.0, 0))
    if longest <= 800:
        attempts.append((1.0, 1))  # small or distant faces: upsample once
    for scale, upsample in attempts:
        scaled = image
        if scale != 1.0:
            size = (max(1, round(width * scale)), max(1, round(height * scale)))
            scaled = np.asarray(cv2.resize(image, size, interpolation=cv2.INTER_AREA), np.uint8)
        rects, scores, _kinds = models.detector.run(scaled, upsample, 0.0)
        if len(rects) == 0:
            continue
        found = [
            (
                FaceBox(
                    round(rect.left() / scale),
                    round(rect.top() / scale),
                    round(rect.right() / scale),
                    round(rect.bottom() / scale),
                ),
                float(score),
            )
            for rect, score in zip(rects, scores, strict=True)
        ]
        found.sort(key=lambda item: item[1], reverse=True)
        return found
    return []


def _count_faces(found: list[tuple[FaceBox, float]]) -> int:
    if not found:
        return 0
    return 1 + sum(1 for _box, score in found[1:] if score >= EXTRA_FACE_MIN_SCORE)


def _rect(box: FaceBox) -> Any:
    return dlib.rectangle(box.left, box.top, box.right, box.bottom)


def _points(shape: Any) -> geometry.Points:
    return np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float64)


def _chip(models: Models, image: RGBImage, box: FaceBox) -> RGBImage:
    shape = models.landmarks5(image, _rect(box))
    chip: RGBImage = dlib.get_face_chip(image, shape, size=CHIP_SIZE, padding=CHIP_PADDING)
    return chip


def analyse_image(image: RGBImage) -> FrameAnalysis:
    """Figures of one decoded frame (see `FrameAnalysis`)."""
    models = load_models()
    height, width = image.shape[:2]
    found = _detect(models, image)
    faces = _count_faces(found)
    if faces == 0:
        return FrameAnalysis(width=width, height=height, faces=0)
    box, score = found[0]
    points = _points(models.landmarks68(image, _rect(box)))
    yaw, pitch = geometry.head_pose(points, width, height)
    grey = np.asarray(cv2.cvtColor(image, cv2.COLOR_RGB2GRAY), dtype=np.uint8)
    face = quality.face_region(grey, box)
    brightness, dark, glare = quality.exposure(face)
    chip = _chip(models, image, box)
    return FrameAnalysis(
        width=width,
        height=height,
        faces=faces,
        box=box,
        detection_score=score,
        ear=geometry.eye_aspect_ratio(points),
        mar=geometry.mouth_aspect_ratio(points),
        yaw=yaw,
        pitch=pitch,
        sharpness=quality.sharpness(face),
        brightness=brightness,
        dark_fraction=dark,
        glare=glare,
        moire=quality.moire(face),
        thumb=quality.thumbnail(face),
        chip=bytes(chip.tobytes()),
    )


def analyse_frame(frame: bytes, limits: ImageLimits = DEFAULT_LIMITS) -> FrameAnalysis:
    """Decode one uploaded frame and analyse it."""
    return analyse_image(decode_image(frame, limits))


def encode_chip(chip: bytes) -> match.Encoding:
    """The 128-d encoding of an aligned chip from a `FrameAnalysis`."""
    models = load_models()
    array = np.frombuffer(chip, dtype=np.uint8).reshape(CHIP_SIZE, CHIP_SIZE, 3)
    return np.asarray(models.encoder.compute_face_descriptor(array), dtype=np.float64)


def enroll_image(image: RGBImage) -> CardTemplate:
    """The template of a decoded card photo; exactly one usable face is required."""
    analysis = analyse_image(image)
    if analysis.faces == 0:
        raise FaceUnusable("no face found in the card photo", code="no_face")
    if analysis.faces > 1:
        raise FaceUnusable("more than one face in the card photo", code="multiple_faces")
    if analysis.sharpness < TEMPLATE_MIN_SHARPNESS:
        raise FaceUnusable("the card photo is too blurred", code="poor_quality")
    return match.template_of(encode_chip(analysis.chip))


def enroll(photo: bytes, limits: ImageLimits = DEFAULT_LIMITS) -> CardTemplate:
    """Decode a card photo and compute its template."""
    return enroll_image(decode_image(photo, limits))


def decide(
    challenge: Sequence[Action],
    frames: Sequence[FrameAnalysis],
    card: CardTemplate | None,
    threshold: float,
) -> FaceVerdict:
    """Liveness checks, identity across the sequence, then the match with the card template."""
    if card is None:
        return FaceVerdict(passed=False, reason="no_card_photo", detail="the card has no photo")
    report = liveness.assess(challenge, frames)
    scores = dict(report.scores)
    if report.failure is not None:
        return FaceVerdict(
            passed=False, reason=report.failure.reason, detail=report.failure.detail, scores=scores
        )
    selection = liveness.select_frames(frames, report.matched)
    encodings = {index: encode_chip(frames[index].chip) for index in selection.all_indices()}
    identity = liveness.check_identity(selection, encodings)
    scores.update(identity.scores)
    if identity.failure is not None:
        return FaceVerdict(
            passed=False,
            reason=identity.failure.reason,
            detail=identity.failure.detail,
            scores=scores,
        )
    distance = match.match_distance([encodings[i] for i in selection.match], card)
    scores["match_distance"] = distance
    scores["match_threshold"] = threshold
    if distance > threshold:
        return FaceVerdict(
            passed=False,
            reason="face_mismatch",
            detail="the face does not match the card photo",
            scores=scores,
        )
    return FaceVerdict(passed=True, scores=scores)
