"""The challenged actions: movements away from the person's own neutral state and back.

Three per-frame signals are followed, each relative to the neutral state of the same sequence
(`app.face.liveness.build_evidence` computes them):
- blink: the eye aspect ratio over the open-eye baseline drops to `blink_on` and comes back;
- open_mouth: the inner-mouth ratio rises `mouth_on` above its closed baseline and comes back;
- turn_left / turn_right: the yaw leaves the neutral yaw by `turn_on` degrees and comes back.
  turn_left is a turn towards the person's own left: in a frame as captured (not mirrored) the
  nose moves to the right of the image (positive yaw, see `app.face.geometry.head_pose`).

An action counts only as a movement: the signal is at rest (within its `off` level) in a frame
before it rises and in a frame after it falls back. A pose held through the whole sequence, or
a sequence whose signals do not move, performs no action at all.

Incidental motion (measured on the development set, see README "Face verification"):
- a blink that was not asked for is tolerated anywhere (people blink every few seconds);
- a non-blink signal that rises *inside* a stronger movement of another kind is a side effect
  of that movement, not an action: a head turn distorts the 2D mouth shape (the mouth ratio
  reads ~0.3 at 30 degrees of yaw on some faces), and opening the mouth wide tips the head.
  Strength is each event's peak over its own `on` level.
- any other movement that was not asked for, or the asked ones in another order, fails. So a
  recording that performs every action in a fixed order fails every challenge that leaves one
  of its turns or mouth openings out, or orders them differently.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from app.face.engine import Action
from app.face.evidence import DEFAULT_PARAMS, ActionEvent, CheckResult, Evidence, LivenessParams, fail

FloatArray = npt.NDArray[np.float64]


def neutral_yaw(yaw: FloatArray, spread: float) -> float:
    """The yaw the person rests at: the median of the largest group of frames within `spread`.

    Turns are excursions of a few frames each; the resting pose is the one most frames share,
    wherever it lies (a person who rests at 30 degrees has a neutral of 30, not 0). Ties go to
    the group nearer frontal.
    """
    if yaw.size == 0:
        return 0.0
    ordered = np.sort(yaw)
    best: tuple[int, float, float] | None = None
    for low in range(len(ordered)):
        high = int(np.searchsorted(ordered, ordered[low] + 2.0 * spread, side="right"))
        centre = float(np.median(ordered[low:high]))
        key = (high - low, -abs(centre), centre)
        if best is None or key[:2] > best[:2]:
            best = key
    assert best is not None
    return best[2]


def _segments(signal: FloatArray, on: float, off: float) -> list[tuple[int, int, int]]:
    """(start, end, peak) of each excursion of `signal` to `on` that starts and ends at rest.

    At rest means at or below `off`, in a frame before the excursion and a frame after it.
    """
    out: list[tuple[int, int, int]] = []
    rested = False
    start: int | None = None
    for pos, value in enumerate(signal):
        if start is None:
            if value >= on and rested:
                start = pos
            elif value <= off:
                rested = True
        elif value <= off:
            peak = start + int(np.argmax(signal[start:pos]))
            out.append((start, pos - 1, peak))
            start = None
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
    specs: list[tuple[Action, FloatArray, float, float]] = [
        # Blinks are found on the inverted ratio so that one rising-edge routine serves all.
        ("blink", -ear_ratio, -params.blink_on, -params.blink_off),
        ("open_mouth", mouth, params.mouth_on, params.mouth_off),
        ("turn_left", yaw, params.turn_on, params.turn_off),
        ("turn_right", -yaw, params.turn_on, params.turn_off),
    ]
    for action, signal, on, off in specs:
        for start, end, peak in _segments(signal, on, off):
            found.append(
                ActionEvent(
                    action=action,
                    start=index[start],
                    end=index[end],
                    peak=index[peak],
                    strength=_strength(float(signal[peak]), on, off),
                )
            )
    found.sort(key=lambda e: (e.start, e.end))
    return found


def _strength(peak: float, on: float, off: float) -> float:
    """How far past its threshold an event went: 1 at `on`, measured from the rest level `off`."""
    return (peak - off) / (on - off)


def _within(inner: ActionEvent, outer: ActionEvent) -> bool:
    return outer.start - 1 <= inner.start and inner.end <= outer.end + 1


def incidental(events: Sequence[ActionEvent]) -> list[ActionEvent]:
    """Non-blink events that happen inside a stronger non-blink movement of another kind."""
    moves = [e for e in events if e.action != "blink"]
    return [
        e
        for e in moves
        if any(o.action != e.action and o.strength > e.strength and _within(e, o) for o in moves)
    ]


def _collapse(actions: Sequence[Action]) -> list[Action]:
    out: list[Action] = []
    for action in actions:
        if not out or out[-1] != action:
            out.append(action)
    return out


def deliberate(events: Sequence[ActionEvent]) -> list[ActionEvent]:
    """The events that count as actions: everything but incidental motion."""
    side_effects = incidental(events)
    return [e for e in events if e not in side_effects]


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


def check_pose(evidence: Evidence) -> CheckResult:
    """The neutral pose must be near frontal, or no action can be read from it."""
    scores = {"neutral_yaw": evidence.neutral_yaw}
    if abs(evidence.neutral_yaw) > evidence.params.max_neutral_yaw:
        return fail("face_not_frontal", "the resting head pose is too far from frontal", scores)
    return CheckResult(scores=scores)


def check_actions(evidence: Evidence) -> CheckResult:
    """The challenged actions in order, and no turn or mouth opening that was not asked for."""
    scores = {
        "blink_min_ratio": float(evidence.ear_ratio.min()),
        "mouth_max": float(evidence.mouth.max()),
        "yaw_max": float(evidence.yaw.max()),
        "yaw_min": float(evidence.yaw.min()),
        "events": float(len(evidence.events)),
    }
    counted = deliberate(evidence.events)
    moves = _collapse([e.action for e in counted if e.action != "blink"])
    asked = _collapse([a for a in evidence.challenge if a != "blink"])
    detail = None
    if moves != asked:
        detail = f"actions seen {moves} differ from the challenge {asked}"
    elif match_challenge(evidence.challenge, counted) is None:
        detail = "the challenged actions were not seen in order"
    if detail is None:
        return CheckResult(scores=scores)
    if abs(evidence.neutral_yaw) > evidence.params.strained_rest_yaw:
        return fail("face_not_frontal", f"{detail}, from a resting pose turned too far to read them", scores)
    return fail("liveness_failed", detail, scores)
