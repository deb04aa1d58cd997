"""Decoding of uploaded images (camera frames, card photos) with limits checked before decoding.

Only JPEG and PNG are accepted. The byte size, the type (magic bytes), the dimensions (read from
the PNG IHDR chunk or the JPEG SOF segment) and the end marker (JPEG EOI, PNG IEND) are checked on
the raw bytes, which costs microseconds and may run on the event loop (`inspect_image`). Only then
does OpenCV decode the pixels (`decode_image`), which is CPU work for a face worker.

Pillow is not used on purpose: importing face_recognition sets Pillow's process-wide
`LOAD_TRUNCATED_IMAGES = True`, which would let truncated uploads through silently. OpenCV's
libjpeg also only warns about corrupt entropy data (and fills the gap with grey), so a JPEG is
first run through libjpeg-turbo in strict mode (simplejpeg, at 1/8 scale: every coefficient is
still read, but little is rendered), where such warnings are errors.
"""

from __future__ import annotations

import struct
from typing import Literal

import cv2
import msgspec
import numpy as np
import numpy.typing as npt
import simplejpeg

from app.errors import InvalidInput, PayloadTooLarge, UnsupportedMedia

ImageType = Literal["jpeg", "png"]
RGBImage = npt.NDArray[np.uint8]

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_IEND = b"\x00\x00\x00\x00IEND\xaeB`\x82"
_JPEG_SOI = b"\xff\xd8\xff"
_JPEG_EOI = b"\xff\xd9"
# SOF0..SOF15 carry the frame size; C4 (DHT), C8 (JPG extension) and CC (DAC) share the range.
_JPEG_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
# Markers without a length field.
_JPEG_STANDALONE = frozenset({0x01, *range(0xD0, 0xD8)})


class ImageLimits(msgspec.Struct, frozen=True, kw_only=True):
    """What an upload may be: bytes on the wire, pixels once decoded, and the longest side."""

    max_bytes: int = 2 * 1024 * 1024
    max_pixels: int = 12_000_000
    max_side: int = 8192
    min_side: int = 32


DEFAULT_LIMITS = ImageLimits()


class ImageHeader(msgspec.Struct, frozen=True):
    """What the header says about an image, read without decoding it."""

    kind: ImageType
    width: int
    height: int


def _corrupt(detail: str) -> InvalidInput:
    return InvalidInput(detail, code="corrupt_image")


def _png_header(data: bytes) -> ImageHeader:
    # The first chunk must be IHDR: length (13), type, width, height, ...
    if len(data) < 33 or data[12:16] != b"IHDR":
        raise _corrupt("PNG without an IHDR header")
    width, height = struct.unpack(">II", data[16:24])
    if not data.endswith(_PNG_IEND):
        raise _corrupt("PNG is truncated (no IEND chunk at the end)")
    return ImageHeader("png", width, height)


def _jpeg_header(data: bytes) -> ImageHeader:
    size: tuple[int, int] | None = None
    pos = 2
    end = len(data)
    while pos + 4 <= end:
        if data[pos] != 0xFF:
            raise _corrupt("JPEG segment does not start with a marker")
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in _JPEG_STANDALONE:
            pos += 2
            continue
        if marker in (0xD9, 0xDA):  # EOI, or SOS: entropy-coded data follows
            break
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        if length < 2:
            raise _corrupt("JPEG segment with an impossible length")
        if marker in _JPEG_SOF:
            if pos + 9 > end:
                break
            height, width = struct.unpack(">HH", data[pos + 5 : pos + 9])
            size = (width, height)
            break
        pos += 2 + length
    if size is None:
        raise _corrupt("JPEG without a frame header (SOF)")
    # Some encoders pad after EOI with zero bytes; anything else after the last EOI is truncation.
    if not data.rstrip(b"\x00").endswith(_JPEG_EOI):
        raise _corrupt("JPEG is truncated (no end-of-image marker)")
    return ImageHeader("jpeg", size[0], size[1])


def inspect_image(data: bytes, limits: ImageLimits = DEFAULT_LIMITS) -> ImageHeader:
    """Check size, type, dimensions and completeness from the raw bytes, without decoding.

    Raises `PayloadTooLarge` (`frame_too_large`, `image_too_large`), `UnsupportedMedia`
    (`unsupported_image_type`) or `InvalidInput` (`corrupt_image`).
    """
    if len(data) > limits.max_bytes:
        raise PayloadTooLarge(
            f"image is {len(data)} bytes; the limit is {limits.max_bytes}",
            code="frame_too_large",
            limit=limits.max_bytes,
        )
    if data.startswith(_PNG_SIGNATURE):
        header = _png_header(data)
    elif data.startswith(_JPEG_SOI):
        header = _jpeg_header(data)
    else:
        raise UnsupportedMedia("only JPEG and PNG images are accepted", code="unsupported_image_type")
    if header.width == 0 or header.height == 0:
        raise _corrupt("image header has a zero dimension")
    if (
        header.width * header.height > limits.max_pixels
        or max(header.width, header.height) > limits.max_side
    ):
        raise PayloadTooLarge(
            f"image is {header.width}x{header.height}; the limit is {limits.max_pixels} pixels "
            f"and {limits.max_side} on the longest side",
            code="image_too_large",
            limit=limits.max_pixels,
        )
    if min(header.width, header.height) < limits.min_side:
        raise InvalidInput(
            f"image is {header.width}x{header.height}; each side must be at least "
            f"{limits.min_side} pixels",
            code="image_too_small",
        )
    return header


def decode_image(data: bytes, limits: ImageLimits = DEFAULT_LIMITS) -> RGBImage:
    """Decode a JPEG or PNG upload to an RGB uint8 array (height, width, 3), limits checked first.

    EXIF orientation is applied (phones store portrait selfies rotated). Raises the errors of
    `inspect_image`, and `InvalidInput` (`corrupt_image`) when the pixels cannot be decoded.
    """
    header = inspect_image(data, limits)
    if header.kind == "jpeg":
        try:
            simplejpeg.decode_jpeg(data, colorspace="GRAY", min_factor=8, strict=True)
        except ValueError as exc:
            raise _corrupt("JPEG data is corrupt or truncated") from exc
    buffer = np.frombuffer(data, dtype=np.uint8)
    try:
        bgr = cv2.imdecode(buffer, cv2.IMREAD_COLOR)
    except cv2.error as exc:
        raise _corrupt("image data cannot be decoded") from exc
    if bgr is None or bgr.ndim != 3 or bgr.dtype != np.uint8:
        raise _corrupt("image data cannot be decoded")
    height, width = bgr.shape[:2]
    if {height, width} != {header.height, header.width}:
        raise _corrupt("decoded size differs from the header")
    return np.asarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), dtype=np.uint8)


def encode_jpeg(image: RGBImage, quality: int = 92) -> bytes:
    """JPEG bytes of an RGB image (for tests, fixtures and the benchmark)."""
    ok, buffer = cv2.imencode(
        ".jpg", cv2.cvtColor(image, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality]
    )
    if not ok:
        raise ValueError("JPEG encoding failed")
    return bytes(buffer.tobytes())


def encode_png(image: RGBImage) -> bytes:
    """PNG bytes of an RGB image."""
    ok, buffer = cv2.imencode(".png", cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    if not ok:
        raise ValueError("PNG encoding failed")
    return bytes(buffer.tobytes())
