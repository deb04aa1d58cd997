"""The liveness decision from per-frame figures. Pure: no I/O, no models, no image decoding.

`assess` runs a list of checks in order and stops at the first failure; each check is a function
of the `Evidence` (the frames with one face, their signals and the detected actions) returning a
`CheckResult`. Further cues (for example a server-chosen colour sequence reflected on the face)
are added by passing a longer list.

The order: enough frames with one face (`no_face`, `multiple_faces`), a face large enough to
read (`face_too_small`), a neutral pose near frontal (`face_not_frontal`), capture quality
(`poor_quality`), then the cues against replays and recaptures and the challenged actions
(`liveness_failed`). How actions are read from the frames is in `app.face.actions`.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise

import msgspec
import numpy as np
import numpy.typing as npt

from app.face.actions import (
    check_actions,
    check_pose,
    deliberate,
    detect_events,
    match_challenge,
    neutral_yaw,
)
from app.face.engine import Action, FrameAnalysis
from app.face.evidence import (
    DEFAULT_PARAMS,
    ActionEvent,
    CheckResult,
    Evidence,
    Failure,
    LivenessCheck,
    LivenessParams,
    fail,
)
from app.face.match import Encoding, distance
from app.face.recapture import check_recapture

FloatArray = npt.NDArray[np.float64]


class LivenessReport(msgspec.Struct, frozen=True, kw_only=True):
    failure: Failure | None
    events: list[ActionEvent]
    matched: list[ActionEvent]
    neutral_yaw: float
    scores: dict[str, float]


def check_presence(evidence: Evidence) -> CheckResult:
    """Enough frames with exactly one face; any frame with several faces fails."""
    frames = evidence.frames
    crowded = sum(1 for f in frames if f.faces > 1)
    faceless = sum(1 for f in frames if f.faces == 0)
    scores = {
        "frames": float(len(frames)),
        "face_frames": float(len(evidence.index)),
        "multi_face_frames": float(crowded),
    }
    if crowded:
        return fail("multiple_faces", "more than one face in the frames", scores)
    params = evidence.params
    if len(evidence.index) < params.min_face_frames or (
        frames and faceless / len(frames) > params.max_faceless_share
    ):
        return fail("no_face", "no face in too many frames", scores)
    return CheckResult(scores=scores)


def check_size(evidence: Evidence) -> CheckResult:
    """The face large enough in the frame for its landmarks to show a blink or a turn."""
    size = evidence.median("interocular")
    scores = {"interocular": size}
    if size < evidence.params.min_interocular:
        return fail("face_too_small", "the face is too small in the frame", scores)
    return CheckResult(scores=scores)


def check_quality(evidence: Evidence) -> CheckResult:
    """Blur and exposure of the face, as medians over the frames (single bad frames are normal)."""
    params = evidence.params
    sharp, bright, dark = (evidence.median(figure) for figure in ("sharpness", "brightness", "dark_fraction"))
    scores = {"sharpness": sharp, "brightness": bright, "dark_share": dark}
    if sharp < params.min_sharpness:
        return fail("poor_quality", "the face is blurred", scores)
    if not params.min_brightness <= bright <= params.max_brightness or dark > params.max_dark_share:
        return fail("poor_quality", "the face is badly exposed", scores)
    return CheckResult(scores=scores)


def _thumb(frame: FrameAnalysis) -> FloatArray:
    return np.frombuffer(frame.thumb, dtype=np.uint8).astype(np.float64)


def check_still_replay(evidence: Evidence) -> CheckResult:
    """A still image uploaded again and again: consecutive face thumbnails nearly identical."""
    faces = [f for f in evidence.faces if f.thumb]
    diffs = [
        float(np.mean(np.abs(_thumb(a) - _thumb(b))))
        for a, b in pairwise(faces)
        if len(a.thumb) == len(b.thumb)
    ]
    if not diffs:
        return CheckResult()
    identical = sum(1 for d in diffs if d < evidence.params.identical_diff) / len(diffs)
    scores = {"identical_share": identical, "frame_diff_median": float(np.median(diffs))}
    if identical > evidence.params.max_identical_share:
        return fail("liveness_failed", "the frames are copies of one still image", scores)
    return CheckResult(scores=scores)


DEFAULT_CHECKS: tuple[LivenessCheck, ...] = (
    check_presence,
    check_size,
    check_pose,
    check_quality,
    check_still_replay,
    check_recapture,
    check_actions,
)


def build_evidence(
    challenge: Sequence[Action],
    frames: Sequence[FrameAnalysis],
    params: LivenessParams = DEFAULT_PARAMS,
) -> Evidence:
    """Signals relative to the person's neutral state, and the actions they show."""
    index = [i for i, f in enumerate(frames) if f.has_single_face]
    ear = np.array([frames[i].ear for i in index], dtype=np.float64)
    mar = np.array([frames[i].mar for i in index], dtype=np.float64)
    yaw = np.array([frames[i].yaw for i in index], dtype=np.float64)
    if not index:
        empty = np.zeros(0, dtype=np.float64)
        return Evidence(tuple(challenge), frames, params, index, empty, empty, empty)
    rest_yaw = neutral_yaw(yaw, params.neutral_spread)
    rel_yaw = yaw - rest_yaw
    at_rest = np.abs(rel_yaw) <= params.turn_off
    if not at_rest.any():
        at_rest = np.ones_like(at_rest)
    # Eyes are open most of the time: the upper part of the distribution is the open state;
    # the mouth is closed most of the time: the lower part is the closed state.
    ear_base = float(np.percentile(ear[at_rest], 75))
    mouth_base = float(np.percentile(mar[at_rest], 25))
    ear_ratio = ear / ear_base if ear_base > 0 else np.ones_like(ear)
    mouth = mar - mouth_base
    events = detect_events(index, ear_ratio, mouth, rel_yaw, params)
    return Evidence(
        tuple(challenge), frames, params, index, ear_ratio, mouth, rel_yaw, rest_yaw, events
    )


def assess(
    challenge: Sequence[Action],
    frames: Sequence[FrameAnalysis],
    checks: Sequence[LivenessCheck] = DEFAULT_CHECKS,
    params: LivenessParams = DEFAULT_PARAMS,
) -> LivenessReport:
    """Run the checks in order; the first failure decides."""
    evidence = build_evidence(challenge, frames, params)
    scores: dict[str, float] = {}
    matched = match_challenge(challenge, deliberate(evidence.events)) or []
    for check in checks:
        result = check(evidence)
        scores.update(result.scores)
        if result.failure is not None:
            return LivenessReport(
                failure=result.failure,
                events=evidence.events,
                matched=matched,
                neutral_yaw=evidence.neutral_yaw,
                scores=scores,
            )
    return LivenessReport(
        failure=None,
        events=evidence.events,
        matched=matched,
        neutral_yaw=evidence.neutral_yaw,
        scores=scores,
    )


class FrameSelection(msgspec.Struct, frozen=True, kw_only=True):
    """Frames to encode: the best frontal ones for the match, one per performed action."""

    match: list[int]
    actions: list[int]

    def all_indices(self) -> list[int]:
        return sorted(set(self.match) | set(self.actions))


def select_frames(
    frames: Sequence[FrameAnalysis],
    matched: Sequence[ActionEvent],
    neutral_yaw: float = 0.0,
    params: LivenessParams = DEFAULT_PARAMS,
    budget: int = 4,
) -> FrameSelection:
    """Frames worth an encoding (~0.1 s each), at most `budget` of them.

    The sharpest frame at the neutral pose outside any action serves the match; the peak frame of each
    performed action ties the actions to that identity; a second frontal frame from the other
    half of the sequence is added while the budget allows.
    """
    busy = {i for e in matched for i in range(e.start, e.end + 1)}
    candidates = [
        i
        for i, f in enumerate(frames)
        if f.has_single_face and i not in busy and abs(f.yaw - neutral_yaw) <= params.turn_off
    ] or [i for i, f in enumerate(frames) if f.has_single_face]
    actions = [e.peak for e in matched if frames[e.peak].has_single_face][: max(budget - 1, 0)]
    if not candidates:
        return FrameSelection(match=[], actions=actions)
    best = max(candidates, key=lambda i: frames[i].sharpness)
    chosen = [best]
    if len(chosen) + len(actions) < budget:
        half = len(frames) / 2
        other = [i for i in candidates if (i < half) != (best < half)]
        if other:
            chosen.append(max(other, key=lambda i: frames[i].sharpness))
    return FrameSelection(match=chosen, actions=actions)


def check_identity(
    selection: FrameSelection,
    encodings: dict[int, Encoding],
    params: LivenessParams = DEFAULT_PARAMS,
) -> CheckResult:
    """The same person in the match frames and in every action frame."""
    reference = [encodings[i] for i in selection.match]
    others = [encodings[i] for i in selection.all_indices() if i not in selection.match[:1]]
    if not reference:
        return fail("no_face", "no frame to match", {})
    worst = max((distance(reference[0], e) for e in others), default=0.0)
    scores = {"identity_max_distance": worst, "encoded_frames": float(len(encodings))}
    if worst > params.identity_max_distance:
        return fail("liveness_failed", "the face changes during the sequence", scores)
    return CheckResult(scores=scores)
