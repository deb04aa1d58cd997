"""Synthesise a short camera sequence of a liveness action from one frontal still portrait.

QA needs frame sequences of people the service has never seen, doing whatever a liveness session
asks. `synthesise` finds the face's 68 landmarks once and warps the still, frame by frame, along an
envelope that starts and ends neutral:

- ``blink``: both upper lids slide down to the lower lids and back; the covered eye is painted
  as lid skin continuing the skin above it, with a lash line where the lid rests.
- ``open_mouth``: the jaw drops: the lips part in an oval, the chin and jaw move down, the gap
  between the lips is a dark mouth interior, the neck under the chin is compressed.
- ``turn_left`` / ``turn_right``: the head turns about a vertical axis (a rounded head with the
  nose standing out of it): the side turning away is compressed and, past about 30 degrees,
  hidden behind the near side; the lips are left unsheared so the mouth stays closed.

How strong the full pose is, is *measured*, not fixed: one warp amount does not give one result,
because how far the landmark model follows a moved lid, lip or nose depends on the face, its
expression and the photo. So each call first calibrates the full-strength pose on this photo
(`calibrate`): it renders it, measures it against the neutral photo with two independent
68-point landmark fits (the QA tools' own and the service's `app.face.worker.analyse_image`)
and corrects the amount until both see what a person asked for the action does (`TARGETS`): eyes
closed to at most half their open aspect ratio, a mouth opened 0.5 or more of its width, a head
turned 27-34 degrees, and none of the other actions' signals moving (`stays_single`). Where a face
cannot get there (the landmark model stops following a warped jaw at some point; a portrait
already turned 20 degrees cannot turn much further and stay detectable) the closest amount that
shows the action alone is used. This costs a few landmark runs per call (at most
1 + CALIBRATION_STEPS renders, each measured twice).

Directions follow the *person*: ``turn_left`` is the person turning to their own left, so in an
unmirrored camera image (what a phone's rear camera or a webcam without preview mirroring
records) their nose moves towards the image's **right**; ``turn_right`` moves it to the image's
left. `app.qa.landmarks.head_yaw` reports the same convention as a positive yaw for ``turn_left``.

Every frame also gets small natural motion (sub-pixel translation, slight scale and rotation
drift), a slight exposure change and sensor noise, so no two frames are pixel-identical. This is
exactly the "animated still" attack (照片活化) a liveness check must expect; it is a QA tool, not
evidence of liveness.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal, get_args

import cv2
import numpy as np
import numpy.typing as npt

from app.face import geometry
from app.face.worker import analyse_image
from app.qa.landmarks import Image, Points, find_faces, single_face

Action = Literal["blink", "open_mouth", "turn_left", "turn_right"]
ACTIONS: Final[tuple[Action, ...]] = get_args(Action)

DEFAULT_FRAMES: Final = 16
MIN_FRAMES: Final = 8
MAX_FRAMES: Final = 120
MAX_SIDE: Final = 480
TURN_RADIUS: Final = 0.7  # of the jaw width: the head with its hair
NOSE_DEPTH: Final = 0.25  # of the jaw width, in front of the cheeks
JAW_SHARE: Final = 0.75  # of the lips' opening that the chin moves down: the lips part further
HEAD_DEPTH: Final = 0.6  # of the jaw width: the face's front in front of the turning axis
HEAD_ROUNDNESS: Final = 2.2  # superellipse exponent of the head's cross-section
RETRIES: Final = 3
Field = npt.NDArray[np.float32]

_log = logging.getLogger(__name__)


class UnreadableImageError(ValueError):
    """The photo is not an image OpenCV can decode."""


def load_rgb(photo: npt.NDArray[np.uint8] | Path) -> Image:
    """An RGB uint8 copy of `photo` (a path, or an RGB / grey array), at most MAX_SIDE pixels."""
    if isinstance(photo, Path):
        bgr = cv2.imread(str(photo), cv2.IMREAD_COLOR)
        if bgr is None:
            raise UnreadableImageError(f"{photo}: not a readable image")
        image = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    else:
        image = np.asarray(photo)
        if image.dtype != np.uint8:
            raise UnreadableImageError("photo array must be uint8")
        if image.ndim == 2:
            image = np.stack([image] * 3, axis=-1)
        if image.ndim != 3 or image.shape[2] not in (3, 4):
            raise UnreadableImageError(f"photo array must be HxW or HxWx3, not {image.shape}")
        image = np.ascontiguousarray(image[:, :, :3])
    scale = MAX_SIDE / max(image.shape[:2])
    if scale < 1.0:
        size = (round(image.shape[1] * scale), round(image.shape[0] * scale))
        image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(image, dtype=np.uint8)


def envelope(action: Action, frames: int) -> npt.NDArray[np.float64]:
    """Strength of the action per frame, 0 (neutral) to 1: lead-in, ramp, hold, ramp, lead-out.

    Blinks are quick (about a third of a second at 10-15 frames per second); the other actions
    build up and hold for longer.
    """
    if not MIN_FRAMES <= frames <= MAX_FRAMES:
        raise ValueError(f"frames must be between {MIN_FRAMES} and {MAX_FRAMES}")
    quick = action == "blink"
    lead = max(2, round(frames * (0.35 if quick else 0.25)))
    ramp = max(1, round(frames * (0.08 if quick else 0.12)))
    hold = max(1, round(frames * (0.1 if quick else 0.2)))
    steps = 0.5 - 0.5 * np.cos(np.pi * np.arange(1, ramp + 1) / (ramp + 1))
    body = np.concatenate([np.zeros(lead), steps, np.ones(hold), steps[::-1]])
    return np.concatenate([body, np.zeros(frames - len(body))])[:frames]


@dataclass(frozen=True)
class _Face:
    points: Points
    width: float  # jaw end to jaw end
    height: float  # brow to chin

    @classmethod
    def of(cls, points: Points) -> _Face:
        return cls(
            points=points,
            width=float(np.linalg.norm(points[16] - points[0])),
            height=float(points[8, 1] - points[17:27, 1].min()),
        )


def synthesise(
    photo: npt.NDArray[np.uint8] | Path,
    action: Action,
    *,
    frames: int = DEFAULT_FRAMES,
    seed: int = 0,
    check: bool = True,
    calibrated: list[Reach] | None = None,
) -> list[Image]:
    """RGB frames of the person in `photo` performing `action`, neutral at both ends.

    `calibrated`, when given, receives the calibration (`Reach`): whether this face could be
    brought to the action's target at all.

    The full-strength pose is calibrated on this photo first (`calibrate`), so the action reaches
    the same measured magnitude whoever the portrait shows.

    Raises `FaceCountError` unless the photo shows exactly one face, `UnreadableImageError` for bytes
    that are not an image, `ValueError` for an unknown action or a frame count out of range.
    With `check`, every posed frame is run through the face detector and, if the face is lost,
    re-rendered with a slightly weaker pose (up to RETRIES times).
    """
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}; choose one of {', '.join(ACTIONS)}")
    strengths = envelope(action, frames)
    image = load_rgb(photo)
    face = _Face.of(single_face(image))
    reach = _calibrate(image, face, action)
    if calibrated is not None:
        calibrated.append(reach)
    amount = reach.amount
    rng = np.random.default_rng(seed)
    motion = _motion_path(rng, frames)
    result = []
    for index, planned in enumerate(strengths):
        strength = float(planned)
        frame = _camera(_pose(image, face, action, strength * amount), face, motion[index], rng)
        # A strong pose can push the face past what the frontal detector finds; ease it off a
        # little rather than hand QA a frame that only tests the detector.
        for _ in range(RETRIES if check and strength > 0 else 0):
            if _detectable(frame):
                break
            strength *= 0.85
            frame = _camera(_pose(image, face, action, strength * amount), face, motion[index], rng)
        result.append(frame)
    return result


def _detectable(frame: Image) -> bool:
    """One face, both in the frame and after the JPEG round trip a client upload goes through."""
    if len(find_faces(frame)) != 1:
        return False
    bgr = cv2.cvtColor(frame, cv2.COLOR_RGB2BGR)
    ok, encoded = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, 85])
    decoded = cv2.imdecode(encoded, cv2.IMREAD_COLOR) if ok else None
    if decoded is None:
        return False
    rgb = np.asarray(cv2.cvtColor(decoded, cv2.COLOR_BGR2RGB), dtype=np.uint8)
    return len(find_faces(rgb)) == 1


def pose(photo: npt.NDArray[np.uint8] | Path, action: Action, strength: float) -> Image:
    """One still of `action` at `strength` (0 neutral, 1 full), without camera motion or noise.

    Full strength is the calibrated one `synthesise` uses. Useful to derive a slightly different
    photo of the same person (e.g. a small head turn).
    """
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}; choose one of {', '.join(ACTIONS)}")
    image = load_rgb(photo)
    face = _Face.of(single_face(image))
    strength = min(max(strength, 0.0), 1.0)
    if strength == 0.0:
        return image
    return _pose(image, face, action, strength * _calibrate(image, face, action).amount)


# --- calibration -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Signals:
    """What the service reads off one frame: eye aspect ratio, inner-mouth ratio, yaw (degrees).

    The same measures as `app.face.worker.analyse_image` (`app.face.geometry`).
    """

    ear: float
    mar: float
    yaw: float

    @classmethod
    def of(cls, points: Points, image_size: tuple[int, int]) -> Signals:
        height, width = image_size
        return cls(
            ear=geometry.eye_aspect_ratio(points),
            mar=geometry.mouth_aspect_ratio(points),
            yaw=geometry.head_pose(points, width, height)[0],
        )


@dataclass(frozen=True)
class Change:
    """A posed frame's signals against the neutral photo's, as the service compares them.

    The service judges actions relative to the person's own neutral state: a blink by the ratio of
    the eye aspect ratio to the open eye's, a mouth opening and a turn by the difference.
    """

    ear_ratio: float
    mouth: float
    yaw: float

    @classmethod
    def between(cls, neutral: Signals, posed: Signals) -> Change:
        return cls(
            ear_ratio=posed.ear / neutral.ear if neutral.ear > 0 else 1.0,
            mouth=posed.mar - neutral.mar,
            yaw=posed.yaw - neutral.yaw,
        )

    def toward(self, action: Action) -> float:
        """How far this change goes in the direction of `action` (larger is more)."""
        if action == "blink":
            return 1.0 - self.ear_ratio
        if action == "open_mouth":
            return self.mouth
        return self.yaw if action == "turn_left" else -self.yaw


# How far the signals of the actions not asked for may move at full strength: a person doing one
# action keeps the others near neutral (the service fires open_mouth at +0.25 and a turn at 18
# degrees, and fails a session on one it did not ask for).
STRAY_MOUTH: Final = 0.1
STRAY_YAW: Final = 8.0


def stays_single(change: Change, action: Action) -> bool:
    """Whether `change` shows `action` alone: the mouth and the yaw stay near neutral unless asked.

    Eye closure is not held to this: the service tolerates a blink anywhere.
    """
    mouth_ok = action == "open_mouth" or change.mouth < STRAY_MOUTH  # lips pressed is no opening
    yaw_ok = action in ("turn_left", "turn_right") or abs(change.yaw) < STRAY_YAW
    return mouth_ok and yaw_ok


@dataclass(frozen=True)
class Reach:
    """The calibrated full-strength warp of an action on one photo, and what it measured as.

    `amount` is in the action's own unit: for a blink how far the upper lid travels (1.0 to the
    lower lid, more for a firmly shut eye), for open_mouth the jaw drop in mouth widths, for a
    turn the head's angle in degrees. `changes` holds the change each landmark fit measured (see
    `_readings`); `reached` is the weaker of them along the action (so every fit sees it), in
    `Change.toward` units; `single` is whether no fit saw another action move (`stays_single`).
    """

    action: Action
    amount: float
    changes: tuple[Change, ...]
    reached: float
    single: bool


@dataclass(frozen=True)
class Target:
    """Where calibration aims an action, and the warp amounts it may try.

    `aim` and the accepted band [`lowest`, `highest`] are in `Change.toward` units.
    """

    start: float
    low: float
    high: float
    aim: float
    lowest: float
    highest: float


# What a person asked to act does, as the service measures it against their neutral face: a
# blink closes the eyes (eye aspect ratio ~0.1 against ~0.3 open, so a ratio at or below 0.5 of
# the open eye), an opened mouth reads 0.5-0.9 inner-lip opening over mouth width, a turn is
# 25-40 degrees. Calibration aims inside those bands with a margin, so that camera motion, JPEG
# and the landmark model's frame-to-frame jitter keep a sequence there. The amounts' bounds are
# where the warps stop looking like a face to the landmark model.
TARGETS: Final[dict[Action, Target]] = {
    "blink": Target(start=1.0, low=1.0, high=2.0, aim=0.6, lowest=0.5, highest=0.85),
    "open_mouth": Target(start=0.5, low=0.2, high=0.9, aim=0.6, lowest=0.5, highest=0.85),
    "turn_left": Target(start=28.0, low=10.0, high=45.0, aim=30.0, lowest=27.0, highest=34.0),
    "turn_right": Target(start=28.0, low=10.0, high=45.0, aim=30.0, lowest=27.0, highest=34.0),
}
CALIBRATION_STEPS: Final = 4
# A best try reading under this share of the aim means the landmark fits do not follow the face.
UNFOLLOWED: Final = 0.33


def calibrate(photo: npt.NDArray[np.uint8] | Path, action: Action) -> Reach:
    """The full-strength warp of `action` for this photo and the change it measured as."""
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}; choose one of {', '.join(ACTIONS)}")
    image = load_rgb(photo)
    return _calibrate(image, _Face.of(single_face(image)), action)


def _readings(image: Image) -> list[Signals | None]:
    """The frame's signals from two independent 68-point landmark fits, None where one lost the face.

    One is the QA tools' own (face_recognition: landmarks started from the upsampled HOG box),
    the other the service's own per-frame analysis (landmarks started from a box derived from the
    five-point model). The two can read the same eye or mouth differently; an action counts as
    reached only when both see it. The service's reading comes last.
    """
    faces = find_faces(image)
    own = Signals.of(faces[0], image.shape[:2]) if len(faces) == 1 else None
    analysis = analyse_image(image)
    service = (
        Signals(ear=analysis.ear, mar=analysis.mar, yaw=analysis.yaw)
        if analysis.has_single_face
        else None
    )
    return [own, service]


def _calibrate(image: Image, face: _Face, action: Action) -> Reach:
    """Search the warp amount whose full-strength pose measures as `TARGETS[action]`.

    A fixed warp does not give a fixed result: how far the landmark model follows a moved lid,
    lip or nose depends on the face, its expression and the photo. So the full-strength pose is
    rendered, measured against the neutral photo and the amount corrected, for at most
    CALIBRATION_STEPS renders (`_next_amount`). An amount at which a fit loses the face, or sees
    another action too, is too strong. When nothing lands in the accepted band, the try nearest
    the aim among those showing the action alone is kept, unless even that reads under
    UNFOLLOWED of the aim: then the nominal amount (`Target.start`) is.
    """
    target = TARGETS[action]
    neutral = _readings(image)
    tried: list[Reach] = []
    lost: list[float] = []
    amount = target.start
    for _ in range(CALIBRATION_STEPS):
        posed = _readings(_pose(image, face, action, amount))
        pairs = [(before, after) for before, after in zip(neutral, posed, strict=True) if before and after]
        # The service's fit is the judge: where only the QA fit loses the face (its detector is
        # the stricter on small faces), the try counts with the service's reading alone.
        if not pairs or (neutral[-1] is not None and posed[-1] is None):
            lost.append(amount)
            _log.debug("%s at %.3f: face lost", action, amount)
        else:
            changes = tuple(Change.between(before, after) for before, after in pairs)
            reach = Reach(
                action=action,
                amount=amount,
                changes=changes,
                reached=min(change.toward(action) for change in changes),
                single=all(stays_single(change, action) for change in changes),
            )
            tried.append(reach)
            _log.debug("%s at %.3f: %.3f (single: %s) %s", action, amount, reach.reached, reach.single, changes)
            if reach.single and target.lowest <= reach.reached <= target.highest:
                return reach
        following = _next_amount(tried, lost, target)
        if following is None:
            break
        amount = following
    usable = [reach for reach in tried if reach.single]
    if usable:
        best = min(usable, key=lambda reach: abs(reach.reached - target.aim))
        nominal = next((reach for reach in usable if reach.amount == target.start), None)
        if best.reached < UNFOLLOWED * target.aim and nominal is not None:
            # The fits are not following this face at all (a small face, a moustache over the
            # lips): their readings say nothing about the amount, so keep the nominal warp.
            return nominal
        return best
    if tried:
        return min(tried, key=lambda reach: reach.amount)
    return Reach(action=action, amount=target.low, changes=(), reached=0.0, single=True)


def _next_amount(tried: list[Reach], lost: list[float], target: Target) -> float | None:
    """The next amount to try, or None when it would repeat one already tried.

    Too strong is an amount at which the face was lost, another action showed or the action
    overshot the band. Below the weakest too-strong amount the response is taken as rising with
    the amount: proportional from a too-weak try, a secant between a too-weak and an overshooting
    one, a bisection towards a lost or mixed one. But the landmark model stops following a warp
    beyond some point and then reads less: when a stronger try reads less than a weaker one, the
    search turns to the peak (below the weakest try if that read the most, else between the best
    and the next stronger one), since the band may be out of reach for this face.
    """
    span = target.high - target.low
    single = sorted((reach for reach in tried if reach.single), key=lambda reach: reach.amount)
    strong = [reach.amount for reach in tried if not reach.single or reach.reached > target.highest]
    ceiling = min([*lost, *strong], default=math.inf)
    rising = [reach for reach in single if reach.amount < ceiling]
    best = max(rising, key=lambda reach: reach.reached, default=None)
    stronger = [reach for reach in rising if best and reach.amount > best.amount]
    overshoot = next(
        (reach for reach in single if reach.amount == ceiling and reach.reached > target.highest), None
    )
    if best is None:
        following = (target.low + min(ceiling, target.high)) / 2.0
    elif stronger:  # past the peak
        following = (
            max(target.low, best.amount - 0.25 * span) if best is rising[0]
            else (best.amount + stronger[0].amount) / 2.0
        )
    elif overshoot is not None and overshoot.reached > best.reached:
        slope = (overshoot.reached - best.reached) / (overshoot.amount - best.amount)
        following = best.amount + (target.aim - best.reached) / slope
        following = min(max(following, best.amount + 0.15 * (ceiling - best.amount)),
                        ceiling - 0.15 * (ceiling - best.amount))
    elif ceiling < math.inf:
        following = (best.amount + ceiling) / 2.0
    elif best.reached <= 0.05 * target.aim:
        following = (best.amount + target.high) / 2.0
    else:
        following = min(best.amount * target.aim / best.reached, target.high)
    following = min(max(following, target.low), target.high)
    if any(abs(following - amount) < 0.01 * span for amount in [*lost, *(r.amount for r in tried)]):
        return None
    return following


def _pose(image: Image, face: _Face, action: Action, amount: float) -> Image:
    """The still warped by `amount` in the action's unit (see `Reach`); 0 is the photo itself."""
    if amount <= 0.0:
        return image
    if action == "blink":
        return _blink(image, face, amount)
    if action == "open_mouth":
        return _open_mouth(image, face, amount)
    return _turn(image, face, amount if action == "turn_left" else -amount)


def _to_image(values: npt.NDArray[np.floating[Any]]) -> Image:
    return np.asarray(np.clip(values, 0, 255), dtype=np.uint8)


def _grid(shape: tuple[int, ...]) -> tuple[Field, Field]:
    ys, xs = np.mgrid[0 : shape[0], 0 : shape[1]].astype(np.float32)
    return xs, ys


def _interp(x: npt.NDArray[np.float64], points: Points) -> npt.NDArray[np.float64]:
    """y of the polyline through `points` (sorted by x) at each x, flat beyond its ends."""
    order = np.argsort(points[:, 0])
    return np.asarray(np.interp(x, points[order, 0], points[order, 1]), dtype=np.float64)


def _blink(image: Image, face: _Face, travel: float) -> Image:
    """Both upper lids slide down over the eyes by `travel` of the eye's opening (1.0: closed).

    Only a thin band of lid skin just above each eye is stretched down with the lid margin, so
    that what lies higher (the brow, the rim of a pair of glasses) stays where it is, as it does
    in a real blink. The newly covered area is painted with that eye's own lid skin, keeping a
    little of the warped texture, and a lash line is drawn where the lid comes to rest. A travel
    beyond 1.0 (up to 2.0) is an eye shut firmly rather than just closed: the lashes meet in a
    thicker, darker line, which is what a landmark model needs to put both lids on it when the
    open eye's outline still shows through the painted lid.
    """
    p = face.points
    cover = min(travel, 1.0)
    firm = min(max(travel - 1.0, 0.0), 1.0)
    xs, ys = _grid(image.shape)
    map_y = ys.copy()
    lid = np.zeros(image.shape[:2], dtype=np.float32)  # newly covered area, for the skin tint
    lash = np.zeros(image.shape[:2], dtype=np.float32)
    output = image.astype(np.float32)
    for eye, brow in ((slice(36, 42), slice(17, 22)), (slice(42, 48), slice(22, 27))):
        e = p[eye]
        width = float(np.linalg.norm(e[3] - e[0]))
        x0 = max(0, int(np.floor(e[0, 0] - 0.1 * width)))
        x1 = min(image.shape[1], int(np.ceil(e[3, 0] + 0.1 * width)) + 1)
        cols = np.arange(x0, x1, dtype=np.float64)
        upper = _interp(cols, e[[0, 1, 2, 3]])
        lower = _interp(cols, e[[0, 5, 4, 3]])
        # The landmark lids sit on the lid margin; the visible opening reaches a bit beyond.
        gap = np.maximum(lower - upper, 0.0)
        upper = upper - 0.25 * gap
        lower = lower + 0.15 * gap
        brow_y = _interp(cols, p[brow])
        reach = np.minimum(0.45 * np.maximum(upper - brow_y, 0.0), 0.12 * width + 0.5 * gap)
        top = upper - reach
        closed = upper + cover * (lower - upper)
        y0 = max(0, int(np.floor(top.min())))
        y1 = min(image.shape[0], int(np.ceil(lower.max())) + 2)
        rows = np.arange(y0, y1, dtype=np.float64)[:, None]
        stretch = (upper - top) / np.maximum(closed - top, 1e-6)
        above = (rows >= top) & (rows < closed)
        src = np.where(above, top + (rows - top) * stretch, rows)
        map_y[y0:y1, x0:x1] = src.astype(np.float32)
        covered = (rows >= upper - 0.1 * gap) & (rows < closed)
        lid[y0:y1, x0:x1] = np.maximum(lid[y0:y1, x0:x1], covered.astype(np.float32))
        lash_rows = np.abs(rows - closed) < max(1.0, (0.06 + 0.02 * firm) * width)
        lash[y0:y1, x0:x1] = np.maximum(lash[y0:y1, x0:x1], lash_rows * (gap > 0.5))
        band = (rows >= top) & (rows < upper - 0.3 * (upper - top))
        output[y0:y1, x0:x1] = _lid_skin(image, image[y0:y1, x0:x1][band], lower, (x0, x1), width)
    warped = cv2.remap(image, xs, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT101)
    warped_f = warped.astype(np.float32)
    lid = cv2.GaussianBlur(lid, (0, 0), 0.8)[..., None] * (0.9 * cover)
    lash = cv2.GaussianBlur(lash, (0, 0), 0.7)[..., None] * (0.55 * cover + 0.25 * firm)
    # `output` holds, around each eye, that eye's lid skin colour.
    blended = warped_f * (1.0 - lid) + output * lid
    blended *= 1.0 - lash
    return _to_image(blended)


def _lid_skin(
    image: Image,
    band: npt.NDArray[np.uint8],
    lower: npt.NDArray[np.float64],
    span: tuple[int, int],
    width: float,
) -> npt.NDArray[np.float32]:
    """Skin colour of a closed lid: that of the band just above the eye, its brighter half.

    Lashes, shadows and the rim of glasses are darker than skin, hence the brighter half. Where
    the brow sits right on the lid (a frown, low brows) even that is dark, and a dark patch
    between the lids reads as an open eye: the lid is kept at least as light as a shade of the
    skin under the eye.
    """
    x0, x1 = span
    a = min(max(int(lower.max() + 0.2 * width), 0), image.shape[0] - 1)
    b = min(max(int(lower.max() + 0.5 * width), a + 1), image.shape[0])
    under = _bright_half(image[a:b, x0:x1].reshape(-1, 3))
    region = band.reshape(-1, 3)
    skin = _bright_half(region) if len(region) else under
    return np.asarray(np.maximum(skin, 0.7 * under), np.float32)


def _bright_half(pixels: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
    """Median colour of the brighter half of some pixels (N, 3)."""
    values = pixels.astype(np.float32)
    luma = values.mean(axis=1)
    return np.asarray(np.median(values[luma >= np.percentile(luma, 50)], axis=0), np.float32)


def _open_mouth(image: Image, face: _Face, drop_widths: float) -> Image:
    """The jaw drops by `drop_widths` mouth widths; the lips part in an oval between the corners.

    Each column is moved down as a whole below the line where the lips meet: the lower lip by the
    oval's depth there (nothing at the corners), the chin and jaw below it by the full drop
    across the chin, fading out towards the jaw's angles, and the neck under the chin is
    compressed back to nothing. The column's map is inverted exactly (it is increasing), and the
    rows that no source reaches, the oval between the lips, are the open mouth: dark in the
    middle, warmer towards the lips, with a hint of upper teeth where the mouth was closed.
    """
    p = face.points
    height, width = image.shape[:2]
    mouth_width = float(np.linalg.norm(p[54] - p[48]))
    drop = drop_widths * mouth_width
    centre = float((p[48, 0] + p[54, 0]) / 2.0)
    half = 0.45 * mouth_width
    cols = np.arange(width, dtype=np.float64)
    inner_top = _interp(cols, p[[48, 60, 61, 62, 63, 64, 54]])
    inner_bottom = _interp(cols, p[[48, 60, 67, 66, 65, 64, 54]])
    # The jaw hinges between the teeth: upper teeth stay, lower lip and teeth go down.
    split = (inner_top + inner_bottom) / 2.0
    chin = _interp(cols, p[3:14])
    jaw_half = float(p[12, 0] - p[4, 0]) / 2.0
    u = (cols - centre) / half
    lens = np.clip(1.0 - u * u, 0.0, 1.0) ** 0.6
    v = np.clip((np.abs(cols - centre) - half) / max(jaw_half - half, 1.0), 0.0, 1.0)
    broad = np.where(np.abs(cols - centre) <= half, 1.0, 0.5 + 0.5 * np.cos(np.pi * v))
    opening = drop * lens  # how far the lower lip goes down, per column
    jaw = JAW_SHARE * drop * broad  # how far the chin goes down
    lip = max(float(p[57, 1] - p[66, 1]), 2.0)
    rows = np.arange(height, dtype=np.float64)[:, None]
    depth = rows - split[None, :]
    # From the lower lip's move to the chin's, over a stretch long enough to stay fold-free.
    blend = np.clip((depth - lip) / max(1.5 * lip, 1.2 * drop), 0.0, 1.0)
    blend = blend * blend * (3.0 - 2.0 * blend)
    move = opening[None, :] * (1.0 - blend) + jaw[None, :] * blend
    below_chin = rows - chin[None, :]
    neck = np.clip(1.0 - below_chin / (3.0 * drop + 1e-6), 0.0, 1.0)
    move = np.where(below_chin > 0, move * neck, move)
    move = np.where(depth >= 0, move, 0.0)
    landed = rows + move  # where each source row ends up, per column
    src_y = np.empty((height, width), dtype=np.float32)
    out_rows = np.arange(height, dtype=np.float64)
    for col in range(width):
        column = np.maximum.accumulate(landed[:, col]) + out_rows * 1e-6
        src_y[:, col] = np.interp(out_rows, column, out_rows)
    xs, _ = _grid(image.shape)
    warped = np.asarray(
        cv2.remap(image, xs, src_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT101), np.uint8
    )
    inside = np.clip(depth / np.maximum(opening[None, :], 1e-6), 0.0, 1.0)
    gap = (depth > 0) & (depth < opening[None, :])
    # A thin warm fringe where the lips turn inwards, the dark of the mouth right behind it: the
    # contrast at the inner lip line is what a landmark model finds the lips by.
    fringe = np.clip(1.0 - np.minimum(inside, 1.0 - inside) * opening[None, :] / 2.0, 0.0, 1.0)
    throat = np.array([34.0, 13.0, 12.0], dtype=np.float32)
    lips = np.array([112.0, 48.0, 40.0], dtype=np.float32)
    interior = throat + (lips - throat) * (0.4 * fringe)[..., None].astype(np.float32)
    closed = float(np.clip(1.0 - (p[66, 1] - p[62, 1]) / (0.08 * mouth_width), 0.0, 1.0))
    teeth = np.clip(1.0 - depth / (0.1 * mouth_width + 1e-6), 0.0, 1.0) * lens[None, :] * closed
    teeth_colour = np.array([200.0, 190.0, 175.0], dtype=np.float32)
    interior += (teeth_colour - interior) * (0.5 * teeth[..., None]).astype(np.float32)
    mask = np.asarray(cv2.GaussianBlur(gap.astype(np.float32), (0, 0), 0.9), np.float32)[..., None]
    blended = warped.astype(np.float32) * (1.0 - mask) + interior * mask
    return _to_image(blended)


def _turn(image: Image, face: _Face, degrees: float) -> Image:
    """Rotate the head about a vertical axis by `degrees`; positive moves the nose to image right.

    The head is modelled as a cylinder of superellipse section (flat across the eyes, rounding
    off towards the ears: HEAD_DEPTH, HEAD_ROUNDNESS) with the nose standing out of it. Each
    pixel moves to ``x' = c + u cos(a) + z sin(a)``; the move fades out beyond the head and down
    the neck. Towards the ears the far side folds behind the near one: there the nearer surface
    is kept, as the camera would see it.

    The nose's relief ends above the upper lip (`_nose_relief`): were the philtrum carried
    sideways with the nose and the lower lip not, the lips would shear apart and the landmark
    model read an open mouth.
    """
    p = face.points
    xs, ys = _grid(image.shape)
    angle = float(np.radians(degrees))
    centre_x = float((p[0, 0] + p[16, 0]) / 2.0)
    radius = TURN_RADIUS * face.width
    u = xs - centre_x
    inside = np.abs(u) <= radius
    across = np.clip(np.abs(u) / radius, 0.0, 1.0)
    depth = HEAD_DEPTH * face.width * (1.0 - across**HEAD_ROUNDNESS) ** (1.0 / HEAD_ROUNDNESS)
    depth = depth + NOSE_DEPTH * face.width * _nose_relief(face, xs, ys)
    # Part of the swing is the neck's, not the face's: keep the head from sliding sideways.
    slide = -0.35 * radius * np.sin(angle)
    forward = u * (np.cos(angle) - 1.0) + depth * np.sin(angle) + slide
    edge = np.sign(u) * radius * (np.cos(angle) - 1.0) + slide
    beyond = np.clip(1.0 - (np.abs(u) - radius) / (0.35 * radius), 0.0, 1.0)
    forward = np.where(inside, forward, edge * beyond)
    top = float(p[17:27, 1].min()) - 0.9 * face.height
    bottom = float(p[8, 1])
    fall = 0.45 * face.height
    vertical = np.clip(np.minimum((ys - top) / fall + 1.0, (bottom + fall - ys) / fall), 0.0, 1.0)
    vertical = 0.5 - 0.5 * np.cos(np.pi * vertical)
    forward = (forward * vertical).astype(np.float32)
    # Invert each row's forward map x -> x + d(x) by interpolation. Where it folds (the far side
    # passing behind the near one), the surface nearer the camera hides the other: scanning from
    # the far side, a point that lands behind one already placed is hidden.
    columns = xs[0]
    map_x = np.empty_like(xs)
    ramp = np.arange(columns.size, dtype=np.float32) * 1e-4  # keeps the samples strictly rising
    for row in range(image.shape[0]):
        landed = columns + forward[row]
        if degrees >= 0:
            visible = np.maximum.accumulate(landed) + ramp
        else:
            visible = (np.minimum.accumulate(landed[::-1]) - ramp)[::-1]
        map_x[row] = np.interp(columns, visible, columns)
    warped = cv2.remap(image, map_x, ys, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT101)
    # The side turning away catches a little less light.
    side = np.clip(u / radius * np.sign(degrees), 0.0, 1.0)
    shade = 1.0 - 0.08 * min(abs(degrees) / 30.0, 1.5) * side * vertical
    return _to_image(warped.astype(np.float32) * shade[..., None])


def _nose_relief(face: _Face, xs: Field, ys: Field) -> Field:
    """How far the nose stands out of the face, 0 to 1 (its tip), as a smooth field.

    Along the nose (a ridge from the bridge, 27, over the tip, 30, to its base, 33) the relief
    rises from nothing between the eyes to the tip and falls back at the base, reaching nothing
    halfway between the nose's base and the top of the upper lip (51). Across, it is a Gaussian
    of the nose's width.
    """
    p = face.points
    bridge, tip, base, lip = (float(p[i, 1]) for i in (27, 30, 33, 51))
    length = max(base - bridge, 1.0)
    below = max(0.5 * (lip - base), 1.0)
    heights = np.array([bridge - 0.15 * length, bridge, tip, base, base + below], dtype=np.float64)
    relief = np.array([0.0, 0.3, 1.0, 0.45, 0.0], dtype=np.float64)
    order = np.maximum.accumulate(heights) + np.arange(5) * 1e-3  # tolerate odd landmark orders
    along = np.interp(ys[:, 0].astype(np.float64), order, relief).astype(np.float32)
    nose_x = float(p[27:36, 0].mean())
    across = np.exp(-0.5 * ((xs[0] - nose_x) / (0.09 * face.width)) ** 2).astype(np.float32)
    return np.asarray(along[:, None] * across[None, :], dtype=np.float32)


@dataclass(frozen=True)
class _Motion:
    dx: float
    dy: float
    scale: float
    angle: float  # degrees
    gain: float
    offset: float


def _motion_path(rng: np.random.Generator, frames: int) -> list[_Motion]:
    """A hand-held camera: small random walks in position, scale, roll and exposure."""

    def walk(step: float, limit: float) -> npt.NDArray[np.float64]:
        return np.clip(np.cumsum(rng.normal(0.0, step, frames)), -limit, limit)

    dx, dy = walk(0.35, 2.0), walk(0.35, 2.0)
    scale, angle = 1.0 + walk(0.002, 0.015), walk(0.15, 1.0)
    gain, offset = 1.0 + walk(0.008, 0.04), walk(0.6, 4.0)
    return [
        _Motion(float(dx[i]), float(dy[i]), float(scale[i]), float(angle[i]),
                float(gain[i]), float(offset[i]))
        for i in range(frames)
    ]


def _camera(image: Image, face: _Face, motion: _Motion, rng: np.random.Generator) -> Image:
    centre = tuple(float(v) for v in face.points[27:36].mean(axis=0))
    matrix = np.asarray(cv2.getRotationMatrix2D(centre, motion.angle, motion.scale))
    matrix[:, 2] += np.array([motion.dx, motion.dy])
    moved = np.asarray(
        cv2.warpAffine(
            image, matrix, (image.shape[1], image.shape[0]),
            flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT101,
        ),
        dtype=np.float32,
    )
    noise = rng.normal(0.0, 2.0, moved.shape).astype(np.float32)
    exposed = moved * motion.gain + motion.offset + noise
    return _to_image(np.rint(exposed))


def write_jpegs(frames: list[Image], out: Path, *, quality: int = 85) -> list[Path]:
    """Write `frames` as 000.jpg, 001.jpg, … into `out` (created if missing)."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for index, frame in enumerate(frames):
        path = out / f"{index:03d}.jpg"
        bgr = cv2.cvtColor(frame, cv2.COLOR_RGB2BGR)
        if not cv2.imwrite(str(path), bgr, [cv2.IMWRITE_JPEG_QUALITY, quality]):
            raise OSError(f"could not write {path}")
        written.append(path)
    return written
