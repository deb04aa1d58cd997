from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from models.base import Wire

Action = Literal["blink", "open_mouth", "turn_left", "turn_right"]


class FaceSessionRequest(Wire):
    realname_id: Annotated[str, msgspec.Meta(min_length=1, max_length=128)]
    # The holder's separate, explicit consent to processing facial data (PIPL art. 29).
    biometric_consent: bool = False


class LightColor(Wire):
    """One colour of the light challenge: show `color` full-screen for `ms` milliseconds."""

    color: Annotated[str, msgspec.Meta(pattern=r"^#[0-9A-F]{6}$")]
    ms: int


class FaceChallenge(Wire):
    """Perform `actions` in this order in front of the camera, then upload the frames.

    turn_left / turn_right are the person's own left and right: in an unmirrored camera image the
    nose moves towards the image's right when the person turns to their left. `light` is present
    when the channel asks for the light challenge: show its colours full-screen in order while
    capturing, and send with each frame a `captured_at_ms` part (ms since the first colour).
    """

    session_id: str
    actions: list[Action]
    nonce: str
    expires_in: int
    max_frames: int
    max_frame_bytes: int
    light: list[LightColor] = []


Guidance = Literal[
    "no_face", "multiple_faces", "move_closer", "face_the_camera", "too_dark", "too_bright", "blurred",
    "hold_still",
]


class FrameFeedback(Wire):
    """What the person should change, as seen in one frame (`index` counts the session's frames)."""

    index: int
    face: bool
    guidance: Guidance | None  # null when the frame is fine


class FramesReceived(Wire):
    session_id: str
    received: int
    total: int
    feedback: list[FrameFeedback]


class Hint(Wire):
    zh: str
    en: str


class FaceResult(Wire):
    session_id: str
    status: Literal["passed", "failed"]
    reason: str | None = None
    hint: Hint | None = None
