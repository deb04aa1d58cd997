"""The CPU-heavy face work: runs inside the worker processes of `app.face.pool` (or inline).

Models are loaded once per process (`load_models`, the pool's initializer). Per frame: the face
is detected on a copy scaled down to about 320 pixels (a selfie face is large), with fallbacks to
the full image only when nothing is found; the 68 landmarks and the 5-point alignment run on the
full-resolution face; the 128-d encoding (the costly step, ~0.1 s) is not computed here but only
for the few frames `decide` chooses, from the aligned chip kept in the analysis.

The 68-point model is not started from the detector's box itself. Without upsampling, the HOG
detector places its box on an 8-pixel cell grid and in 20 % size steps, so from one frame to the
next the box jumps by 15 pixels or a fifth of its size while the face has barely moved; started
from a box that is too large and too low, the regression cascade can settle the lips on a chin
crease and report an open mouth on a closed one. The 5-point model (eye corners, nose base) is
insensitive to that, so the box for the 68 points is derived from those five points instead
(`landmark_box`): it follows the face smoothly and sits where the 68-point model expects it.
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
    LightResponse,
)
from app.face.images import DEFAULT_LIMITS, ImageLimits, RGBImage, decode_image
from app.face.light import check_light, measure_light

DETECT_SIDE = 320  # longest side of the copy the detector runs on first
CHIP_SIZE = 150  # what the dlib encoder expects
CHIP_PADDING = 0.25  # as face_recognition uses
# HOG detections scoring below this are not counted as extra faces (printed faces on clothes,
# badges and textures produce weak detections).
EXTRA_FACE_MIN_SCORE = 0.3
# Card photos below this sharpness cannot serve as templates.
TEMPLATE_MIN_SHARPNESS = 15.0
# Where dlib's 5 points (outer and inner corner of the image-right eye, outer and inner corner of
# the image-left eye, nose base) sit in a unit square face box: the median over the fixture frames
# of their position in the boxes the detector gives with one upsampling (face_recognition's
# default, and finer than the 8-pixel grid of the box at native resolution).
FIVE_POINT_BOX_TEMPLATE = np.array(
    [(0.867, 0.244), (0.678, 0.267), (0.200, 0.278), (0.367, 0.278), (0.544, 0.622)],
    dtype=np.float32,
)


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


def landmark_box(five: geometry.Points) -> FaceBox:
    """The square face box that puts the five points where `FIVE_POINT_BOX_TEMPLATE` has them."""
    matrix, _inliers = cv2.estimateAffinePartial2D(
        FIVE_POINT_BOX_TEMPLATE, five.astype(np.float32), method=cv2.LMEDS
    )
    if matrix is None:  # degenerate points: keep a box around them
        left, top = five.min(axis=0)
        right, bottom = five.max(axis=0)
        return FaceBox(round(left), round(top), round(right), round(bottom))
    side = float(np.hypot(matrix[0, 0], matrix[1, 0]))
    centre_x, centre_y = matrix @ np.array([0.5, 0.5, 1.0])
    half = side / 2.0
    return FaceBox(
        round(centre_x - half), round(centre_y - half), round(centre_x + half), round(centre_y + half)
    )


def face_landmarks(image: RGBImage, box: FaceBox) -> tuple[geometry.Points, Any]:
    """The 68 landmarks of the face the detector boxed, and dlib's 5-point shape of it."""
    models = load_models()
    five = models.landmarks5(image, _rect(box))
    points = _points(models.landmarks68(image, _rect(landmark_box(_points(five)))))
    return points, five


def analyse_image(image: RGBImage, light: bool = False) -> FrameAnalysis:
    """Figures of one decoded frame (see `FrameAnalysis`); with `light`, its colours too."""
    models = load_models()
    height, width = image.shape[:2]
    found = _detect(models, image)
    faces = _count_faces(found)
    if faces == 0:
        return FrameAnalysis(width=width, height=height, faces=0)
    box, score = found[0]
    points, five = face_landmarks(image, box)
    yaw, pitch = geometry.head_pose(points, width, height)
    grey = np.asarray(cv2.cvtColor(image, cv2.COLOR_RGB2GRAY), dtype=np.uint8)
    face = quality.face_region(grey, box)
    brightness, dark, glare = quality.exposure(face)
    chip: RGBImage = dlib.get_face_chip(image, five, size=CHIP_SIZE, padding=CHIP_PADDING)
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
        interocular=geometry.interocular_distance(points),
        sharpness=quality.sharpness(face),
        brightness=brightness,
        dark_fraction=dark,
        glare=glare,
        moire=quality.moire(face),
        thumb=quality.thumbnail(face),
        chip=bytes(chip.tobytes()),
        light=measure_light(image, points) if light else None,
        black_level=quality.black_level(image, box),
    )


def analyse_frame(frame: bytes, limits: ImageLimits = DEFAULT_LIMITS, light: bool = False) -> FrameAnalysis:
    """Decode one uploaded frame and analyse it."""
    return analyse_image(decode_image(frame, limits), light)


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
    light: LightResponse | None = None,
) -> FaceVerdict:
    """Liveness checks, the light response, identity across the sequence, then the match."""
    if card is None:
        return FaceVerdict(passed=False, reason="no_card_photo", detail="the card has no photo")
    report = liveness.assess(challenge, frames)
    scores = dict(report.scores)
    if report.failure is not None:
        return FaceVerdict(
            passed=False, reason=report.failure.reason, detail=report.failure.detail, scores=scores
        )
    if light is not None:
        response = check_light(light.steps, [f.light for f in frames], light.captured_at_ms)
        scores.update({f"light_{k}": v for k, v in response.scores.items()})
        if not response.passed:
            return FaceVerdict(passed=False, reason="liveness_failed", detail=response.detail, scores=scores)
    selection = liveness.select_frames(frames, report.matched, report.neutral_yaw)
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
