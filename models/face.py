from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from models.base import Wire

Action = Literal["blink", "open_mouth", "turn_left", "turn_right"]


class FaceSessionRequest(Wire):
    realname_id: Annotated[str, msgspec.Meta(min_length=1, max_length=128)]
    # The holder's separate, explicit consent to processing facial data (PIPL art. 29).
    biometric_consent: bool = False


class FaceChallenge(Wire):
    """Perform `actions` in this order in front of the camera, then upload the frames.

    turn_left / turn_right are the person's own left and right: in an unmirrored camera image the
    nose moves towards the image's right when the person turns to their left.
    """

    session_id: str
    actions: list[Action]
    nonce: str
    expires_in: int
    max_frames: int
    max_frame_bytes: int


class FramesReceived(Wire):
    session_id: str
    received: int
    total: int


class FaceResult(Wire):
    session_id: str
    status: Literal["passed", "failed"]
    reason: str | None = None
