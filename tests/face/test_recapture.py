"""Recapture cues: the per-frame figures on physical toy scenes, and the sequence decision.

The attack simulations here are deliberately minimal and written from the physics (a print
reflects at most its paper white and at least its ink black plus surface scatter; a halftone or
pixel grid is periodic), not copied from fixtures/make_fixtures.py or bench/attacks.py; the
benchmark (`uv run python bench/recapture.py`) measures the cues on fuller simulations.
"""

from __future__ import annotations

from functools import cache

import cv2
import numpy as np
import numpy.typing as npt
import pytest

from app.face import quality, worker
from app.face.engine import FaceBox, FrameAnalysis
from app.face.evidence import DEFAULT_PARAMS, Evidence
from app.face.liveness import build_evidence
from app.face.recapture import check_recapture
from app.qa import fixtures

Image = npt.NDArray[np.uint8]
Linear = npt.NDArray[np.float64]
LIMIT = DEFAULT_PARAMS.max_black_level


def to_linear(image: Image) -> Linear:
    x = image.astype(np.float64) / 255.0
    return np.where(x <= 0.04045, x / 12.92, ((x + 0.055) / 1.055) ** 2.4)


def to_image(linear: Linear) -> Image:
    x = np.clip(linear, 0.0, 1.0)
    encoded = np.where(x <= 0.0031308, 12.92 * x, 1.055 * x ** (1 / 2.4) - 0.055)
    return np.clip(np.rint(encoded * 255.0), 0, 255).astype(np.uint8)


def jpeg(image: Image, quality_: int) -> Image:
    ok, data = cv2.imencode(".jpg", image[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, quality_])
    assert ok
    decoded = cv2.imdecode(data, cv2.IMREAD_COLOR)
    assert decoded is not None
    return np.ascontiguousarray(decoded[:, :, ::-1], dtype=np.uint8)


def printed(image: Image, *, density: float = 1.6, scatter: float = 0.02,
            exposure: float = 1.0) -> Image:
    """The image printed and filmed: reflectance between ink black (10^-density of the paper)
    and paper white, plus white light scattered by the surface, then a camera exposing it."""
    reflectance = 10.0**-density + (1.0 - 10.0**-density) * to_linear(image)
    return to_image(exposure * (reflectance + scatter) / (1.0 + scatter))


def toy_head(size: int = 200) -> tuple[Image, FaceBox]:
    """A skin-coloured oval with shading, dark hair above it, dark eyes and nostrils."""
    ys, xs = np.mgrid[:size, :size] / size
    linear = np.full((size, size, 3), 0.02)  # a dim room
    head = ((xs - 0.5) / 0.3) ** 2 + ((ys - 0.55) / 0.38) ** 2 < 1
    shade = 0.55 + 0.45 * np.clip(1.2 - 2.0 * np.hypot(xs - 0.45, ys - 0.45), 0, 1)
    linear[head] = (np.array([0.55, 0.36, 0.27]) * shade[..., None])[head]
    # Dark hair reflects 2-4 %, and less between the strands, which shade one another.
    hair = head & (ys < 0.3)
    strands = 0.5 + 0.5 * np.sin(2 * np.pi * xs * size / 5.0)
    linear[hair] = (0.03 * strands[..., None] ** 3)[hair]
    for cx in (0.38, 0.62):  # pupils and irises
        linear[np.hypot(xs - cx, ys - 0.48) < 0.035] = 0.004
    for cx in (0.46, 0.54):  # nostrils
        linear[np.hypot(xs - cx, ys - 0.66) < 0.02] = 0.006
    box = FaceBox(round(0.25 * size), round(0.3 * size), round(0.75 * size), round(0.85 * size))
    return to_image(linear), box


# --- black level: per frame, no models -------------------------------------------------------

def test_a_live_head_has_a_low_black_level() -> None:
    image, box = toy_head()
    assert quality.black_level(image, box) < 0.01


def test_a_printed_head_lifts_the_black_level_past_the_limit() -> None:
    image, box = toy_head()
    assert quality.black_level(printed(image), box) > LIMIT
    # Even a dense ink (optical density 2) on a surface scattering 3 % of the light.
    assert quality.black_level(printed(image, density=2.0, scatter=0.03), box) > LIMIT


@pytest.mark.parametrize("gain", [0.35, 1.0, 1.6])
def test_exposure_does_not_change_the_black_level(gain: float) -> None:
    """Camera gain scales dark and bright alike: a dim live face stays low, a bright print high."""
    image, box = toy_head()
    live = quality.black_level(to_image(gain * to_linear(image)), box)
    assert live < 0.015
    assert quality.black_level(printed(image, exposure=min(gain, 1.0)), box) > LIMIT


def test_black_level_survives_jpeg_noise_and_scaling() -> None:
    image, box = toy_head(240)
    rng = np.random.default_rng(0)
    noisy = np.clip(image + rng.normal(0, 4, image.shape), 0, 255).astype(np.uint8)
    small = cv2.resize(jpeg(noisy, 30), (120, 120), interpolation=cv2.INTER_AREA)
    half = FaceBox(box.left // 2, box.top // 2, box.right // 2, box.bottom // 2)
    assert quality.black_level(np.ascontiguousarray(small), half) < 0.02


def test_black_level_of_an_empty_region_is_zero() -> None:
    image, _box = toy_head()
    assert quality.black_level(image, FaceBox(500, 500, 600, 600)) == 0.0


# --- moiré: per frame, no models -------------------------------------------------------------

def test_a_halftone_raises_moire_and_a_smooth_face_does_not() -> None:
    image, box = toy_head(256)
    grey = np.asarray(cv2.cvtColor(image, cv2.COLOR_RGB2GRAY), dtype=np.uint8)
    rng = np.random.default_rng(1)
    live = np.clip(grey + rng.normal(0, 2, grey.shape), 0, 255).astype(np.uint8)
    # Dots 3.3 pixels apart on a screen rolled 20 degrees: a coarse AM halftone. (At 2.7 pixels
    # one harmonic falls on the masked JPEG block-grid frequencies and the cue misses it.)
    ys, xs = np.mgrid[: grey.shape[0], : grey.shape[1]].astype(np.float64)
    angle = np.radians(20.0)
    u = (xs * np.cos(angle) + ys * np.sin(angle)) / 3.3
    v = (-xs * np.sin(angle) + ys * np.cos(angle)) / 3.3
    dots = 0.5 + 0.25 * (np.cos(2 * np.pi * u) + np.cos(2 * np.pi * v))
    halftone = np.clip(grey * (0.7 + 0.3 * dots), 0, 255).astype(np.uint8)
    face_live = quality.face_region(live, box)
    face_print = quality.face_region(halftone, box)
    assert quality.moire(face_live) < DEFAULT_PARAMS.max_moire
    assert quality.moire(face_print) > DEFAULT_PARAMS.max_moire


# --- the sequence decision -------------------------------------------------------------------

def analysis(*, moire: float = 0.6, black_level: float = 0.01, glare: float = 0.0
             ) -> FrameAnalysis:
    return FrameAnalysis(width=320, height=240, faces=1, box=FaceBox(100, 80, 260, 240),
                         moire=moire, glare=glare, black_level=black_level, chip=b"\x00")


def evidence(frames: list[FrameAnalysis]) -> Evidence:
    return build_evidence(["blink"], frames, DEFAULT_PARAMS)


def test_a_raised_black_level_across_the_sequence_fails() -> None:
    result = check_recapture(evidence([analysis(black_level=0.08) for _ in range(8)]))
    assert result.failure is not None
    assert result.failure.reason == "liveness_failed"
    assert "print" in result.failure.detail
    assert result.scores["black_level"] == pytest.approx(0.08)


def test_one_odd_frame_does_not_decide() -> None:
    frames = [analysis() for _ in range(7)] + [analysis(black_level=0.2, moire=1.5)]
    result = check_recapture(evidence(frames))
    assert result.failure is None
    assert set(result.scores) == {"moire", "glare", "black_level"}


def test_moire_still_fails_first() -> None:
    result = check_recapture(evidence([analysis(moire=1.3) for _ in range(8)]))
    assert result.failure is not None
    assert "interference" in result.failure.detail


# --- on real fixture frames through the engine -----------------------------------------------

@cache
def analysed(set_name: str, quality_: int, scale: float) -> tuple[FrameAnalysis, ...]:
    frames = fixtures.frames(set_name)[::2]
    out = []
    for frame in frames:
        size = (round(frame.shape[1] * scale), round(frame.shape[0] * scale))
        resized = cv2.resize(frame, size, interpolation=cv2.INTER_AREA if scale < 1
                             else cv2.INTER_CUBIC)
        out.append(worker.analyse_image(jpeg(np.ascontiguousarray(resized), quality_)))
    return tuple(out)


@pytest.mark.face
@pytest.mark.parametrize(("quality_", "scale"), [(30, 1.0), (30, 0.7), (95, 1.4)])
@pytest.mark.parametrize("set_name", ["genuine/astronaut/blink", "genuine/hopper/turn_left"])
def test_genuine_fixture_frames_reencoded_pass(set_name: str, quality_: int, scale: float
                                               ) -> None:
    result = check_recapture(evidence(list(analysed(set_name, quality_, scale))))
    assert result.failure is None, result.scores
    assert result.scores["black_level"] < LIMIT / 2


@pytest.mark.face
def test_genuine_fixture_frames_printed_fail() -> None:
    frames = [printed(frame, density=1.7, scatter=0.02)
              for frame in fixtures.frames("genuine/hopper/blink")[::2]]
    result = check_recapture(evidence([worker.analyse_image(jpeg(f, 80)) for f in frames]))
    assert result.failure is not None, result.scores
    assert result.scores["black_level"] > LIMIT


@pytest.mark.face
@pytest.mark.parametrize("set_name", ["attacks/screen/blink", "attacks/print/turn_left"])
def test_fixture_replays_still_fail(set_name: str) -> None:
    result = check_recapture(evidence(list(analysed(set_name, 85, 1.0))))
    assert result.failure is not None, result.scores
