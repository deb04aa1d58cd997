"""Face landmarks and the geometry QA measures on them: eye aspect ratio, mouth opening, head yaw.

The QA tools find faces with face_recognition (dlib HOG detector and the 68-point shape model)
directly rather than through the server's face engine: they run on a developer's machine, one
portrait at a time, outside the process pool. Points use the iBUG 300-W numbering (0-16 jaw,
17-26 brows, 27-35 nose, 36-47 eyes, 48-67 mouth) as an (68, 2) float array of (x, y) pixels.
"""

from __future__ import annotations

import warnings
from functools import cache
from types import ModuleType
from typing import Final

import cv2
import numpy as np
import numpy.typing as npt

Image = npt.NDArray[np.uint8]
Points = npt.NDArray[np.float64]

# face_recognition returns named groups; this puts them back in 68-point order.
_GROUP_INDICES: Final[dict[str, tuple[int, ...]]] = {
    "chin": tuple(range(17)),
    "left_eyebrow": tuple(range(17, 22)),
    "right_eyebrow": tuple(range(22, 27)),
    "nose_bridge": tuple(range(27, 31)),
    "nose_tip": tuple(range(31, 36)),
    "left_eye": tuple(range(36, 42)),
    "right_eye": tuple(range(42, 48)),
    "top_lip": (48, 49, 50, 51, 52, 53, 54, 64, 63, 62, 61, 60),
    "bottom_lip": (54, 55, 56, 57, 58, 59, 48, 60, 67, 66, 65, 64),
}

# Eyes in image order: 36-41 is the eye on the image's left (the person's right eye).
IMAGE_LEFT_EYE: Final = slice(36, 42)
IMAGE_RIGHT_EYE: Final = slice(42, 48)


class FaceCountError(ValueError):
    """The portrait does not show exactly one face."""

    def __init__(self, count: int) -> None:
        self.count = count
        what = "no face" if count == 0 else f"{count} faces"
        super().__init__(f"expected exactly one frontal face, found {what}")


@cache
def _face_recognition() -> ModuleType:
    # face_recognition_models imports pkg_resources, which warns on import; the warning is noise
    # for a command-line user.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import face_recognition  # noqa: PLC0415 - heavy import (dlib models), done once on first use

    module: ModuleType = face_recognition
    return module


def find_faces(image: Image) -> list[Points]:
    """68-point landmarks of every face the HOG detector finds in an RGB image."""
    fr = _face_recognition()
    rgb = np.ascontiguousarray(image)
    locations = fr.face_locations(rgb, number_of_times_to_upsample=1, model="hog")
    if not locations:
        return []
    faces: list[Points] = []
    for groups in fr.face_landmarks(rgb, locations, model="large"):
        points = np.zeros((68, 2), dtype=np.float64)
        for name, indices in _GROUP_INDICES.items():
            points[list(indices)] = np.asarray(groups[name], dtype=np.float64)
        faces.append(points)
    return faces


def single_face(image: Image) -> Points:
    """Landmarks of the one face in `image`; `FaceCountError` when there are none or several."""
    faces = find_faces(image)
    if len(faces) != 1:
        raise FaceCountError(len(faces))
    return faces[0]


def eye_aspect_ratio(points: Points) -> float:
    """Mean eye aspect ratio of both eyes (Soukupová & Čech 2016): lid gap over eye width."""
    ratios = []
    for eye in (points[IMAGE_LEFT_EYE], points[IMAGE_RIGHT_EYE]):
        vertical = np.linalg.norm(eye[1] - eye[5]) + np.linalg.norm(eye[2] - eye[4])
        ratios.append(float(vertical / (2.0 * np.linalg.norm(eye[0] - eye[3]))))
    return float(np.mean(ratios))


def mouth_opening(points: Points) -> float:
    """Inner-lip gap (points 61-63 to 67-65) over mouth width (48-54)."""
    gap = np.mean(np.linalg.norm(points[[61, 62, 63]] - points[[67, 66, 65]], axis=1))
    return float(gap / np.linalg.norm(points[54] - points[48]))


# A generic adult head in millimetres (x to the image's right, y up, z towards the camera).
_MODEL_POINTS: Final = np.array(
    [
        (0.0, 0.0, 0.0),  # 30 nose tip
        (0.0, -63.6, -12.5),  # 8 chin
        (-43.3, 32.7, -26.0),  # 36 outer corner of the image-left eye
        (43.3, 32.7, -26.0),  # 45 outer corner of the image-right eye
        (-28.9, -28.9, -24.1),  # 48 image-left mouth corner
        (28.9, -28.9, -24.1),  # 54 image-right mouth corner
    ],
    dtype=np.float64,
)
_PNP_INDICES: Final = [30, 8, 36, 45, 48, 54]


def head_yaw(points: Points, image_size: tuple[int, int]) -> float:
    """Head yaw in degrees from six landmarks and a generic 3-D head (solvePnP).

    Positive when the nose points towards the image's right, which in an unmirrored camera image
    is the person turning to *their* left; 0 for a frontal face.
    """
    height, width = image_size
    focal = float(max(height, width))
    camera = np.array(
        [[focal, 0.0, width / 2.0], [0.0, focal, height / 2.0], [0.0, 0.0, 1.0]], dtype=np.float64
    )
    image_points = points[_PNP_INDICES].astype(np.float64)
    # Image y grows downwards, the model's y upwards: flip the model so both agree.
    model = _MODEL_POINTS * np.array([1.0, -1.0, -1.0])
    ok, rvec, _ = cv2.solvePnP(
        model, image_points, camera, np.zeros(4), flags=cv2.SOLVEPNP_ITERATIVE
    )
    if not ok:
        return float("nan")
    rotation, _ = cv2.Rodrigues(rvec)
    # The model's facing direction (towards the camera, -z after the flip) in camera coordinates.
    facing = rotation @ np.array([0.0, 0.0, -1.0])
    return float(np.degrees(np.arctan2(facing[0], -facing[2])))


def nose_offset(points: Points) -> float:
    """Where the nose tip sits between the jaw's ends: -1 image-left edge, 0 centre, +1 right."""
    left, right = points[0, 0], points[16, 0]
    return float((2.0 * points[30, 0] - left - right) / (right - left))
