"""Liveness sessions built from still portraits, as the benchmark presents them to the engine.

A genuine session is what a person does in front of a phone: for each challenged action, a short
sequence that starts at rest, performs it and comes back (`app.qa.frames.synthesise`, the tool
QA uses), all at a capture scale a phone camera gives at arm's length. Every sequence is
synthesised, JPEG-encoded and analysed once per portrait and action; sessions and attacks are
then assembled from those analyses, so one portrait serves many challenges cheaply.

Being synthesised from stills, a "genuine" session here is itself an animated still: it measures
whether the decision accepts what a live person does and refuses what they do not, not whether
it can tell a live person from an animation (that is the light challenge's job).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np
import numpy.typing as npt

from app.face import worker
from app.face.engine import ACTIONS, Action, FrameAnalysis
from app.face.images import decode_image
from app.qa.frames import Reach, envelope, synthesise

Image = npt.NDArray[np.uint8]

FRAMES_PER_ACTION = 12
JPEG_QUALITY = 85
MAX_SIDE = 480  # what app.qa.frames works at
FRAME = (400, 480)  # the smallest camera frame (width, height) a portrait is shown in
# The least a person asked for an action does, in `app.qa.frames.Change.toward` units (see
# `performs`): a fifth beyond the levels at which the service sees the action (blink at 0.7 of the
# open eye, mouth +0.25, turn 18 degrees). People asked do far more (eyes shut, mouth 0.5-0.9,
# 30 degrees); the frame generator cannot take every face that far.
PERFORMED: dict[Action, float] = {"blink": 0.36, "open_mouth": 0.3, "turn_left": 21.6, "turn_right": 21.6}
# Eye-centre distance the benchmark captures at: a phone held at arm's length (see README).
CAPTURE_INTEROCULAR = (72.0, 96.0)


def encode(image: Image, quality: int = JPEG_QUALITY) -> bytes:
    ok, data = cv2.imencode(".jpg", cv2.cvtColor(image, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise RuntimeError("JPEG encoding failed")
    return bytes(data.tobytes())


def analyse(images: Sequence[Image], *, light: bool = False) -> list[FrameAnalysis]:
    """The engine's analysis of each frame after the JPEG round trip an upload goes through."""
    return [worker.analyse_image(decode_image(encode(image)), light) for image in images]


def at_capture_scale(image: Image, interocular: float, rng: random.Random) -> Image:
    """The portrait scaled so the eyes are `CAPTURE_INTEROCULAR` apart, cropped to MAX_SIDE."""
    target = rng.uniform(*CAPTURE_INTEROCULAR)
    scale = target / interocular if interocular > 0 else 1.0
    size = (max(1, round(image.shape[1] * scale)), max(1, round(image.shape[0] * scale)))
    method = cv2.INTER_CUBIC if scale > 1 else cv2.INTER_AREA
    scaled = np.asarray(cv2.resize(image, size, interpolation=method), dtype=np.uint8)
    height, width = scaled.shape[:2]
    top, left = max(0, (height - MAX_SIDE) // 2), max(0, (width - MAX_SIDE) // 2)
    cropped = scaled[top : top + MAX_SIDE, left : left + MAX_SIDE]
    # A camera frame shows the room around the head: extend tight crops by their edges.
    pad_y = max(0, FRAME[1] - cropped.shape[0])
    pad_x = max(0, FRAME[0] - cropped.shape[1])
    framed = cv2.copyMakeBorder(cropped, pad_y // 2, pad_y - pad_y // 2, pad_x // 2, pad_x - pad_x // 2,
                                cv2.BORDER_REPLICATE)
    return np.ascontiguousarray(framed, dtype=np.uint8)


@dataclass
class Performer:
    """One person's synthesised sequences: frames and their analyses, per action, made on demand."""

    name: str
    portrait: Image
    seed: int
    frames: dict[Action, list[Image]] = field(default_factory=dict)
    analyses: dict[Action, list[FrameAnalysis]] = field(default_factory=dict)
    reach: dict[Action, Reach] = field(default_factory=dict)

    @classmethod
    def of(cls, name: str, image: Image, seed: int) -> Performer:
        measured = worker.analyse_image(np.ascontiguousarray(image))
        scaled = at_capture_scale(image, measured.interocular, random.Random(seed))
        return cls(name=name, portrait=scaled, seed=seed)

    def sequence(self, action: Action) -> list[Image]:
        if action not in self.frames:
            calibrated: list[Reach] = []
            self.frames[action] = synthesise(
                self.portrait, action, frames=FRAMES_PER_ACTION, seed=self.seed * 7 + ACTIONS.index(action),
                calibrated=calibrated,
            )
            self.reach[action] = calibrated[0]
        return self.frames[action]

    def performs(self, action: Action) -> bool:
        """Whether the frame generator could make this face do the action as a person would.

        Measured on the generator's full-strength pose by its landmark fits (`Reach`), against
        `PERFORMED`, with nothing else moving. A face it cannot animate that far gives no genuine
        presentation of the action.
        """
        self.sequence(action)
        reach = self.reach[action]
        return reach.single and reach.reached >= PERFORMED[action]

    def analysed(self, action: Action) -> list[FrameAnalysis]:
        if action not in self.analyses:
            self.analyses[action] = analyse(self.sequence(action))
        return self.analyses[action]

    def perform(self, actions: Sequence[Action]) -> list[FrameAnalysis]:
        """The session's frames: each action's sequence in the order given."""
        return [frame for action in actions for frame in self.analysed(action)]

    def perform_images(self, actions: Sequence[Action]) -> list[Image]:
        return [frame for action in actions for frame in self.sequence(action)]

    def at_rest(self, count: int) -> list[Image]:
        """Frames of the person doing nothing: the rest frames of their sequences, hand-held."""
        rest = [
            frame
            for action in ACTIONS
            for frame, strength in zip(self.sequence(action), envelope(action, FRAMES_PER_ACTION), strict=True)
            if strength == 0
        ]
        return rest[:count]


def draw_challenge(rng: random.Random) -> tuple[Action, ...]:
    """As the service draws: 2 or 3 distinct actions in random order."""
    return tuple(rng.sample(ACTIONS, rng.choice((2, 3))))


def wrong_orders(challenge: Sequence[Action]) -> list[tuple[Action, ...]]:
    """Every other order of the challenged actions."""
    import itertools  # noqa: PLC0415

    return [order for order in itertools.permutations(challenge) if order != tuple(challenge)]


def still(image: Image, count: int, rng: np.random.Generator) -> list[Image]:
    """A still photo held up: the same picture with sensor noise only."""
    return [
        np.clip(image.astype(np.float32) + rng.normal(0, 1.0, image.shape), 0, 255).astype(np.uint8)
        for _ in range(count)
    ]


def side_by_side(left: Sequence[Image], right: Image) -> list[Image]:
    """Each frame of `left` with a second person's still beside it (two faces in view)."""
    out = []
    for frame in left:
        height = frame.shape[0]
        other = cv2.resize(right, (round(right.shape[1] * height / right.shape[0]), height))
        out.append(np.ascontiguousarray(np.hstack([frame, other])))
    return out
