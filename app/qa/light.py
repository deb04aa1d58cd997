"""Synthesise a face's answer to a light challenge: the screen's colours reflected on the face.

`respond` takes a frame sequence (for example from `app.qa.frames.synthesise`) and a light
sequence (the session answer's `light` list, `load_sequence`) and returns the frames as a phone
camera would have captured them while the screen flashed the colours, with their
`captured_at_ms`. The physics, in linear light:

    pixel' = pixel * (1 + strength * shading * screen_colour(t - lag))

The screen's light adds to the ambient light in proportion to the surface's own reflectance
(the pixel stands in for albedo times ambient light, assuming a roughly neutral ambient), times
how directly the surface faces the screen. The head is modelled as an ellipsoid fitted to its 68
landmarks (found once, on the first frame: the frames of one sequence barely move); the screen
sits in front of the face, a little below the camera, so the nose, the cheeks and the middle of
the forehead brighten most and the sides of the face and the hair less; outside the head the
response falls smoothly to `BACKGROUND_LEVEL`, since the background is metres away and the
screen's light falls with the square of the distance. `strength` is the relative brightening of
a frontal surface under a full white screen: a few percent in a lit room, up to ~20 % in a dim
one.

A rolling shutter exposes the rows one after another, so at a colour change the top and the
bottom of one frame can show different colours; capture times jitter by a few milliseconds, the
auto-exposure drifts, and optionally the auto white balance pushes back against the colour cast
(`white_balance`, the share of the frame's mean cast it removes). Mild sensor noise last.

Frames captured after the sequence has ended (or before it started, given the lag) get no
colour: what the screen shows then is not part of the challenge. `frames_needed` says how many
frames cover a sequence at a frame rate.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

import msgspec
import numpy as np
import numpy.typing as npt

from app.face.light import LightStep, ScreenTimeline, parse_color, srgb_to_linear_table
from app.qa.landmarks import Image, Points, single_face

DEFAULT_STRENGTH: Final = 0.10
BACKGROUND_LEVEL: Final = 0.02  # response of the far background, relative to a frontal surface
ROLLING_SHUTTER_MS: Final = 20.0  # time between exposing the top and the bottom row
EXPOSURE_MS: Final = 16.0
JITTER_MS: Final = 3.0
NOISE_LEVELS: Final = 1.5  # sensor noise, in 8-bit sRGB levels
# Where the screen is seen from the face: straight ahead, a little below the camera.
SCREEN_DIRECTION: Final = np.array([0.0, 0.25, 1.0]) / math.hypot(0.25, 1.0)

LINEAR: Final = srgb_to_linear_table().astype(np.float32)  # 8-bit sRGB level -> linear


class _Answer(msgspec.Struct, frozen=True):
    light: list[LightStep]


def load_sequence(path: Path) -> list[LightStep]:
    """The light steps from a JSON file: the answer's `light` list, or an object with a `light` key.

    Raises ValueError for anything else, including malformed colours or non-positive durations.
    """
    try:
        data = msgspec.json.decode(path.read_bytes(), type=list[LightStep] | _Answer)
    except msgspec.ValidationError as error:
        raise ValueError(f"{path}: not a light sequence ({error})") from None
    except msgspec.DecodeError as error:
        raise ValueError(f"{path}: not JSON ({error})") from None
    steps = data.light if isinstance(data, _Answer) else data
    if not steps:
        raise ValueError(f"{path}: the light sequence is empty")
    for step in steps:
        try:
            parse_color(step.color)
        except ValueError as error:
            raise ValueError(f"{path}: {error}") from None
        if step.ms <= 0:
            raise ValueError(f"{path}: step {step.color} lasts {step.ms} ms")
    return steps


def frames_needed(steps: Sequence[LightStep], *, fps: float = 15.0, lag_ms: float = 90.0) -> int:
    """How many frames at `fps` cover the sequence until its last colour has reached the camera."""
    total = sum(step.ms for step in steps) + lag_ms
    return math.ceil(total * fps / 1000.0) + 1


def covering_fps(steps: Sequence[LightStep], count: int, *, lag_ms: float = 90.0) -> float:
    """The frame rate at which `count` frames span the whole sequence (what a client captures
    while the colours play), between 8 and 30 frames per second."""
    total = sum(step.ms for step in steps) + lag_ms + 1000.0 / 15.0
    return min(30.0, max(8.0, count * 1000.0 / total))


def reflection_weight(shape: tuple[int, int], points: Points) -> npt.NDArray[np.float32]:
    """Per pixel, how strongly the screen's light reaches the surface there (1 = frontal face).

    The head is an ellipsoid: as wide as the jaw, from the chin up to well above the brows (the
    forehead and the hair), as deep as about 0.9 of its half-width. Lambert shading towards the
    screen inside its outline; outside, a smooth fall to the background's level.
    """
    height, width = shape
    brow_top = float(points[17:27, 1].min())
    face_height = float(points[8, 1]) - brow_top
    top, bottom = brow_top - 0.6 * face_height, float(points[8, 1])
    a = 0.55 * float(points[16, 0] - points[0, 0])
    b = (bottom - top) / 2.0
    c = 0.9 * a
    cx, cy = float(points[0, 0] + points[16, 0]) / 2.0, (top + bottom) / 2.0
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float64)
    u, v = (xs - cx) / a, (ys - cy) / b
    radius = np.sqrt(u * u + v * v)
    w = np.sqrt(np.clip(1.0 - radius * radius, 0.0, None))
    normal = np.stack([u / a, v / b, w / c], axis=-1)
    normal /= np.linalg.norm(normal, axis=-1, keepdims=True) + 1e-12
    shading = np.clip(normal @ SCREEN_DIRECTION, 0.0, None)
    # Past the outline (hair, ears, the neck) the light fades over a fifth of the head's size,
    # starting from what the outline itself receives.
    flat = np.stack([u / a, v / b, np.zeros_like(u)], axis=-1)
    flat /= np.linalg.norm(flat, axis=-1, keepdims=True) + 1e-12
    edge = np.clip(flat @ SCREEN_DIRECTION, 0.0, None)
    outside = edge * np.exp(-(((radius - 1.0) / 0.2) ** 2))
    weight = np.where(radius < 1.0, shading, outside)
    return np.asarray(BACKGROUND_LEVEL + (1.0 - BACKGROUND_LEVEL) * weight, dtype=np.float32)


def capture_times(count: int, fps: float, rng: np.random.Generator) -> list[int]:
    """Capture times (ms since the first colour appeared): a steady rate with a little jitter."""
    period = 1000.0 / fps
    start = rng.uniform(0.0, period)
    times = start + period * np.arange(count) + rng.normal(0.0, JITTER_MS, count)
    return [int(t) for t in np.round(np.maximum.accumulate(np.maximum(times, 0.0)))]


_ENCODE_STEPS: Final = 1 << 16
_ENCODE: Final = np.asarray(
    255.0
    * np.where(
        np.linspace(0.0, 1.0, _ENCODE_STEPS) <= 0.0031308,
        12.92 * np.linspace(0.0, 1.0, _ENCODE_STEPS),
        1.055 * np.linspace(0.0, 1.0, _ENCODE_STEPS) ** (1.0 / 2.4) - 0.055,
    ),
    dtype=np.float32,
)


def to_srgb(linear: npt.NDArray[np.floating[Any]]) -> npt.NDArray[np.float32]:
    """8-bit sRGB levels of linear values (0-1), not yet rounded (a 65,536-entry table)."""
    index = np.clip(linear * (_ENCODE_STEPS - 1) + 0.5, 0, _ENCODE_STEPS - 1).astype(np.int32)
    return np.asarray(_ENCODE[index], dtype=np.float32)


class _Sensor:
    """Sensor noise added before the 8-bit quantisation, as in a camera (it dithers the levels).

    Drawing fresh Gaussian noise for every pixel of every frame dominates the cost of `respond`,
    so each frame takes a randomly placed and flipped window of one larger noise field.
    """

    def __init__(self, shape: tuple[int, ...], rng: np.random.Generator) -> None:
        self._rng = rng
        self._shape = shape
        margin = 32
        field_shape = (shape[0] + margin, shape[1] + margin, *shape[2:])
        self._field = rng.standard_normal(field_shape, dtype=np.float32) * np.float32(NOISE_LEVELS)

    def expose(self, levels: npt.NDArray[np.float32]) -> Image:
        if levels.shape != self._shape:
            return camera_noise(levels, self._rng)
        dy, dx = (int(v) for v in self._rng.integers(0, 33, 2))
        window = self._field[dy : dy + self._shape[0], dx : dx + self._shape[1]]
        if self._rng.random() < 0.5:
            window = window[::-1]
        return np.asarray(np.clip(np.rint(levels + window), 0, 255), dtype=np.uint8)


def camera_noise(levels: npt.NDArray[np.float32], rng: np.random.Generator) -> Image:
    """Fresh sensor noise on 8-bit levels, then the quantisation."""
    noise = rng.standard_normal(levels.shape, dtype=np.float32) * np.float32(NOISE_LEVELS)
    return np.asarray(np.clip(np.rint(levels + noise), 0, 255), dtype=np.uint8)


def respond(
    frames: list[Image],
    steps: Sequence[LightStep],
    *,
    fps: float = 15.0,
    lag_ms: float = 90.0,
    strength: float = DEFAULT_STRENGTH,
    white_balance: float = 0.0,
    seed: int = 0,
    points: Points | None = None,
) -> tuple[list[Image], list[int]]:
    """The frames lit by the screen's colours, and their `captured_at_ms` (one per frame).

    `points` are the first frame's 68 landmarks if already known; otherwise they are found, and
    `FaceCountError` is raised unless the first frame shows exactly one face.
    """
    if not frames:
        return [], []
    rng = np.random.default_rng(seed)
    face = single_face(frames[0]) if points is None else points
    weight = reflection_weight(frames[0].shape[:2], face)
    timeline = ScreenTimeline.of(steps)
    times = capture_times(len(frames), fps, rng)
    height = frames[0].shape[0]
    row_offsets = (np.arange(height) / max(height - 1, 1) - 0.5) * ROLLING_SHUTTER_MS
    gain = 1.0 + np.clip(np.cumsum(rng.normal(0.0, 0.006, len(frames))), -0.03, 0.03)
    mean_weight = float(weight.mean())
    sensor = _Sensor(frames[0].shape, rng)
    out = []
    for frame, at, exposure in zip(frames, times, gain, strict=True):
        shown, _step = timeline.shown(at - lag_ms + row_offsets, EXPOSURE_MS)
        shown = np.nan_to_num(shown, nan=0.0).astype(np.float32)  # (rows, 3)
        linear = LINEAR[frame]
        lit = linear * (1.0 + strength * weight[..., None] * shown[:, None, :])
        # Auto white balance: scales each channel against the frame's mean colour cast.
        cast = strength * mean_weight * shown.mean(axis=0)
        balance = 1.0 / (1.0 + white_balance * (cast - cast.mean()))
        lit *= (exposure * balance).astype(np.float32)
        out.append(sensor.expose(to_srgb(lit)))
    return out, times
