"""Upload decoding: limits are enforced from the header, before any pixel is decoded."""

from __future__ import annotations

import struct
import zlib

import numpy as np
import pytest

from app.errors import DomainError, InvalidInput, PayloadTooLarge, UnsupportedMedia
from app.face.images import (
    ImageLimits,
    decode_image,
    encode_jpeg,
    encode_png,
    inspect_image,
)
from tests.face.portraits import grace_hopper


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_bomb(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims a huge grey image of zeros (compresses ~1000:1)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    compressor = zlib.compressobj(9)
    row = b"\x00" * (width + 1)
    raw = b"".join(compressor.compress(row) for _ in range(min(height, 64))) + compressor.flush()
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", raw)
        + _png_chunk(b"IEND", b"")
    )


def _code(error: pytest.ExceptionInfo[DomainError]) -> str:
    return error.value.code


def test_jpeg_decodes_to_rgb_of_the_header_size() -> None:
    photo = grace_hopper()
    image = decode_image(encode_jpeg(photo))
    assert image.shape == photo.shape
    assert image.dtype == np.uint8
    # Colour order survives the round trip (OpenCV works in BGR internally).
    assert np.abs(image.astype(int) - photo.astype(int)).mean() < 4


def test_png_decodes_losslessly() -> None:
    photo = grace_hopper()[:100, :120]
    assert np.array_equal(decode_image(encode_png(np.ascontiguousarray(photo))), photo)


def test_oversize_upload_is_refused_before_anything_else() -> None:
    data = encode_jpeg(grace_hopper())
    with pytest.raises(PayloadTooLarge) as error:
        inspect_image(data, ImageLimits(max_bytes=len(data) - 1))
    assert _code(error) == "frame_too_large"


def test_non_image_bytes_are_unsupported_media() -> None:
    with pytest.raises(UnsupportedMedia) as error:
        decode_image(b"GIF89a" + b"\x00" * 100)
    assert _code(error) == "unsupported_image_type"
    with pytest.raises(UnsupportedMedia):
        decode_image(b"")


def test_png_bomb_is_refused_from_its_header() -> None:
    bomb = png_bomb(30_000, 30_000)
    assert len(bomb) < 200_000
    with pytest.raises(PayloadTooLarge) as error:
        inspect_image(bomb)
    assert _code(error) == "image_too_large"


def test_jpeg_dimensions_are_read_from_the_frame_header() -> None:
    data = encode_jpeg(grace_hopper())
    header = inspect_image(data)
    assert (header.kind, header.width, header.height) == ("jpeg", 512, 600)
    with pytest.raises(PayloadTooLarge) as error:
        inspect_image(data, ImageLimits(max_pixels=512 * 600 - 1))
    assert _code(error) == "image_too_large"


@pytest.mark.parametrize("keep", [0.5, 0.9, 0.999])
def test_truncated_jpeg_is_corrupt(keep: float) -> None:
    data = encode_jpeg(grace_hopper())
    with pytest.raises(InvalidInput) as error:
        decode_image(data[: int(len(data) * keep)])
    assert _code(error) == "corrupt_image"


def test_truncated_png_is_corrupt() -> None:
    data = encode_png(grace_hopper())
    with pytest.raises(InvalidInput) as error:
        decode_image(data[: len(data) // 2])
    assert _code(error) == "corrupt_image"


def test_jpeg_with_garbage_entropy_data_is_corrupt() -> None:
    data = encode_jpeg(grace_hopper())
    start = data.index(b"\xff\xda")  # start of scan: headers intact, pixels garbage
    garbage = data[: start + 20] + bytes(range(256)) * 4 + b"\xff\xd9"
    with pytest.raises(InvalidInput) as error:
        decode_image(garbage)
    assert _code(error) == "corrupt_image"


def test_header_only_jpeg_is_corrupt() -> None:
    with pytest.raises(InvalidInput) as error:
        decode_image(b"\xff\xd8\xff\xd9")
    assert _code(error) == "corrupt_image"


def test_tiny_image_is_refused() -> None:
    with pytest.raises(InvalidInput) as error:
        decode_image(encode_png(np.zeros((8, 8, 3), dtype=np.uint8)))
    assert _code(error) == "image_too_small"
