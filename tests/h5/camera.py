"""Fake cameras for Chromium: YUV4MPEG2 files made from fixture frames.

Chromium's `--use-file-for-fake-video-capture=FILE.y4m` plays the file as the camera, at the
frame rate in its header, looping at the end. The format is a one-line header
(`YUV4MPEG2 W400 H480 F6:1 Ip A1:1 C420jpeg`) and then, per frame, `FRAME` and the planar I420
picture (Y at full size, then U and V at half size each way).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from app.qa.fixtures import frames

Image = npt.NDArray[np.uint8]


def write_y4m(path: Path, pictures: Sequence[Image], fps: int) -> Path:
    """Write RGB pictures of one size (even width and height) as a y4m file played at `fps`."""
    height, width = pictures[0].shape[:2]
    if width % 2 or height % 2:
        raise ValueError(f"I420 needs even sides, not {width}x{height}")
    with path.open("wb") as out:
        out.write(f"YUV4MPEG2 W{width} H{height} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
        for picture in pictures:
            if picture.shape[:2] != (height, width):
                raise ValueError("every picture must have the size of the first")
            out.write(b"FRAME\n")
            out.write(cv2.cvtColor(picture, cv2.COLOR_RGB2YUV_I420).tobytes())
    return path


def fixture_camera(path: Path, sets: Sequence[str], fps: int) -> Path:
    """A camera that plays fixture frame sets one after the other (and again, looping)."""
    return write_y4m(path, [picture for name in sets for picture in frames(name)], fps)


def still_camera(path: Path, set_name: str, fps: int) -> Path:
    """A camera that shows one still picture: the first frame of a fixture set, over and over."""
    return write_y4m(path, [frames(set_name)[0]], fps)
