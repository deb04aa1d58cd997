"""What the liveness checks look at and what they answer: parameters, evidence, check results.

A check is a function of the `Evidence` (the frames with one face, their signals relative to the
person's own neutral state, the actions found in them) returning a `CheckResult`. Checks live in
their own modules (`liveness`, `recapture`, …) and import only this one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import msgspec
import numpy as np
import numpy.typing as npt

from app.face.engine import Action, FailureReason, FrameAnalysis

FloatArray = npt.NDArray[np.float64]


class LivenessParams(msgspec.Struct, frozen=True, kw_only=True):
    min_face_frames: int = 5
    max_faceless_share: float = 0.5
    # Eye centres at least this many pixels apart: the token frontal image of ISO/IEC 19794-5
    # (the smallest face geometry that standard defines for automated recognition) puts them
    # 60 px apart. Below it an open eye's lid gap is under ~10 px, so a blink moves the landmarks
    # by little more than the shape model's own error (see README, face size).
    min_interocular: float = 60.0
    min_sharpness: float = 20.0  # median Laplacian variance of the face at 128 px wide
    min_brightness: float = 40.0
    max_brightness: float = 225.0
    max_dark_share: float = 0.5
    identical_diff: float = 1.0  # mean absolute grey difference of two face thumbnails
    max_identical_share: float = 0.5
    # See `quality.moire`: the largest of ~10,000 bins of a smooth spectrum stands ~0.55 (log10)
    # above its neighbours, and above 0.7 almost never by chance; live faces measured at most
    # 0.62 (45 real photographs, JPEG 30-95, rescaled, noisy). bench/recapture.py: margins.
    max_moire: float = 0.75
    max_glare: float = 0.08
    # See `quality.black_level`: a print's darkest ink plus the light its surface scatters stay
    # above 2-8 % of its white. Live heads measured at most 0.021 (45 real photographs, JPEG
    # 30-95, rescaled, dim, noisy); the limit is twice that. bench/recapture.py prints margins.
    max_black_level: float = 0.04
    # The neutral pose: the yaw most frames share, within +-neutral_spread degrees. Beyond
    # max_neutral_yaw from frontal, landmark yaw and eye/mouth shapes are too distorted for the
    # challenge to mean anything (face_not_frontal).
    neutral_spread: float = 6.0
    max_neutral_yaw: float = 20.0
    # Resting beyond this, a turn away from the camera reaches the 45 degrees or more where the
    # frontal detector and the 68-point model lose the face: when the actions then fail, the pose
    # is the cause, and the answer says so (face_not_frontal) rather than liveness_failed.
    strained_rest_yaw: float = 15.0
    blink_on: float = 0.7  # EAR of ~0.21 for an open-eye 0.3, the usual blink threshold
    blink_off: float = 0.85
    mouth_on: float = 0.25
    mouth_off: float = 0.12
    turn_on: float = 18.0
    turn_off: float = 10.0
    identity_max_distance: float = 0.55


DEFAULT_PARAMS = LivenessParams()


class Failure(msgspec.Struct, frozen=True):
    reason: FailureReason
    detail: str


class CheckResult(msgspec.Struct, frozen=True, kw_only=True):
    failure: Failure | None = None
    scores: dict[str, float] = msgspec.field(default_factory=dict)


class ActionEvent(msgspec.Struct, frozen=True, kw_only=True):
    """One action seen in the sequence; indices are positions in the uploaded frames."""

    action: Action
    start: int
    end: int
    peak: int
    strength: float = 1.0  # the peak over the action's threshold (1 = just reached it)


@dataclass(frozen=True)
class Evidence:
    """What the checks look at. `index` maps positions in the signals to frame positions.

    `ear_ratio`, `mouth` and `yaw` are relative to the person's neutral state in this sequence:
    eye opening over the open-eye baseline, mouth opening above the closed baseline, degrees
    from `neutral_yaw` (the absolute yaw of the neutral pose).
    """

    challenge: tuple[Action, ...]
    frames: Sequence[FrameAnalysis]
    params: LivenessParams
    index: list[int]
    ear_ratio: FloatArray
    mouth: FloatArray
    yaw: FloatArray
    neutral_yaw: float = 0.0
    events: list[ActionEvent] = field(default_factory=list)

    @property
    def faces(self) -> list[FrameAnalysis]:
        return [self.frames[i] for i in self.index]

    def median(self, figure: str) -> float:
        """The median of one `FrameAnalysis` figure over the frames with one face (0 without)."""
        values = [float(getattr(f, figure)) for f in self.faces]
        return float(np.median(values)) if values else 0.0


LivenessCheck = Callable[[Evidence], CheckResult]


def fail(reason: FailureReason, detail: str, scores: dict[str, float]) -> CheckResult:
    """A failed check with its reason, a detail for the audit log, and the scores."""
    return CheckResult(failure=Failure(reason, detail), scores=scores)
