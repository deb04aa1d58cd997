"""The liveness decision from per-frame figures. Pure: no I/O, no models, no image decoding.

`assess` runs a list of checks in order and stops at the first failure; each check is a function
of the `Evidence` (the frames with one face, their signals and the detected actions) returning a
`CheckResult`. Further cues (for example a server-chosen colour sequence reflected on the face)
are added by passing a longer list.

Actions are found with hysteresis on three per-frame signals, each relative to the person's own
neutral state in the same sequence:
- blink: eye aspect ratio over the open-eye baseline drops to `blink_on` and comes back;
- open_mouth: inner-mouth ratio rises `mouth_on` above its closed baseline;
- turn_left / turn_right: head yaw leaves the frontal reference by `turn_on` degrees. turn_left
  is a turn towards the person's own left: in a frame as captured (not mirrored) the nose moves
  to the right of the image (positive yaw, see `app.face.geometry.head_pose`). Clients that
  mirror the preview must upload unmirrored frames.

The challenge must appear in its order; spontaneous blinks are tolerated anywhere, but a turn or
an opened mouth that was not asked for (or comes out of order) fails the session.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise

import msgspec
import numpy as np
import numpy.typing as npt

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


def check_quality(evidence: Evidence) -> CheckResult:
    """Blur and exposure of the face, as medians over the frames (single bad frames are normal)."""
    params = evidence.params
    faces = evidence.faces
    sharp = float(np.median([f.sharpness for f in faces]))
    bright = float(np.median([f.brightness for f in faces]))
    dark = float(np.median([f.dark_fraction for f in faces]))
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


def _collapse(actions: Sequence[Action]) -> list[Action]:
    out: list[Action] = []
    for action in actions:
        if not out or out[-1] != action:
            out.append(action)
    return out


def match_challenge(
    challenge: Sequence[Action], events: Sequence[ActionEvent]
) -> list[ActionEvent] | None:
    """The events that perform the challenge in order (one per action), or None."""
    matched: list[ActionEvent] = []
    after = -1
    for action in challenge:
        found = next((e for e in events if e.action == action and e.start > after), None)
        if found is None:
            return None
        matched.append(found)
        after = found.start
    return matched


def check_actions(evidence: Evidence) -> CheckResult:
    """The challenged actions in order, and no turn or mouth opening that was not asked for."""
    scores = {
        "blink_min_ratio": float(evidence.ear_ratio.min()),
        "mouth_max": float(evidence.mouth.max()),
        "yaw_max": float(evidence.yaw.max()),
        "yaw_min": float(evidence.yaw.min()),
        "events": float(len(evidence.events)),
    }
    deliberate = _collapse([e.action for e in evidence.events if e.action != "blink"])
    asked = _collapse([a for a in evidence.challenge if a != "blink"])
    if deliberate != asked:
        return fail(
            "liveness_failed",
            f"actions seen {deliberate} differ from the challenge {asked}",
            scores,
        )
    if match_challenge(evidence.challenge, evidence.events) is None:
        return fail("liveness_failed", "the challenged actions were not seen in order", scores)
    return CheckResult(scores=scores)


DEFAULT_CHECKS: tuple[LivenessCheck, ...] = (
    check_presence,
    check_quality,
    check_still_replay,
    check_recapture,
    check_actions,
)


def _segments(
    signal: FloatArray, on: float, off: float, *, require_end: bool
) -> list[tuple[int, int, int]]:
    """(start, end, peak) positions where `signal` rises to `on` until it falls back to `off`."""
    out: list[tuple[int, int, int]] = []
    start: int | None = None
    for pos, value in enumerate(signal):
        if start is None and value >= on:
            start = pos
        elif start is not None and value <= off:
            peak = start + int(np.argmax(signal[start:pos]))
            out.append((start, pos - 1, peak))
            start = None
    if start is not None and not require_end:
        peak = start + int(np.argmax(signal[start:]))
        out.append((start, len(signal) - 1, peak))
    return out


def detect_events(
    index: Sequence[int],
    ear_ratio: FloatArray,
    mouth: FloatArray,
    yaw: FloatArray,
    params: LivenessParams = DEFAULT_PARAMS,
) -> list[ActionEvent]:
    """Actions seen in the relative signals (positions mapped back through `index`)."""
    found: list[ActionEvent] = []
    specs: list[tuple[Action, FloatArray, float, float, bool]] = [
        # Blinks are found on the inverted ratio so that one rising-edge routine serves all.
        ("blink", -ear_ratio, -params.blink_on, -params.blink_off, True),
        ("open_mouth", mouth, params.mouth_on, params.mouth_off, False),
        ("turn_left", yaw, params.turn_on, params.turn_off, False),
        ("turn_right", -yaw, params.turn_on, params.turn_off, False),
    ]
    for action, signal, on, off, require_end in specs:
        for start, end, peak in _segments(signal, on, off, require_end=require_end):
            found.append(
                ActionEvent(action=action, start=index[start], end=index[end], peak=index[peak])
            )
    found.sort(key=lambda e: (e.start, e.end))
    return found


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
    frontal = np.abs(yaw) <= params.frontal_yaw
    yaw_ref = float(np.median(yaw[frontal])) if frontal.any() else 0.0
    neutral = ear[frontal] if frontal.any() else ear
    # Eyes are open most of the time: the upper part of the distribution is the open state.
    ear_base = float(np.percentile(neutral, 75))
    mouth_base = float(np.percentile(mar, 25))
    ear_ratio = ear / ear_base if ear_base > 0 else np.ones_like(ear)
    mouth = mar - mouth_base
    rel_yaw = yaw - yaw_ref
    events = detect_events(index, ear_ratio, mouth, rel_yaw, params)
    return Evidence(tuple(challenge), frames, params, index, ear_ratio, mouth, rel_yaw, events)


def assess(
    challenge: Sequence[Action],
    frames: Sequence[FrameAnalysis],
    checks: Sequence[LivenessCheck] = DEFAULT_CHECKS,
    params: LivenessParams = DEFAULT_PARAMS,
) -> LivenessReport:
    """Run the checks in order; the first failure decides."""
    evidence = build_evidence(challenge, frames, params)
    scores: dict[str, float] = {}
    matched = match_challenge(challenge, evidence.events) or []
    for check in checks:
        result = check(evidence)
        scores.update(result.scores)
        if result.failure is not None:
            return LivenessReport(
                failure=result.failure, events=evidence.events, matched=matched, scores=scores
            )
    return LivenessReport(failure=None, events=evidence.events, matched=matched, scores=scores)


class FrameSelection(msgspec.Struct, frozen=True, kw_only=True):
    """Frames to encode: the best frontal ones for the match, one per performed action."""

    match: list[int]
    actions: list[int]

    def all_indices(self) -> list[int]:
        return sorted(set(self.match) | set(self.actions))


def select_frames(
    frames: Sequence[FrameAnalysis],
    matched: Sequence[ActionEvent],
    params: LivenessParams = DEFAULT_PARAMS,
    budget: int = 4,
) -> FrameSelection:
    """Frames worth an encoding (~0.1 s each), at most `budget` of them.

    The sharpest frontal frame outside any action serves the match; the peak frame of each
    performed action ties the actions to that identity; a second frontal frame from the other
    half of the sequence is added while the budget allows.
    """
    busy = {i for e in matched for i in range(e.start, e.end + 1)}
    candidates = [
        i
        for i, f in enumerate(frames)
        if f.has_single_face and i not in busy and abs(f.yaw) <= params.frontal_yaw
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
