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

    About 0.5 to 0.7 for a face filmed directly (the largest of some 10,000 bins of a smooth
    spectrum), 1.2 and above for a pixel grid or halftone filmed off a screen or a print.
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
