"""The light challenge: does the face reflect the colours the phone's screen flashed at it?

DOCSTRING-PLACEHOLDER
"""

from __future__ import annotations

import math
import random
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Final

import cv2
import msgspec
import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
RGB = tuple[float, float, float]

# --- the sequence ------------------------------------------------------------------------------

# Saturated primaries and secondaries: every pair differs by a full channel, so consecutive
# colours always differ strongly in chromaticity. White is left out on purpose: it changes only
# the brightness, which auto-exposure hides, and adds nothing to a chromaticity fit.
PALETTE: Final[tuple[str, ...]] = ("#FF0000", "#00FF00", "#0000FF", "#FFFF00", "#FF00FF", "#00FFFF")
MIN_STEPS: Final = 4
MAX_STEPS: Final = 8
MIN_STEP_MS: Final = 150
MAX_STEP_MS: Final = 500
# At 10 frames per second a sequence this long still gives some 20 frames to fit.
MIN_TOTAL_MS: Final = 2000
MIN_DISTINCT_COLOURS: Final = 3


class LightStep(msgspec.Struct, frozen=True):
    """One colour of the sequence: shown full-screen for `ms` milliseconds."""

    color: str  # "#RRGGBB"
    ms: int


def draw_light_sequence(rng: random.Random | None = None) -> list[LightStep]:
    """A fresh, unpredictable sequence: 4-8 steps of 150-500 ms, at least 2 s in all.

    The default source is the operating system's (`secrets.SystemRandom`); pass a seeded
    `random.Random` only in tests and QA.

    Consecutive colours differ, and at least three distinct colours appear, so the expected
    chromaticity changes span both chromatic directions (two colours would span only one, and a
    recording answering another sequence would line up with it far more often).
    """
    source = rng or secrets.SystemRandom()
    while True:
        count = source.randint(MIN_STEPS, MAX_STEPS)
        colours: list[str] = []
        for _ in range(count):
            choices = [c for c in PALETTE if not colours or c != colours[-1]]
            colours.append(source.choice(choices))
        durations = [source.randint(MIN_STEP_MS, MAX_STEP_MS) for _ in range(count)]
        if len(set(colours)) >= MIN_DISTINCT_COLOURS and sum(durations) >= MIN_TOTAL_MS:
            return [LightStep(color=c, ms=d) for c, d in zip(colours, durations, strict=True)]


def parse_color(color: str) -> RGB:
    """Linear-light RGB (0-1) of an sRGB "#RRGGBB" string; ValueError if malformed."""
    text = color.strip()
    if len(text) != 7 or text[0] != "#":
        raise ValueError(f"not a #RRGGBB colour: {color!r}")
    try:
        values = [int(text[i : i + 2], 16) for i in (1, 3, 5)]
    except ValueError:
        raise ValueError(f"not a #RRGGBB colour: {color!r}") from None
    r, g, b = (float(_SRGB_TO_LINEAR[v]) for v in values)
    return r, g, b


def _srgb_to_linear_table() -> FloatArray:
    v = np.arange(256, dtype=np.float64) / 255.0
    return np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4)


_SRGB_TO_LINEAR: Final = _srgb_to_linear_table()
_LUT32: Final = _SRGB_TO_LINEAR.astype(np.float32)

# --- measuring one frame -----------------------------------------------------------------------


class LightSample(msgspec.Struct, frozen=True, array_like=True):
    """Robust mean linear RGB of the face's bare skin and of the background in one frame.

    `background` is None when the face fills the frame and nothing of the background shows.
    """

    face: RGB
    background: RGB | None


# Skin patches as landmark hulls shrunk towards their centre, which keeps them off the lids,
# lips, nostrils and the jaw line (where hair or background can show through).
_CHEEK_LEFT: Final = (1, 2, 3, 48, 31, 40, 41)
_CHEEK_RIGHT: Final = (15, 14, 13, 54, 35, 47, 46)
_NOSE: Final = (27, 31, 33, 35)
_BROWS_INNER: Final = (19, 20, 21, 22, 23, 24)
_CHEEK_SHRINK: Final = 0.7
_NOSE_SHRINK: Final = 0.8
# The forehead strip above the brows, in units of the brow-to-chin height.
_FOREHEAD_GAP: Final = 0.05
_FOREHEAD_HEIGHT: Final = 0.15
# The head region (face plus hair) that is not background: the landmarks' box grown this much.
HEAD_GROWTH: Final = 1.8
_SKIN_SIDE: Final = 80  # about this many pixels along the face crop's longer side are averaged
_BACKGROUND_SIDE: Final = 160  # and along the frame's longer side for the background
_TRIM: Final = (15.0, 85.0)  # luminance percentiles kept: no highlights, shadows or stray hair


def _shrunk(points: FloatArray, factor: float) -> FloatArray:
    centre = points.mean(axis=0)
    return np.asarray(centre + factor * (points - centre), dtype=np.float64)


def skin_polygons(points: FloatArray) -> list[FloatArray]:
    """Cheeks, nose and a forehead strip above the brows, as polygons in image pixels."""
    height = float(points[8, 1] - points[17:27, 1].min())
    up = np.array([0.0, -height])
    brows = points[list(_BROWS_INNER)]
    forehead = np.vstack(
        [brows + _FOREHEAD_GAP * up, (brows + (_FOREHEAD_GAP + _FOREHEAD_HEIGHT) * up)[::-1]]
    )
    return [
        _shrunk(points[list(_CHEEK_LEFT)], _CHEEK_SHRINK),
        _shrunk(points[list(_CHEEK_RIGHT)], _CHEEK_SHRINK),
        _shrunk(points[list(_NOSE)], _NOSE_SHRINK),
        forehead,
    ]


def head_box(points: FloatArray, growth: float = HEAD_GROWTH) -> tuple[float, float, float, float]:
    """(left, top, right, bottom) of the head: the face with its forehead, grown `growth` times."""
    height = float(points[8, 1] - points[17:27, 1].min())
    left, right = float(points[:, 0].min()), float(points[:, 0].max())
    top = float(points[17:27, 1].min()) - (_FOREHEAD_GAP + _FOREHEAD_HEIGHT) * height
    bottom = float(points[8, 1])
    cx, cy = (left + right) / 2.0, (top + bottom) / 2.0
    half_w, half_h = growth * (right - left) / 2.0, growth * (bottom - top) / 2.0
    return cx - half_w, cy - half_h, cx + half_w, cy + half_h


def _trimmed_mean(pixels: npt.NDArray[np.float32]) -> RGB | None:
    """Mean of the pixels whose luminance lies between the `_TRIM` percentiles."""
    if len(pixels) == 0:
        return None
    luma = pixels @ np.array([0.2126, 0.7152, 0.0722], dtype=np.float32)
    low, high = np.percentile(luma, _TRIM)
    kept = pixels[(luma >= low) & (luma <= high)]
    if len(kept) == 0:
        kept = pixels
    r, g, b = (float(v) for v in kept.mean(axis=0, dtype=np.float64))
    return r, g, b


def _linear_copy(image: npt.NDArray[np.uint8], side: int) -> tuple[npt.NDArray[np.float32], int]:
    """Every n-th pixel of the image in both directions, in linear light, at most about `side`
    pixels along the longer side; and n. A mean over thousands of pixels needs no smoothing first,
    and striding is several times cheaper than resampling."""
    step = max(1, math.ceil(max(image.shape[:2]) / side))
    sampled = np.ascontiguousarray(image[::step, ::step])
    return np.asarray(cv2.LUT(sampled, _LUT32), dtype=np.float32), step


def _skin(image: npt.NDArray[np.uint8], points: FloatArray) -> RGB | None:
    height, width = image.shape[:2]
    polygons = skin_polygons(points)
    corners = np.vstack(polygons)
    left = int(max(0, math.floor(corners[:, 0].min())))
    top = int(max(0, math.floor(corners[:, 1].min())))
    right = int(min(width, math.ceil(corners[:, 0].max()) + 1))
    bottom = int(min(height, math.ceil(corners[:, 1].max()) + 1))
    if right - left < 2 or bottom - top < 2:
        return None
    crop, step = _linear_copy(image[top:bottom, left:right], _SKIN_SIDE)
    mask = np.zeros(crop.shape[:2], dtype=np.uint8)
    offset = np.array([left, top], dtype=np.float64)
    shapes = [np.round((poly - offset) / step).astype(np.int32) for poly in polygons]
    cv2.fillPoly(mask, shapes, 1)
    return _trimmed_mean(crop[mask.astype(bool)])


def _background(image: npt.NDArray[np.uint8], points: FloatArray) -> RGB | None:
    """The frame outside the head, beside and above it; below the chin only if nothing else shows.

    Below the chin are the neck, shoulders and clothes, which sit nearly as close to the screen
    as the face and reflect its light too.
    """
    small, step = _linear_copy(image, _BACKGROUND_SIDE)
    left, top, right, bottom = (v / step for v in head_box(points))
    rows = np.arange(small.shape[0], dtype=np.float64)[:, None]
    cols = np.arange(small.shape[1], dtype=np.float64)[None, :]
    outside = (cols < left) | (cols > right) | (rows < top) | (rows > bottom)
    above_chin = rows <= points[8, 1] / step
    for mask in (outside & above_chin, outside):
        if np.count_nonzero(mask) >= 0.02 * mask.size:
            return _trimmed_mean(small[mask])
    return None


def measure_light(image: npt.NDArray[np.uint8], points: FloatArray) -> LightSample:
    """Face and background colour of one RGB frame, from its 68 landmarks (x, y pixels).

    About 1 ms for a 640x480 frame: the skin is averaged on a copy of the face at 64 pixels, the
    background on a copy of the frame at 96 pixels, both in linear light.
    """
    face = _skin(image, points)
    if face is None:
        face = (0.0, 0.0, 0.0)
    return LightSample(face=face, background=_background(image, points))


# --- the decision ------------------------------------------------------------------------------


class LightParams(msgspec.Struct, frozen=True, kw_only=True):
    """Thresholds of `check_light`; see the module docstring for why these values."""

    min_lag_ms: float = 0.0
    max_lag_ms: float = 300.0
    lag_step_ms: float = 10.0
    exposure_ms: float = 30.0  # a frame integrates the screen's light over about this long
    min_frames: int = 8
    min_steps: int = 3
    min_step_share: float = 0.5
    min_correlation: float = 0.7
    min_snr: float = 3.0
    min_modulation: float = 0.01
    max_background_ratio: float = 0.5
    min_step_agreement: float = 0.75


DEFAULT_LIGHT_PARAMS = LightParams()


class LightResult(msgspec.Struct, frozen=True, kw_only=True):
    passed: bool
    detail: str
    scores: dict[str, float] = msgspec.field(default_factory=dict)


@dataclass(frozen=True)
class ScreenTimeline:
    """The screen's colours over time: step boundaries (ms) and linear RGB per step."""

    starts: FloatArray  # (m,)
    ends: FloatArray  # (m,)
    colours: FloatArray  # (m, 3)

    @classmethod
    def of(cls, steps: Sequence[LightStep]) -> ScreenTimeline:
        durations = np.array([float(s.ms) for s in steps], dtype=np.float64)
        ends = np.cumsum(durations)
        colours = np.array([parse_color(s.color) for s in steps], dtype=np.float64).reshape(-1, 3)
        return cls(starts=ends - durations, ends=ends, colours=colours)

    @property
    def total(self) -> float:
        return float(self.ends[-1]) if len(self.ends) else 0.0

    def shown(self, times: FloatArray, window: float) -> tuple[FloatArray, npt.NDArray[np.intp]]:
        """Mean screen colour over [t - window/2, t + window/2] for each time (NaN when t is
        outside the sequence), and the index of the step showing at t (-1 outside)."""
        low = (times - window / 2.0)[:, None]
        high = (times + window / 2.0)[:, None]
        overlap = np.clip(np.minimum(high, self.ends) - np.maximum(low, self.starts), 0.0, None)
        covered = overlap.sum(axis=1, keepdims=True)
        inside = (times >= 0.0) & (times < self.total)
        with np.errstate(invalid="ignore", divide="ignore"):
            colour = (overlap @ self.colours) / covered
        colour[~inside] = np.nan
        step = np.searchsorted(self.ends, times, side="right").astype(np.intp)
        step[~inside] = -1
        return colour, step


def _log_chroma(rgb: FloatArray) -> FloatArray:
    """log RGB minus its mean over the channels: insensitive to exposure and overall brightness."""
    logs = np.log(np.clip(rgb, 1e-4, None))
    return np.asarray(logs - logs.mean(axis=1, keepdims=True), dtype=np.float64)


@dataclass(frozen=True)
class _Fit:
    """Least-squares fit of a response (n, 3) to the expected chromaticity stimulus (n, 3)."""

    lag: float
    correlation: float
    modulation: float  # slope: log-chromaticity change per unit of screen chromaticity
    snr: float
    step_agreement: float
    frames: int
    steps: int


def _fit(response: FloatArray, stimulus: FloatArray, step: npt.NDArray[np.intp], lag: float) -> _Fit:
    y = response - response.mean(axis=0)
    x = stimulus - stimulus.mean(axis=0)
    sxx, syy, sxy = float((x * x).sum()), float((y * y).sum()), float((x * y).sum())
    steps = np.unique(step)
    if sxx <= 1e-12 or syy <= 1e-18:
        return _Fit(lag, 0.0, 0.0, 0.0, 0.0, len(y), len(steps))
    slope = sxy / sxx
    correlation = sxy / math.sqrt(sxx * syy)
    residual = y - slope * x
    # Frame-to-frame noise: consecutive differences of the residual (slow drifts such as a head
    # turn cancel), median-based so that a transition frame or a blink does not inflate it.
    jumps = np.abs(np.diff(residual, axis=0)).ravel()
    noise = 1.4826 * float(np.median(jumps)) / math.sqrt(2.0) if len(jumps) else 0.0
    amplitude = abs(slope) * math.sqrt(sxx / x.size)
    snr = amplitude / max(noise, 1e-6)
    agree = 0
    for s in steps:
        rows = step == s
        expected, seen = slope * x[rows].mean(axis=0), y[rows].mean(axis=0)
        agree += int(float(expected @ seen) > 0.5 * float(expected @ expected))
    return _Fit(lag, correlation, slope, snr, agree / len(steps), len(y), len(steps))


def _fail(detail: str, scores: dict[str, float]) -> LightResult:
    return LightResult(passed=False, detail=detail, scores=scores)


def _best_fit(
    timeline: ScreenTimeline, times: FloatArray, response: FloatArray, params: LightParams
) -> _Fit | None:
    """The lag at which the response follows the screen best, among those with enough coverage."""
    best: _Fit | None = None
    needed = max(params.min_steps, math.ceil(params.min_step_share * len(timeline.starts)))
    for lag in np.arange(params.min_lag_ms, params.max_lag_ms + 1e-9, params.lag_step_ms):
        shown, step = timeline.shown(times - lag, params.exposure_ms)
        valid = step >= 0
        if valid.sum() < params.min_frames or len(np.unique(step[valid])) < needed:
            continue
        chroma = shown[valid] - shown[valid].mean(axis=1, keepdims=True)
        fit = _fit(response[valid], chroma, step[valid], float(lag))
        if best is None or fit.correlation > best.correlation:
            best = fit
    return best


def _slope(response: FloatArray, stimulus: FloatArray) -> float:
    y = response - response.mean(axis=0)
    x = stimulus - stimulus.mean(axis=0)
    sxx = float((x * x).sum())
    return float((x * y).sum()) / sxx if sxx > 1e-12 else 0.0


def _background_ratios(
    timeline: ScreenTimeline,
    times: FloatArray,
    face: FloatArray,
    background: FloatArray,
    lag: float,
    params: LightParams,
) -> tuple[float, float, float, float]:
    """How much the background follows the screen compared with the face, at the face's lag.

    Returns the face's and the background's own slopes and two ratios: of the relative
    (log-chromaticity) slopes, which is 1 for a screen replay that scales the whole picture, and
    of the absolute slopes (relative slope times brightness), which is 1 for a glossy screen
    that adds the same light everywhere. A real background is far away: both stay near 0, and
    negative when the camera's white balance pushes against the face's colour cast.
    """
    shown, step = timeline.shown(times - lag, params.exposure_ms)
    valid = step >= 0
    chroma = shown[valid] - shown[valid].mean(axis=1, keepdims=True)
    face_slope = _slope(_log_chroma(face[valid]), chroma)
    background_slope = _slope(_log_chroma(background[valid]), chroma)
    if face_slope <= 1e-6 or background_slope <= 0.0:
        relative = 0.0 if background_slope <= 0.0 else math.inf
        return face_slope, background_slope, relative, relative
    relative = background_slope / face_slope
    brightness = float(background[valid].mean()) / max(float(face[valid].mean()), 1e-6)
    return face_slope, background_slope, relative, relative * brightness


def _usable(
    samples: Sequence[LightSample | None], captured_at_ms: Sequence[float | None]
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Capture times, face and background colours of the frames with a measurable face."""
    times, faces, backgrounds = [], [], []
    for sample, at in zip(samples, captured_at_ms, strict=True):
        if sample is None or sample.background is None or at is None:
            continue
        if min(sample.face) <= 0.0 or min(sample.background) < 0.0:
            continue
        times.append(float(at))
        faces.append(sample.face)
        backgrounds.append(sample.background)
    return (
        np.array(times, dtype=np.float64),
        np.array(faces, dtype=np.float64).reshape(-1, 3),
        np.array(backgrounds, dtype=np.float64).reshape(-1, 3),
    )


def _times_problem(captured_at_ms: Sequence[float | None], frames: int) -> str | None:
    if len(captured_at_ms) != frames:
        return f"{len(captured_at_ms)} capture times for {frames} frames"
    missing = sum(1 for t in captured_at_ms if t is None)
    if missing:
        return f"captured_at_ms missing for {missing} of {frames} frames"
    known = [float(t) for t in captured_at_ms if t is not None]
    if not all(math.isfinite(t) for t in known):
        return "captured_at_ms is not a finite number"
    if any(b < a for a, b in pairwise(known)):
        return "captured_at_ms goes backwards"
    return None


def check_light(
    steps: Sequence[LightStep],
    samples: Sequence[LightSample | None],
    captured_at_ms: Sequence[float | None],
    params: LightParams = DEFAULT_LIGHT_PARAMS,
) -> LightResult:
    """Whether the face's colour followed the flashed sequence while the background did not.

    `samples` and `captured_at_ms` are per uploaded frame, in upload order; a sample is None for a
    frame without exactly one face. Any failure means `liveness_failed`.
    """
    scores: dict[str, float] = {"light_frames": float(len(samples))}
    problem = _times_problem(captured_at_ms, len(samples))
    if problem is not None:
        return _fail(problem, scores)
    if len(steps) < 2:
        return _fail("the light sequence has fewer than two colours", scores)
    timeline = ScreenTimeline.of(steps)
    times, face, background = _usable(samples, captured_at_ms)
    scores["light_face_frames"] = float(len(times))
    if len(times) < params.min_frames:
        return _fail(f"only {len(times)} frames with a measurable face during the light sequence", scores)
    response = _log_chroma(face) - _log_chroma(background)
    fit = _best_fit(timeline, times, response, params)
    if fit is None:
        return _fail("too few frames or colours fall within the light sequence", scores)
    face_slope, background_slope, relative, absolute = _background_ratios(
        timeline, times, face, background, fit.lag, params
    )
    scores.update(
        {
            "light_lag_ms": fit.lag,
            "light_correlation": fit.correlation,
            "light_modulation": fit.modulation,
            "light_snr": fit.snr,
            "light_step_agreement": fit.step_agreement,
            "light_fit_frames": float(fit.frames),
            "light_fit_steps": float(fit.steps),
            "light_face_slope": face_slope,
            "light_background_slope": background_slope,
            "light_background_ratio": max(relative, absolute),
        }
    )
    if fit.correlation < params.min_correlation or fit.step_agreement < params.min_step_agreement:
        return _fail("the face's colour does not follow the light sequence", scores)
    if fit.modulation < params.min_modulation or fit.snr < params.min_snr:
        return _fail("the face's response to the light is too weak", scores)
    if max(relative, absolute) > params.max_background_ratio:
        return _fail("the background follows the light as the face does", scores)
    return LightResult(passed=True, detail="the face follows the light sequence", scores=scores)
