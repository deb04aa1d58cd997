"""The light challenge: does the face reflect the colours the phone's screen flashed at it?

A channel may ask for a light challenge (SPEC §8): the session answer carries 4-8 colours drawn
here (`draw_light_sequence`), the client shows them full-screen while filming, and sends each
frame's `captured_at_ms` (ms since the first colour appeared). The idea is that of AWS's
FaceMovementAndLightChallenge, Tencent's colour liveness and "Face Flashing" (Tang et al.,
NDSS 2018).

Model. The screen, 20-40 cm away, lights the face; its light adds to the ambient light. In linear
light, for channel c,

    face_c(t) = g(t) * albedo_c * (ambient_c + k * shading * screen_c(t - lag))

with g the camera's exposure, shading the cosine between the skin's normal and the direction to
the screen, and lag the camera delay (screen latency, exposure, rolling shutter: ~30-250 ms).
In log-chromaticity (log RGB minus its mean over the channels) g and the albedo drop out and, for
a modulation of a few percent to ~20 %, the face's change is proportional to the screen
colour's own chromaticity (its linear RGB minus its channel mean). The background, metres away,
receives (distance ratio)^2 of that: almost nothing. A replay on a screen is the opposite: the
attacker's display emits the picture, so the phone's colours reach face and background alike
(scaling the whole picture, or adding the same glare everywhere).

Measurement (`measure_light`, ~1 ms per 640x480 frame). The face value is the plain mean linear
RGB of cheeks, nose and a forehead strip from the 68 landmarks (not eyes, brows, lips); a plain
mean varies smoothly as the patches slide over the face, whereas trimmed means, medians and
per-pixel exclusions jumped between pixel populations (2-5 times the chromaticity noise on the
fixtures). The background is a fixed 12x12 grid of cells over the frame, keeping those wholly
outside the head (the landmark box grown 1.5x) and above the chin; each cell keeps showing the
same part of the room while the head moves, so it is compared only with itself over time.

Decision (`check_light`). For each lag from 0 to 300 ms in 10 ms steps, the expected stimulus of
each frame is the screen's chromaticity over a 30 ms window at (capture time - lag); the face's
log-chromaticity series (minus a linear drift in time: a head turn, exposure settling) is fitted
with one slope for all channels. The lag with the best correlation is kept. Then, all required:

- coverage: at least 8 frames with a face in the sequence, in at least max(3, half of) its steps;
- correlation >= 0.8 and at least 3 in 4 covered steps going at least half-way towards their
  expected colour: the face follows this sequence, consistently, not only on average;
- slope (modulation) >= 0.015, i.e. the face's light rises >= ~1.5 % under a saturated colour,
  and the response stands >= 1.5 times above the frame-to-frame noise (a robust spread of
  consecutive residual differences);
- background: every cell seen in most frames is fitted at the same lag; the median over cells of
  (cell slope / face slope) and of the same in absolute light (times brightness) must stay below
  0.5. A scaled picture gives ~1 on the first, added glare ~1 on the second; a real background
  ~0 (negative when the camera's white balance leans against the face's cast). At 0.5 a
  background would have to be within ~1.4 times the face's distance from the screen;
- background beside the head: of the cells level with the head and within 2.5 times its width
  (`NEAR_GROWTH`), at most a quarter may follow at more than that 0.5. A screen smaller than the
  frame, with the real room around it, shows its own picture there; the room's cells, pushed
  against the colours by the camera's white balance (ratios of -1 to -3), can pull the median
  over all cells below 0.5 while the screen's cells follow at ~1. Above the head is left out:
  hats and hair stand there, as near to the screen as the face.

Why these values. They were set on one person (astronaut fixtures: blink and open_mouth, 15 fps,
lags 60/150 ms, modulation 6 % and 12 %) and on a sample-level simulation of 3,000 sessions, then
checked on the other person (hopper: glasses, a striped flag behind), on head turns, and on frame
rates (10-30 fps), lags (30-250 ms), strengths (3.5-20 %) and white-balance reactions not used for
tuning; tests/face/test_light.py keeps a sample of these cases. On the tuning set genuine answers
had a correlation >= 0.96, answers to another session's sequence reached 0.75 (a near-identical,
shifted sequence) and frames without any answer 0.47: 0.8 lies between, and in the simulation no
other-session answer reached it while 0.1 % of the weakest (3 %) genuine answers fell below.
Frames without an answer reached a noise ratio of 0.86 and a slope of 0.006, hence 1.5 and 0.015
(genuine: >= 5.4 and >= 0.044). Background ratios were <= 0.05 for genuine answers and >= 0.78
for screen replays: 0.5 lies between, and leaves room for a background nearer than a wall. The
share of following cells beside the head was checked on the development set (bench/devset.py,
16 genuine answers and 48 screen replays of three screen families filmed with the room around
them, none of them used for the median rule): genuine at most 0.05 (one cell of 21), replays
that the other checks let through at 0.44-1.0 but for one (0.14, the screen's edge close to the
face); a quarter lies between.

What this does and does not stop. It stops an animated or replayed still that does not answer
(no colour change), an answer to another session's colours or timing, and a replay on a screen
that fills the frame (the background follows). It does not stop a printed photo or a mask held
before the camera with the real room behind it: paper reflects the screen like skin does (a print
that fills the frame fails, its background being at the same distance), nor a screen cut so close
to the face that no cell beside the head shows it. It cannot see a digitally
injected stream (virtual camera), which can synthesise the answer, as `app.qa.light` does: that
needs device attestation. It fails closed when the screen's light is swamped (sunlight, a bright
room: modulation under ~3 %), when the face fills the frame (too little background), and with
cameras whose auto white balance or exposure fully cancels the flashes between frames; the client
should ask for a dimmer place, full screen brightness, and the face at most about half the frame
wide. A recording of a genuine answer to the same colours with the same timing would pass: the
sequence's unpredictability (6 colours, 4-8 steps, 150-500 ms each) is what prevents that.
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


def srgb_to_linear_table() -> FloatArray:
    """Linear light (0-1) of each 8-bit sRGB level (IEC 61966-2-1)."""
    v = np.arange(256, dtype=np.float64) / 255.0
    return np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4)


_SRGB_TO_LINEAR: Final = srgb_to_linear_table()
_LUT32: Final = _SRGB_TO_LINEAR.astype(np.float32)

# --- measuring one frame -----------------------------------------------------------------------


class LightSample(msgspec.Struct, frozen=True, array_like=True):
    """What one frame shows of the light: the face's skin colour and the background's, by cell.

    `face` is the mean linear RGB of bare skin (cheeks, nose, a strip of forehead). `background`
    holds, for the cells of a fixed `GRID` x `GRID` grid over the frame that lie wholly outside
    the head, (cell index, mean linear R, G, B). Cells are fixed in the frame, not in the face,
    so each one keeps showing the same part of the room from frame to frame while the head
    moves; `check_light` compares every cell with itself over time.
    """

    face: RGB
    background: tuple[tuple[int, float, float, float], ...] = ()
    # The background cells among them that lie close around the head (`NEAR_GROWTH`).
    near: tuple[int, ...] = ()


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
# The head with its hair: the box of the landmarks and the forehead strip, grown this much.
HEAD_GROWTH: Final = 1.5
# Cells beside the head (level with it, not above: hats and hair stand up there) that overlap the
# head box grown this much are "near". A screen held up to the camera shows the head with a margin
# of its own picture around it, and that margin is what these cells see.
NEAR_GROWTH: Final = 2.5
GRID: Final = 12  # background cells per side of the frame
MIN_BACKGROUND_CELLS: Final = 4
_SKIN_SIDE: Final = 80  # about this many pixels along the face crop's longer side are averaged
_BACKGROUND_SIDE: Final = 192  # and along the frame's longer side for the background cells
# Pixels that are clipped (no room to brighten) or nearly black (no signal) carry no response.
_CLIPPED: Final = 0.95
_BLACK: Final = 0.002


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


def _linear_copy(image: npt.NDArray[np.uint8], side: int) -> tuple[npt.NDArray[np.float32], int]:
    """Every n-th pixel of the image in both directions, in linear light, about `side` pixels
    along the longer side; and n. A mean over hundreds of pixels needs no smoothing first, and
    striding is several times cheaper than resampling."""
    step = max(1, math.ceil(max(image.shape[:2]) / side))
    sampled = np.ascontiguousarray(image[::step, ::step])
    return np.asarray(cv2.LUT(sampled, _LUT32), dtype=np.float32), step


def _skin(image: npt.NDArray[np.uint8], points: FloatArray) -> RGB | None:
    """Plain mean over the skin patches.

    A plain mean changes smoothly when a patch slides a little over the face or the light changes;
    trimmed means, medians and any per-pixel exclusion (of clipped or dark pixels) jump between
    pixel populations (measured on the fixtures: two to five times the frame-to-frame
    chromaticity noise).
    """
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
    pixels = crop[mask.astype(bool)]
    if len(pixels) == 0:
        return None
    r, g, b = (float(v) for v in pixels.mean(axis=0, dtype=np.float64))
    return r, g, b


def _cell_edges(length: int) -> npt.NDArray[np.intp]:
    return np.round(np.linspace(0, length, GRID + 1)).astype(np.intp)


def _background(
    image: npt.NDArray[np.uint8], points: FloatArray
) -> tuple[tuple[tuple[int, float, float, float], ...], tuple[int, ...]]:
    """Mean colour of the grid cells wholly outside the head, beside and above it; and which of
    them are near the head.

    Below the chin are the neck, shoulders and clothes, nearly as close to the screen as the face
    and lit by it too: those cells count only when fewer than `MIN_BACKGROUND_CELLS` others show.
    """
    small, step = _linear_copy(image, _BACKGROUND_SIDE)
    rows, cols = _cell_edges(small.shape[0]), _cell_edges(small.shape[1])
    sums = np.add.reduceat(np.add.reduceat(small, rows[:-1], axis=0), cols[:-1], axis=1)
    counts = np.outer(np.diff(rows), np.diff(cols)).astype(np.float64)
    means = sums / np.maximum(counts, 1.0)[..., None]
    # Cell bounds in full-resolution pixels.
    top_px, bottom_px = (rows[:-1] * step)[:, None], (rows[1:] * step)[:, None]
    left_px, right_px = (cols[:-1] * step)[None, :], (cols[1:] * step)[None, :]
    left, top, right, bottom = head_box(points)
    outside = (right_px <= left) | (left_px >= right) | (bottom_px <= top) | (top_px >= bottom)
    usable = (
        outside
        & (counts > 0)
        & (means.max(axis=2) < _CLIPPED)
        & (means.min(axis=2) > _BLACK)
    )
    above = usable & (bottom_px <= float(points[8, 1]))
    chosen = above if np.count_nonzero(above) >= MIN_BACKGROUND_CELLS else usable
    # Beside the head: within the grown box's width, level with the head box, above the chin.
    wide_left, _, wide_right, _ = head_box(points, NEAR_GROWTH)
    near = chosen & (right_px > wide_left) & (left_px < wide_right) & (top_px >= top)
    cells = tuple(
        (int(index), float(means.flat[3 * index]), float(means.flat[3 * index + 1]),
         float(means.flat[3 * index + 2]))
        for index in np.flatnonzero(chosen)
    )
    return cells, tuple(int(index) for index in np.flatnonzero(near))


def measure_light(image: npt.NDArray[np.uint8], points: FloatArray) -> LightSample:
    """Face and background colour of one RGB frame, from its 68 landmarks (x, y pixels).

    About 1 ms for a 640x480 frame: the skin is averaged on a copy of the face at about 80 pixels,
    the background cells on a copy of the frame at about 192, both in linear light. A face
    outside the frame gives a `face` of zeros, which `check_light` ignores.
    """
    face = _skin(image, points)
    background, near = _background(image, points)
    return LightSample(face=face or (0.0, 0.0, 0.0), background=background, near=near)


# --- the decision ------------------------------------------------------------------------------


class LightParams(msgspec.Struct, frozen=True, kw_only=True):
    """Thresholds of `check_light`; the module docstring says why these values."""

    min_lag_ms: float = 0.0
    max_lag_ms: float = 300.0
    lag_step_ms: float = 10.0
    exposure_ms: float = 30.0  # a frame integrates the screen's light over about this long
    drift_degree: int = 1  # polynomial in time removed from every series before the fit
    min_frames: int = 8
    min_steps: int = 3
    min_step_share: float = 0.5
    min_correlation: float = 0.8
    min_step_agreement: float = 0.75
    min_snr: float = 1.5
    min_modulation: float = 0.015
    min_background_cells: int = 3
    max_background_ratio: float = 0.5
    max_near_following: float = 0.25


DEFAULT_LIGHT_PARAMS = LightParams()


class LightResult(msgspec.Struct, frozen=True, kw_only=True):
    """The verdict on the light response. `scores` (correlation, lag_ms, background_ratio, …) are
    for the audit record; their names carry no prefix, the caller adds one."""

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


def _detrend(values: FloatArray, times: FloatArray, degree: int) -> FloatArray:
    """`values` (n, 3) without their best polynomial in time of `degree` (0: their mean).

    Removes what drifts slowly over the sequence, slower than the colours change: the head turning
    during an action challenge, the camera settling its exposure and white balance.
    """
    span = float(times.max() - times.min()) if len(times) else 0.0
    scaled = (times - times.min()) / span * 2.0 - 1.0 if span > 0 else np.zeros_like(times)
    basis = np.polynomial.legendre.legvander(scaled, min(degree, max(len(times) - 2, 0)))
    coefficients, *_ = np.linalg.lstsq(basis, values, rcond=None)
    return np.asarray(values - basis @ coefficients, dtype=np.float64)


def _frame_noise(residual: FloatArray) -> float:
    """Frame-to-frame noise of a residual series (n, 3): a robust spread of its consecutive
    differences, in which slow drifts (a head turn) cancel and a single odd frame (a blink, a
    frame caught mid-transition) does not count."""
    jumps = np.abs(np.diff(residual, axis=0)).ravel()
    return 1.4826 * float(np.median(jumps)) / math.sqrt(2.0) if len(jumps) else 0.0


def _step_agreement(y: FloatArray, expected: FloatArray, step: npt.NDArray[np.intp]) -> float:
    """Share of the steps whose mean response goes at least half-way to the expected one."""
    steps = np.unique(step)
    agree = 0
    for s in steps:
        rows = step == s
        want, seen = expected[rows].mean(axis=0), y[rows].mean(axis=0)
        agree += int(float(want @ seen) > 0.5 * float(want @ want))
    return agree / len(steps) if len(steps) else 0.0


def _fit(
    response: FloatArray,
    stimulus: FloatArray,
    step: npt.NDArray[np.intp],
    times: FloatArray,
    lag: float,
    degree: int,
) -> _Fit:
    """One slope for all channels and frames: response = slope * stimulus + drift + noise."""
    y = _detrend(response, times, degree)
    x = _detrend(stimulus, times, degree)
    sxx, syy, sxy = float((x * x).sum()), float((y * y).sum()), float((x * y).sum())
    steps = len(np.unique(step))
    if sxx <= 1e-12 or syy <= 1e-18:
        return _Fit(lag, 0.0, 0.0, 0.0, 0.0, len(y), steps)
    slope = sxy / sxx
    amplitude = abs(slope) * math.sqrt(sxx / x.size)
    snr = amplitude / max(_frame_noise(y - slope * x), 1e-6)
    agreement = _step_agreement(y, slope * x, step)
    return _Fit(lag, sxy / math.sqrt(sxx * syy), slope, snr, agreement, len(y), steps)


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
        fit = _fit(response[valid], chroma, step[valid], times[valid], float(lag), params.drift_degree)
        if best is None or fit.correlation > best.correlation:
            best = fit
    return best


def _slope(response: FloatArray, stimulus: FloatArray, times: FloatArray, degree: int) -> float:
    y = _detrend(response, times, degree)
    x = _detrend(stimulus, times, degree)
    sxx = float((x * x).sum())
    return float((x * y).sum()) / sxx if sxx > 1e-12 else 0.0


def _cell_series(
    samples: Sequence[LightSample], frames: int
) -> dict[int, tuple[npt.NDArray[np.intp], FloatArray, bool]]:
    """Per background cell seen in most frames: the positions of the frames that measured it, its
    colours, and whether it lay near the head in most of them."""
    found: dict[int, tuple[list[int], list[tuple[float, float, float]], list[bool]]] = {}
    for position, sample in enumerate(samples):
        near = set(sample.near)
        for index, r, g, b in sample.background:
            where, colours, close = found.setdefault(index, ([], [], []))
            where.append(position)
            colours.append((r, g, b))
            close.append(index in near)
    return {
        index: (
            np.array(where, dtype=np.intp),
            np.array(colours, dtype=np.float64),
            2 * sum(close) > len(close),
        )
        for index, (where, colours, close) in found.items()
        if len(where) >= 0.75 * frames
    }


@dataclass(frozen=True)
class _Background:
    """How much the background follows the screen, relative to the face (`_background_ratios`)."""

    cells: int
    ratio: float  # median over all cells
    near_cells: int
    near_following: float  # share of the cells close around the head that follow the light


def _background_ratios(
    samples: Sequence[LightSample],
    face: FloatArray,
    stimulus: FloatArray,
    times: FloatArray,
    face_slope: float,
    degree: int,
    limit: float,
) -> _Background:
    """How much the background follows the screen compared with the face, at the face's lag.

    Every background cell seen in most frames is fitted on its own (a cell keeps showing the same
    part of the room, so its colour changes only with the light). The ratio is the larger of two
    medians over cells of ratios to the face's slope: of the relative (log-chromaticity) slopes,
    which is 1 for a screen replay that scales the whole picture, and of the absolute slopes
    (relative slope times brightness), which is 1 for a glossy screen that adds the same light
    everywhere. A real
    background is far away: both stay near 0 (negative when the camera's white balance pushes
    against the face's colour cast).

    The median is robust to a few cells whose content changes (an edge that shakes in and out, a
    passer-by). It misses a screen smaller than the frame with the real room around it: there the
    camera's white balance pushes the room's cells against the colours (ratios of -1 to -3) while
    the screen's cells follow them (~1), and the two can balance. So the cells close around the
    head are also judged one by one: the share of them whose ratio exceeds `limit` (the screen's
    own margin around the face, where a replay shows its picture).
    """
    cells = _cell_series(samples, len(samples))
    if not cells or face_slope <= 0.0:
        return _Background(len(cells), math.inf, 0, 0.0)
    relative, absolute, close = [], [], []
    face_level = float(face.mean())
    for where, colours, is_near in cells.values():
        slope = _slope(_log_chroma(colours), stimulus[where], times[where], degree)
        relative.append(slope / face_slope)
        absolute.append(slope * float(colours.mean()) / (face_slope * face_level))
        close.append(is_near)
    near = np.array(close, dtype=bool)
    both = np.array([relative, absolute], dtype=np.float64)
    following = both.max(axis=0) > limit
    return _Background(
        cells=len(relative),
        ratio=float(np.median(both, axis=1).max()),
        near_cells=int(near.sum()),
        near_following=float(following[near].mean()) if near.any() else 0.0,
    )


def _usable(
    samples: Sequence[LightSample | None], captured_at_ms: Sequence[float | None]
) -> tuple[FloatArray, FloatArray, list[LightSample]]:
    """Capture times and face colours of the frames with a measurable face, and their samples."""
    times, faces, kept = [], [], []
    for sample, at in zip(samples, captured_at_ms, strict=True):
        if sample is None or at is None or min(sample.face) <= 0.0:
            continue
        times.append(float(at))
        faces.append(sample.face)
        kept.append(sample)
    return np.array(times, dtype=np.float64), np.array(faces, dtype=np.float64).reshape(-1, 3), kept


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


def _finite(value: float) -> float:
    return value if math.isfinite(value) else -1.0


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
    scores: dict[str, float] = {"frames": float(len(samples))}
    problem = _times_problem(captured_at_ms, len(samples))
    if problem is not None:
        return _fail(problem, scores)
    if len(steps) < 2:
        return _fail("the light sequence has fewer than two colours", scores)
    timeline = ScreenTimeline.of(steps)
    times, face, kept = _usable(samples, captured_at_ms)
    scores["face_frames"] = float(len(times))
    if len(times) < params.min_frames:
        return _fail(f"only {len(times)} frames with a measurable face during the light sequence", scores)
    fit = _best_fit(timeline, times, _log_chroma(face), params)
    if fit is None:
        return _fail("too few frames or colours fall within the light sequence", scores)
    shown, step = timeline.shown(times - fit.lag, params.exposure_ms)
    valid = step >= 0
    stimulus = shown[valid] - shown[valid].mean(axis=1, keepdims=True)
    background = _background_ratios(
        [s for s, v in zip(kept, valid, strict=True) if v],
        face[valid],
        stimulus,
        times[valid],
        fit.modulation,
        params.drift_degree,
        params.max_background_ratio,
    )
    scores.update(
        {
            "lag_ms": fit.lag,
            "correlation": fit.correlation,
            "modulation": fit.modulation,
            "snr": fit.snr,
            "step_agreement": fit.step_agreement,
            "fit_frames": float(fit.frames),
            "fit_steps": float(fit.steps),
            "background_cells": float(background.cells),
            "background_ratio": _finite(background.ratio),
            "near_cells": float(background.near_cells),
            "near_following": background.near_following,
        }
    )
    if fit.correlation < params.min_correlation or fit.step_agreement < params.min_step_agreement:
        return _fail("the face's colour does not follow the light sequence", scores)
    if fit.modulation < params.min_modulation or fit.snr < params.min_snr:
        return _fail("the face's response to the light is too weak", scores)
    if background.cells < params.min_background_cells:
        return _fail("too little background shows to tell a face from a screen", scores)
    if background.ratio > params.max_background_ratio:
        return _fail("the background follows the light as the face does", scores)
    if (
        background.near_cells >= params.min_background_cells
        and background.near_following > params.max_near_following
    ):
        return _fail("the background around the face follows the light as the face does", scores)
    return LightResult(passed=True, detail="the face follows the light sequence", scores=scores)
