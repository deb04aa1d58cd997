"""Live guidance for the person in front of the camera, one hint per uploaded frame. Pure.

Computed from the figures the frame analysis already has, with the same limits the verdict
applies (`LivenessParams`), so that an app can steer the user while capturing: a frame that
earns no guidance is one the verdict has nothing against. Each frame is judged together with the
frames before it in the session: the resting pose is only known from several frames, and holding
still is a change from the previous frame.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import msgspec
import numpy as np

from app.face.actions import neutral_yaw
from app.face.engine import FrameAnalysis
from app.face.evidence import DEFAULT_PARAMS, LivenessParams

Guidance = Literal[
    "no_face",
    "multiple_faces",
    "move_closer",
    "face_the_camera",
    "too_dark",
    "too_bright",
    "blurred",
    "hold_still",
]

# Beyond this from the resting pose the 68-point model loses the far side of the face; no action
# needs more (a turn is read at 18 degrees).
MAX_EXCURSION = 45.0
# The face's centre moving more than this share of its width from one frame to the next is a
# shaking camera or a head moving too fast for sharp frames.
MAX_SHIFT = 0.35
# Frames needed before the resting pose is judged: one frame cannot tell a turn from a rest.
MIN_FRAMES_FOR_REST = 3


class FrameFeedback(msgspec.Struct, frozen=True, kw_only=True):
    index: int
    face: bool
    guidance: Guidance | None = None


def _shift(previous: FrameAnalysis | None, frame: FrameAnalysis) -> float:
    if previous is None or previous.box is None or frame.box is None or frame.box.width <= 0:
        return 0.0
    a, b = previous.box, frame.box
    dx = (a.left + a.right - b.left - b.right) / 2.0
    dy = (a.top + a.bottom - b.top - b.bottom) / 2.0
    return float(np.hypot(dx, dy)) / b.width


def _pose(frame: FrameAnalysis, rest: float | None, params: LivenessParams) -> Guidance | None:
    if rest is not None and abs(rest) > params.max_neutral_yaw:
        return "face_the_camera"
    if abs(frame.yaw - (rest or 0.0)) > MAX_EXCURSION:
        return "face_the_camera"
    return None


def _guide(
    frame: FrameAnalysis,
    previous: FrameAnalysis | None,
    rest: float | None,
    params: LivenessParams,
) -> Guidance | None:
    if frame.faces == 0:
        return "no_face"
    if frame.faces > 1:
        return "multiple_faces"
    if frame.interocular < params.min_interocular:
        return "move_closer"
    if frame.brightness < params.min_brightness or frame.dark_fraction > params.max_dark_share:
        return "too_dark"
    if frame.brightness > params.max_brightness or frame.glare > params.max_glare:
        return "too_bright"
    if frame.sharpness < params.min_sharpness:
        return "blurred"
    pose = _pose(frame, rest, params)
    if pose is not None:
        return pose
    if _shift(previous, frame) > MAX_SHIFT:
        return "hold_still"
    return None


def feedback(
    frames: Sequence[FrameAnalysis], first: int, params: LivenessParams = DEFAULT_PARAMS
) -> list[FrameFeedback]:
    """Guidance for `frames[first:]` (positions are session frame indices), each in context."""
    out: list[FrameFeedback] = []
    yaws: list[float] = []
    previous: FrameAnalysis | None = None
    for index, frame in enumerate(frames):
        if frame.has_single_face:
            yaws.append(frame.yaw)
        if index >= first:
            rest = (
                neutral_yaw(np.asarray(yaws, dtype=np.float64), params.neutral_spread)
                if len(yaws) >= MIN_FRAMES_FOR_REST
                else None
            )
            out.append(
                FrameFeedback(
                    index=index,
                    face=frame.faces >= 1,
                    guidance=_guide(frame, previous, rest, params),
                )
            )
        if frame.faces >= 1:
            previous = frame
    return out
