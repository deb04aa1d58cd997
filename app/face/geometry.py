"""Face geometry from the 68 iBUG landmarks: eye and mouth opening, head pose. Pure functions.

Landmark indices (0-based): jaw 0-16, nose 27-35 (tip 30), eyes 36-41 (the eye on the image
left) and 42-47, outer lips 48-59, inner lips 60-67.
"""

from __future__ import annotations

import math

import cv2
import numpy as np
import numpy.typing as npt

Points = npt.NDArray[np.float64]  # (68, 2) image coordinates

# A generic head (millimetre-like units, y up, the nose pointing along +z) for solvePnP: nose tip,
# chin, outer eye corners, mouth corners.
_MODEL_POINTS = np.array(
    [
        (0.0, 0.0, 0.0),
        (0.0, -330.0, -65.0),
        (-225.0, 170.0, -135.0),
        (225.0, 170.0, -135.0),
        (-150.0, -150.0, -125.0),
        (150.0, -150.0, -125.0),
    ],
    dtype=np.float64,
)
_MODEL_LANDMARKS = (30, 8, 36, 45, 48, 54)


def _dist(points: Points, a: int, b: int) -> float:
    return float(np.linalg.norm(points[a] - points[b]))


def eye_aspect_ratio(points: Points) -> float:
    """Mean eye aspect ratio of both eyes (Soukupová & Čech 2016): ~0.3 open, ~0.1 closed."""
    ratios = []
    for start in (36, 42):
        p1, p2, p3, p4, p5, p6 = range(start, start + 6)
        width = _dist(points, p1, p4)
        if width <= 0:
            return 0.0
        ratios.append((_dist(points, p2, p6) + _dist(points, p3, p5)) / (2.0 * width))
    return float(np.mean(ratios))


def mouth_aspect_ratio(points: Points) -> float:
    """Inner-lip opening over inner mouth width: ~0 closed, > 0.4 clearly open."""
    width = _dist(points, 60, 64)
    if width <= 0:
        return 0.0
    opening = (_dist(points, 61, 67) + _dist(points, 62, 66) + _dist(points, 63, 65)) / 3.0
    return opening / width


def interocular_distance(points: Points) -> float:
    """Distance between the centres of the two eyes in pixels: the face's size in the image."""
    return float(np.linalg.norm(points[36:42].mean(axis=0) - points[42:48].mean(axis=0)))


def head_pose(points: Points, width: int, height: int) -> tuple[float, float]:
    """(yaw, pitch) in degrees from a generic 3D head fitted with solvePnP.

    Yaw is positive when the face points to the right of the image, which in a frame as captured
    by a camera facing the person (not mirrored) is the person turning towards their own left.
    Pitch is positive when the face points down.
    """
    image_points = np.array([points[i] for i in _MODEL_LANDMARKS], dtype=np.float64)
    focal = float(max(width, height))
    camera = np.array(
        [[focal, 0.0, width / 2.0], [0.0, focal, height / 2.0], [0.0, 0.0, 1.0]], dtype=np.float64
    )
    # SQPnP is a global solver: the iterative one sometimes lands on the mirrored pose.
    ok, rvec, _tvec = cv2.solvePnP(
        _MODEL_POINTS, image_points, camera, np.zeros(4), flags=cv2.SOLVEPNP_SQPNP
    )
    nose = nose_offset(points)
    if not ok:
        return math.degrees(math.asin(max(-1.0, min(1.0, nose)))), 0.0
    rotation, _ = cv2.Rodrigues(rvec)
    # Where the model's nose axis points in camera coordinates (x right, y down, z away).
    forward = rotation @ np.array([0.0, 0.0, 1.0])
    yaw = math.degrees(math.atan2(float(forward[0]), float(-forward[2])))
    pitch = math.degrees(math.atan2(float(forward[1]), float(-forward[2])))
    if abs(nose) > 0.15 and (yaw > 0) != (nose > 0):
        # A fit that contradicts where the nose plainly is: trust the simple estimate.
        yaw = math.degrees(math.asin(max(-1.0, min(1.0, nose))))
    return yaw, pitch


def nose_offset(points: Points) -> float:
    """Nose tip between the jaw ends: -1 at the image-left end, 0 centred, +1 image-right."""
    left, right = points[0, 0], points[16, 0]
    if right <= left:
        return 0.0
    return float((2.0 * points[30, 0] - left - right) / (right - left))


def project_model(yaw: float, pitch: float, width: int, height: int) -> Points:
    """Image points of the generic head turned by (yaw, pitch) degrees, for tests of `head_pose`.

    Returns a (68, 2) array with only the six model landmarks filled in.
    """
    yaw_r, pitch_r = math.radians(yaw), math.radians(pitch)
    # Flip y and z (model y up and facing the camera), then turn about the vertical and
    # horizontal axes of the camera.
    flip = np.diag([1.0, -1.0, -1.0])
    turn = np.array(
        [
            [math.cos(yaw_r), 0.0, -math.sin(yaw_r)],
            [0.0, 1.0, 0.0],
            [math.sin(yaw_r), 0.0, math.cos(yaw_r)],
        ]
    )
    nod = np.array(
        [
            [1.0, 0.0, 0.0],
            [0.0, math.cos(pitch_r), -math.sin(pitch_r)],
            [0.0, math.sin(pitch_r), math.cos(pitch_r)],
        ]
    )
    rotation = nod @ turn @ flip
    rvec, _ = cv2.Rodrigues(rotation)
    tvec = np.array([0.0, 0.0, 2000.0])
    focal = float(max(width, height))
    camera = np.array(
        [[focal, 0.0, width / 2.0], [0.0, focal, height / 2.0], [0.0, 0.0, 1.0]], dtype=np.float64
    )
    projected, _ = cv2.projectPoints(_MODEL_POINTS, rvec, tvec, camera, np.zeros(4))
    points = np.zeros((68, 2), dtype=np.float64)
    for index, point in zip(_MODEL_LANDMARKS, projected.reshape(-1, 2), strict=True):
        points[index] = point
    return points
