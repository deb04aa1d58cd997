"""Head pose and landmark ratios on known geometry."""

from __future__ import annotations

import numpy as np
import pytest

from app.face.geometry import eye_aspect_ratio, head_pose, mouth_aspect_ratio, project_model


@pytest.mark.parametrize(("yaw", "pitch"), [(0.0, 0.0), (25.0, 0.0), (-30.0, 5.0), (15.0, -10.0)])
def test_head_pose_recovers_the_turn(yaw: float, pitch: float) -> None:
    points = project_model(yaw, pitch, 640, 480)
    got_yaw, got_pitch = head_pose(points, 640, 480)
    assert got_yaw == pytest.approx(yaw, abs=1.5)
    assert got_pitch == pytest.approx(pitch, abs=1.5)


def test_positive_yaw_moves_the_nose_to_the_image_right() -> None:
    points = project_model(25.0, 0.0, 640, 480)
    eyes_mid = (points[36, 0] + points[45, 0]) / 2
    assert points[30, 0] > eyes_mid


def _eye(points: np.ndarray, start: int, x: float, height: float) -> None:
    # p1 left corner, p2 p3 upper lid, p4 right corner, p5 p6 lower lid; width 30.
    points[start : start + 6] = [
        (x, 100),
        (x + 10, 100 - height),
        (x + 20, 100 - height),
        (x + 30, 100),
        (x + 20, 100 + height),
        (x + 10, 100 + height),
    ]


def test_eye_aspect_ratio_falls_when_the_eyes_close() -> None:
    points = np.zeros((68, 2))
    _eye(points, 36, 0, 4.5)
    _eye(points, 42, 60, 4.5)
    assert eye_aspect_ratio(points) == pytest.approx(0.3)
    _eye(points, 36, 0, 1.0)
    _eye(points, 42, 60, 1.0)
    assert eye_aspect_ratio(points) == pytest.approx(2.0 / 30)


def test_mouth_aspect_ratio_rises_when_the_mouth_opens() -> None:
    points = np.zeros((68, 2))
    points[60], points[64] = (0, 200), (40, 200)
    for upper, lower, x in ((61, 67, 10), (62, 66, 20), (63, 65, 30)):
        points[upper], points[lower] = (x, 199), (x, 201)
    closed = mouth_aspect_ratio(points)
    for upper, lower, x in ((61, 67, 10), (62, 66, 20), (63, 65, 30)):
        points[upper], points[lower] = (x, 190), (x, 210)
    assert closed == pytest.approx(0.05)
    assert mouth_aspect_ratio(points) == pytest.approx(0.5)
