"""Public-domain portraits shipped inside PyPI packages, loaded through one helper.

- astronaut: Eileen Collins, NASA (scikit-image `data.astronaut()`), public domain;
- grace_hopper: Grace Hopper, US Navy (matplotlib sample data), public domain.
"""

from __future__ import annotations

from functools import cache

import cv2
import numpy as np
from matplotlib import cbook
from skimage import data

from app.face.images import RGBImage


@cache
def astronaut() -> RGBImage:
    return np.ascontiguousarray(data.astronaut(), dtype=np.uint8)


@cache
def grace_hopper() -> RGBImage:
    path = cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    assert bgr is not None
    return np.ascontiguousarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), dtype=np.uint8)


def blank(width: int = 320, height: int = 240, value: int = 128) -> RGBImage:
    return np.full((height, width, 3), value, dtype=np.uint8)


def side_by_side(left: RGBImage, right: RGBImage) -> RGBImage:
    """Two portraits in one frame (for the multiple-faces case)."""
    height = min(left.shape[0], right.shape[0])
    return np.ascontiguousarray(np.hstack([left[:height], right[:height]]), dtype=np.uint8)
