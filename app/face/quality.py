"""Capture quality and recapture cues measured on the face region of one frame. Pure functions.

- sharpness: variance of the Laplacian of the face scaled to a fixed width, so that it does not
  depend on the camera resolution;
- brightness and the share of very dark pixels (exposure);
- glare: the share of saturated pixels (a reflection on a screen or a glossy print);
- moiré: how much the strongest peak of the face's high-frequency spectrum stands out from its
  neighbourhood. A camera filming a screen samples the screen's pixel grid (a printed photo: its
  halftone dots) and folds it into periodic interference, which shows as isolated peaks; skin,
  hair and sensor noise have a spectrum that is smooth from one frequency bin to the next. JPEG's
  8x8 block grid also makes peaks, at multiples of 1/8 cycle per pixel, which are masked.
- black level: how far the darkest tones around the face stay above black, in linear light and
  relative to the brightest. A print only reflects light: its blackest ink still returns 1-5 %
  of what the paper does (optical density 1.3-2), and its surface scatters another 0.5-4 % of
  the room light back without passing it through the ink, so nothing on the sheet is darker than
  some 2-8 % of its white. A live head (pupils, nostrils, hair, the shadow under the chin) has
  tones at 0-2 %, and a camera keeps them there whatever the exposure, because gain scales dark
  and bright alike. Not covered: screens (emissive, they reach black), prints on dense glossy
  paper seen without scatter (near 2 %), and a light-haired face lit flat against a light wall,
  whose few dark pixels (pupils, nostrils) may not fill the percentile.
"""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

from app.face.engine import FaceBox

GreyImage = npt.NDArray[np.uint8]

FACE_WIDTH = 128  # sharpness is measured with the face scaled to this width
THUMB_SIZE = 32
_MOIRE_SIZE = 128


def face_region(grey: GreyImage, box: FaceBox) -> GreyImage:
    """The face box clipped to the image."""
    height, width = grey.shape[:2]
    top, bottom = max(box.top, 0), min(box.bottom, height)
    left, right = max(box.left, 0), min(box.right, width)
    return grey[top:bottom, left:right]


def sharpness(face: GreyImage) -> float:
    if face.size == 0:
        return 0.0
    scale = FACE_WIDTH / face.shape[1]
    size = (FACE_WIDTH, max(1, round(face.shape[0] * scale)))
    resized = cv2.resize(face, size, interpolation=cv2.INTER_AREA)
    return float(cv2.Laplacian(resized, cv2.CV_64F).var())


def exposure(face: GreyImage) -> tuple[float, float, float]:
    """(mean brightness 0-255, share of pixels below 30, share of pixels above 250)."""
    if face.size == 0:
        return 0.0, 1.0, 0.0
    total = float(face.size)
    return (
        float(face.mean()),
        float(np.count_nonzero(face < 30)) / total,
        float(np.count_nonzero(face > 250)) / total,
    )


def thumbnail(face: GreyImage) -> bytes:
    """A 32x32 grey thumbnail of the face (for the frames-too-identical cue)."""
    if face.size == 0:
        return b""
    small = cv2.resize(face, (THUMB_SIZE, THUMB_SIZE), interpolation=cv2.INTER_AREA)
    return bytes(small.tobytes())


def _block_grid_mask(size: int) -> npt.NDArray[np.bool_]:
    """True at the spectrum bins of the JPEG 8x8 grid (and their direct neighbours)."""
    freqs = np.fft.fftshift(np.fft.fftfreq(size))  # cycles per pixel
    near = np.zeros(size, dtype=bool)
    for harmonic in range(-4, 5):
        near |= np.abs(freqs - harmonic / 8.0) <= 1.5 / size
    return near[:, None] | near[None, :]


_GRID_MASK = _block_grid_mask(_MOIRE_SIZE)
_FREQS = np.fft.fftshift(np.fft.fftfreq(_MOIRE_SIZE))
_RADIUS = np.hypot(_FREQS[:, None], _FREQS[None, :])
_BAND = (_RADIUS >= 0.12) & (_RADIUS <= 0.5) & ~_GRID_MASK
_WINDOW = np.outer(np.hanning(_MOIRE_SIZE), np.hanning(_MOIRE_SIZE))


_NEIGHBOURHOOD = 9  # frequency bins (about 0.07 cycle per pixel) a peak is compared with


def moire(face: GreyImage) -> float:
    """Largest excess (log10) of a high-frequency spectrum bin over its neighbourhood's mean.

    About 0.5 to 0.65 for a face filmed directly (the largest of some 10,000 bins of a smooth
    spectrum), 0.75 to 1.5 for a pixel grid or halftone that interferes with the camera's own
    pixel grid; a grid finer than the lens resolves leaves no peak at all.
    Measured on the central 128x128 pixels of the face at native resolution (resizing would
    destroy the interference pattern); a smaller face is measured as it is, zero-padded.
    """
    if face.size == 0:
        return 0.0
    height, width = face.shape[:2]
    size = _MOIRE_SIZE
    top, left = max(0, (height - size) // 2), max(0, (width - size) // 2)
    patch = np.zeros((size, size), dtype=np.float64)
    crop = face[top : top + size, left : left + size].astype(np.float64)
    patch[: crop.shape[0], : crop.shape[1]] = crop - crop.mean()
    spectrum = np.abs(np.fft.fftshift(np.fft.fft2(patch * _WINDOW)))
    if float(spectrum.max()) <= 0:
        return 0.0
    level = np.log10(spectrum + 1e-9 * float(spectrum.max())).astype(np.float32)
    local = cv2.blur(level, (_NEIGHBOURHOOD, _NEIGHBOURHOOD), borderType=cv2.BORDER_REFLECT)
    return float((level - local)[_BAND].max())


# sRGB-encoded grey level -> linear light (the inverse of the sRGB transfer curve).
_SRGB = np.arange(256, dtype=np.float64) / 255.0
_LINEAR = np.where(_SRGB <= 0.04045, _SRGB / 12.92, ((_SRGB + 0.055) / 1.055) ** 2.4)
HEAD_GROWTH = 1.5  # the face box grown to take in hair, brows and the shadows around the face
_BLACK_SAMPLE_SIDE = 128  # the head region is subsampled to about this many pixels a side
_DARK_PERCENTILE = 2.0
_WHITE_PERCENTILE = 98.0


def head_region(image: npt.NDArray[np.uint8], box: FaceBox, growth: float = HEAD_GROWTH
                ) -> npt.NDArray[np.uint8]:
    """The face box grown by `growth` about its centre, clipped to the image."""
    height, width = image.shape[:2]
    centre_x, centre_y = (box.left + box.right) / 2.0, (box.top + box.bottom) / 2.0
    half_w, half_h = box.width * growth / 2.0, box.height * growth / 2.0
    top, bottom = max(round(centre_y - half_h), 0), min(round(centre_y + half_h), height)
    left, right = max(round(centre_x - half_w), 0), min(round(centre_x + half_w), width)
    return image[top:bottom, left:right]


def _percentile_level(values: npt.NDArray[np.uint8], percentile: float) -> int:
    """The grey level (0-255) below which `percentile` % of the values lie (a histogram lookup:
    much cheaper than sorting)."""
    counts = cv2.calcHist([np.ascontiguousarray(values)], [0], None, [256], [0, 256]).ravel()
    return int(np.searchsorted(np.cumsum(counts), values.size * percentile / 100.0))


def black_level(rgb: npt.NDArray[np.uint8], box: FaceBox) -> float:
    """Darkest tones of the head over its brightest, in linear light: 0.00-0.02 for a live face
    (hair, pupils, nostrils, the shadow under the chin), 0.02-0.15 for a face printed on paper
    and filmed under room light (bench/recapture.py).

    The dark end is the 2nd percentile of the per-pixel minimum of R, G and B (a dark pixel is
    dark in every channel: the light a print's surface scatters is white and lifts all three,
    while the coloured shadows on skin keep one channel low); the bright end is the 98th
    percentile of the grey level. Percentiles rather than extremes, so that a few noisy or
    clipped pixels do not decide. The region is taken with a stride (not averaged down, which
    would lift small dark features such as pupils), which keeps the cost well under 1 ms.
    """
    region = head_region(rgb, box)
    if region.size == 0:
        return 0.0
    step = max(1, max(region.shape[:2]) // _BLACK_SAMPLE_SIDE)
    sample = np.ascontiguousarray(region[::step, ::step])
    darkest = np.minimum(np.minimum(sample[..., 0], sample[..., 1]), sample[..., 2])
    dark = _percentile_level(darkest, _DARK_PERCENTILE)
    grey = np.asarray(cv2.cvtColor(sample, cv2.COLOR_RGB2GRAY), dtype=np.uint8)
    white = _percentile_level(grey, _WHITE_PERCENTILE)
    if white == 0:
        return 0.0
    return float(_LINEAR[dark] / _LINEAR[white])
