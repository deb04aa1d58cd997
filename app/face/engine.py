"""The face engine interface the domain layer calls, and the values that cross it.

Everything here is plain data (msgspec Structs) so that it pickles cheaply to and from the worker
processes and can be stored between the frame uploads of one liveness session.

The landmark model behind `analyse_frame` (dlib's 68-point shape predictor) was trained on iBUG
300-W, whose licence excludes commercial use; nothing outside `app.face` depends on it, so a
deployer can swap the implementation behind this interface.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, Protocol

import msgspec

from app.errors import InvalidInput
from app.face.light import LightSample, LightStep

Action = Literal["blink", "open_mouth", "turn_left", "turn_right"]
ACTIONS: tuple[Action, ...] = ("blink", "open_mouth", "turn_left", "turn_right")

FailureReason = Literal[
    "no_face",
    "multiple_faces",
    "poor_quality",
    "liveness_failed",
    "face_mismatch",
    "no_card_photo",
    "face_not_frontal",
    "face_too_small",
]

# Identifies the encoder; templates made by another model are not comparable.
ENCODER_MODEL = "dlib_face_recognition_resnet_v1"


class FaceBox(msgspec.Struct, frozen=True, array_like=True):
    """A face rectangle in pixels of the decoded image."""

    left: int
    top: int
    right: int
    bottom: int

    @property
    def width(self) -> int:
        return self.right - self.left

    @property
    def height(self) -> int:
        return self.bottom - self.top


class CardTemplate(msgspec.Struct, frozen=True, kw_only=True):
    """The 128-d encoding of a card photo: what is stored instead of recomputing it per session."""

    model: str = ENCODER_MODEL
    encoding: list[float]

    def to_bytes(self) -> bytes:
        return msgspec.msgpack.encode(self)

    @classmethod
    def from_bytes(cls, data: bytes) -> CardTemplate:
        return msgspec.msgpack.decode(data, type=cls)


class FrameAnalysis(msgspec.Struct, frozen=True, kw_only=True):
    """What one camera frame tells: computed at upload time, the frame itself is then dropped.

    `yaw` is in degrees in the frame as captured (not mirrored): positive when the person turns
    towards their own left (the nose moves to the right of the image). `ear` is the mean eye
    aspect ratio of both eyes, `mar` the inner-mouth opening over its width, `interocular` the
    distance between the eye centres in pixels (the face's size). Quality figures are
    measured on the face region. `chip` is the 150x150 RGB aligned face crop that the encoder
    needs; `thumb` a 32x32 grey face thumbnail for the replay cue. Both are sensitive data: keep
    them only until the verdict.
    """

    width: int
    height: int
    faces: int
    box: FaceBox | None = None
    detection_score: float = 0.0
    ear: float = 0.0
    mar: float = 0.0
    yaw: float = 0.0
    pitch: float = 0.0
    interocular: float = 0.0
    sharpness: float = 0.0
    brightness: float = 0.0
    dark_fraction: float = 0.0
    glare: float = 0.0
    moire: float = 0.0
    thumb: bytes = b""
    chip: bytes = b""
    light: LightSample | None = None  # the face's and the background's colour (light sessions)
    # Darkest tones of the head over its brightest, linear light (`quality.black_level`).
    black_level: float = 0.0

    @property
    def has_single_face(self) -> bool:
        return self.faces == 1 and self.box is not None and bool(self.chip)

    def without_images(self) -> FrameAnalysis:
        """The same figures without the face crops (what may go to an audit record)."""
        return msgspec.structs.replace(self, thumb=b"", chip=b"")


class LightResponse(msgspec.Struct, frozen=True, kw_only=True):
    """A light session's challenge and what the client reported: one capture time per frame."""

    steps: list[LightStep]
    captured_at_ms: list[int | None]


class FaceVerdict(msgspec.Struct, frozen=True, kw_only=True):
    """The decision on a session. `scores` are for the audit record, never for the client."""

    passed: bool
    reason: FailureReason | None = None
    detail: str = ""
    scores: dict[str, float] = msgspec.field(default_factory=dict)


class EngineHealth(msgspec.Struct, frozen=True, kw_only=True):
    ok: bool
    workers: int
    busy: int = 0
    restarts: int = 0
    detail: str = ""


class FaceUnusable(InvalidInput):
    """A photo that cannot serve as a card template; `code` is a `FailureReason`."""

    def __init__(self, detail: str, *, code: FailureReason) -> None:
        super().__init__(detail, code=code)


class FaceEngine(Protocol):
    """What the domain layer calls. Implementations keep all face CPU work off the event loop."""

    async def enroll(self, photo: bytes) -> CardTemplate:
        """The template of a card photo (JPEG/PNG bytes).

        Raises the image errors of `app.face.images` and `FaceUnusable` with code `no_face`,
        `multiple_faces` or `poor_quality`.
        """
        ...

    async def analyse_frame(self, frame: bytes, *, light: bool = False) -> FrameAnalysis:
        """Figures of one uploaded frame; raises the image errors of `app.face.images`.

        With `light`, also the colours the light challenge needs (`FrameAnalysis.light`).
        """
        ...

    async def decide(
        self,
        challenge: Sequence[Action],
        frames: Sequence[FrameAnalysis],
        card: CardTemplate | None,
        threshold: float,
        light: LightResponse | None = None,
    ) -> FaceVerdict:
        """Liveness against the ordered challenge, then the 1:1 match with the card template.

        `frames` in capture order; `card` None gives `no_card_photo`; `threshold` is the largest
        encoding distance accepted as the same person (settings `face_match_threshold`); `light`
        the light challenge and its capture times, when the session has one.
        """
        ...

    async def health(self) -> EngineHealth:
        """Cheap state of the engine; never waits behind face work."""
        ...

    async def aclose(self) -> None: ...
