"""Synthesise a short camera sequence of a liveness action from one frontal still portrait.

QA needs frame sequences of people the service has never seen, doing whatever a liveness session
asks. `synthesise` finds the face's 68 landmarks once and warps the still, frame by frame, along an
envelope that starts and ends neutral:

- ``blink``: both upper lids slide down to the lower lids and back; the skin between brow and lid
  is stretched over the eye and tinted towards the lid's own skin colour, the lash line darkened.
- ``open_mouth``: the lower lip, chin and jaw move down, the gap behind the lips is filled with a
  dark mouth interior, the neck under the chin is compressed.
- ``turn_left`` / ``turn_right``: a horizontal, perspective-like warp of the head region that
  compresses the side turning away and carries the nose further than the cheeks, enough to move
  the landmark-estimated yaw by well over 20 degrees.

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

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal, get_args

import cv2
import numpy as np
import numpy.typing as npt

from app.qa.landmarks import Image, Points, find_faces, single_face

Action = Literal["blink", "open_mouth", "turn_left", "turn_right"]
ACTIONS: Final[tuple[Action, ...]] = get_args(Action)

DEFAULT_FRAMES: Final = 16
MIN_FRAMES: Final = 8
MAX_FRAMES: Final = 120
MAX_SIDE: Final = 480
TURN_DEGREES: Final = 28.0
TURN_RADIUS: Final = 0.7  # of the jaw width: the head with its hair
NOSE_DEPTH: Final = 0.25  # of the jaw width, in front of the cheeks
RETRIES: Final = 3
Field = npt.NDArray[np.float32]


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
) -> list[Image]:
    """RGB frames of the person in `photo` performing `action`, neutral at both ends.

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
    rng = np.random.default_rng(seed)
    motion = _motion_path(rng, frames)
    result = []
    for index, planned in enumerate(strengths):
        strength = float(planned)
        frame = _camera(_pose(image, face, action, strength), face, motion[index], rng)
        # A strong pose can push the face past what the frontal detector finds; ease it off a
        # little rather than hand QA a frame that only tests the detector.
        for _ in range(RETRIES if check and strength > 0 else 0):
            if _detectable(frame):
                break
            strength *= 0.85
            frame = _camera(_pose(image, face, action, strength), face, motion[index], rng)
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

    Useful to derive a slightly different photo of the same person (e.g. a small head turn).
    """
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}; choose one of {', '.join(ACTIONS)}")
    image = load_rgb(photo)
    return _pose(image, _Face.of(single_face(image)), action, min(max(strength, 0.0), 1.0))


def _pose(image: Image, face: _Face, action: Action, strength: float) -> Image:
    if strength <= 0.0:
        return image
    if action == "blink":
        return _blink(image, face, strength)
    if action == "open_mouth":
        return _open_mouth(image, face, strength)
    return _turn(image, face, strength if action == "turn_left" else -strength)


def _to_image(values: npt.NDArray[np.floating[Any]]) -> Image:
    return np.asarray(np.clip(values, 0, 255), dtype=np.uint8)


def _grid(shape: tuple[int, ...]) -> tuple[Field, Field]:
    ys, xs = np.mgrid[0 : shape[0], 0 : shape[1]].astype(np.float32)
    return xs, ys


def _interp(x: npt.NDArray[np.float64], points: Points) -> npt.NDArray[np.float64]:
    """y of the polyline through `points` (sorted by x) at each x, flat beyond its ends."""
    order = np.argsort(points[:, 0])
    return np.asarray(np.interp(x, points[order, 0], points[order, 1]), dtype=np.float64)


def _blink(image: Image, face: _Face, strength: float) -> Image:
    """Both upper lids slide down over the eyes; at full strength the eyes are fully closed.

    Only a thin band of lid skin just above each eye is stretched down with the lid margin, so
    that what lies higher (the brow, the rim of a pair of glasses) stays where it is, as it does
    in a real blink. The newly covered area is painted with that eye's own lid skin, keeping a
    little of the warped texture, and a lash line is drawn where the lid comes to rest.
    """
    p = face.points
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
        closed = upper + strength * (lower - upper)
        y0 = max(0, int(np.floor(top.min())))
        y1 = min(image.shape[0], int(np.ceil(lower.max())) + 2)
        rows = np.arange(y0, y1, dtype=np.float64)[:, None]
        stretch = (upper - top) / np.maximum(closed - top, 1e-6)
        above = (rows >= top) & (rows < closed)
        src = np.where(above, top + (rows - top) * stretch, rows)
        map_y[y0:y1, x0:x1] = src.astype(np.float32)
        covered = (rows >= upper - 0.1 * gap) & (rows < closed)
        lid[y0:y1, x0:x1] = np.maximum(lid[y0:y1, x0:x1], covered.astype(np.float32))
        lash_rows = np.abs(rows - closed) < max(1.0, 0.06 * width)
        lash[y0:y1, x0:x1] = np.maximum(lash[y0:y1, x0:x1], lash_rows * (gap > 0.5))
        # Skin colour of this eye's lid: the band just above the upper lid, its brighter part
        # (lashes, shadows and the rim of glasses are darker than skin).
        band = (rows >= top) & (rows < upper - 0.3 * (upper - top))
        region = image[y0:y1, x0:x1][band].reshape(-1, 3).astype(np.float32)
        if len(region):
            luma = region.mean(axis=1)
            bright = region[luma >= np.percentile(luma, 50)]
            skin = np.median(bright, axis=0).astype(np.float32)
            output[y0:y1, x0:x1] = skin
    warped = cv2.remap(image, xs, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT101)
    warped_f = warped.astype(np.float32)
    lid = cv2.GaussianBlur(lid, (0, 0), 0.8)[..., None] * (0.9 * strength)
    lash = cv2.GaussianBlur(lash, (0, 0), 0.7)[..., None] * (0.55 * strength)
    # `output` holds, around each eye, that eye's lid skin colour.
    blended = warped_f * (1.0 - lid) + output * lid
    blended *= 1.0 - lash
    return _to_image(blended)


def _open_mouth(image: Image, face: _Face, strength: float) -> Image:
    p = face.points
    xs, ys = _grid(image.shape)
    mouth_width = float(np.linalg.norm(p[54] - p[48]))
    drop = strength * 0.38 * mouth_width
    centre = float((p[48, 0] + p[54, 0]) / 2.0)
    half = 0.45 * mouth_width
    cols = xs[0].astype(np.float64)
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
    lip = max(float(p[57, 1] - p[66, 1]), 2.0)
    rows = ys.astype(np.float64)
    depth = rows - split
    t = np.clip(depth / (1.5 * lip), 0.0, 1.0)
    shift = drop * (lens * (1.0 - t) + broad * t)
    below_chin = rows - chin
    fade = np.clip(1.0 - below_chin / (3.0 * drop + 1e-6), 0.0, 1.0)
    shift = np.where(below_chin > 0, shift * fade, shift)
    shift = np.where(depth > 0, shift, 0.0)
    src = rows - shift
    warped = cv2.remap(
        image, xs, src.astype(np.float32), cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT101
    ).astype(np.float32)
    # Output pixels that would sample from above the hinge line are the newly opened mouth:
    # dark in the middle, warmer towards the lips, with a hint of upper teeth on a closed mouth.
    gap = (depth > 0) & (src < split)
    inside = np.clip((rows - split) / np.maximum(shift, 1e-6), 0.0, 1.0)
    edge = np.sin(np.pi * inside) * lens
    throat = np.array([34.0, 13.0, 12.0], dtype=np.float32)
    lips = np.array([112.0, 48.0, 40.0], dtype=np.float32)
    interior = throat + (lips - throat) * (1.0 - edge)[..., None].astype(np.float32) * 0.6
    closed = float(np.clip(1.0 - (p[66, 1] - p[62, 1]) / (0.08 * mouth_width), 0.0, 1.0))
    teeth = np.clip(1.0 - (rows - split) / (0.1 * mouth_width + 1e-6), 0.0, 1.0) * lens * closed
    teeth_colour = np.array([200.0, 190.0, 175.0], dtype=np.float32)
    interior += (teeth_colour - interior) * (0.5 * teeth[..., None]).astype(np.float32)
    mask = cv2.GaussianBlur(gap.astype(np.float32), (0, 0), 0.9)[..., None]
    blended = warped * (1.0 - mask) + interior * mask
    return _to_image(blended)


def _turn(image: Image, face: _Face, strength: float) -> Image:
    """Rotate the head about a vertical axis; positive strength moves the nose to image right.

    The head is modelled as a cylinder (a cosine depth profile, which stays fold-free up to about
    32 degrees) with the nose standing out of it. Each pixel moves to
    ``x' = c + u cos(a) + z sin(a)``; the move fades out beyond the head and down the neck.
    """
    p = face.points
    xs, ys = _grid(image.shape)
    angle = np.radians(TURN_DEGREES) * strength
    centre_x = float((p[0, 0] + p[16, 0]) / 2.0)
    radius = TURN_RADIUS * face.width
    u = xs - centre_x
    inside = np.abs(u) <= radius
    depth = radius * np.cos(0.5 * np.pi * np.clip(u / radius, -1.0, 1.0))
    # The nose: a ridge from the bridge (27) to the tip (30), widest at the nostrils.
    nose_top, nose_tip = float(p[27, 1]), float(p[33, 1])
    nose_x = float(p[27:36, 0].mean())
    along = np.clip((ys - nose_top) / max(nose_tip - nose_top, 1.0), 0.0, 1.2)
    ridge = np.exp(-0.5 * ((xs - nose_x) / (0.09 * face.width)) ** 2)
    ridge *= np.where(along < 1.0, 0.35 + 0.65 * along, np.clip(1.0 - (along - 1.0) * 5.0, 0, 1))
    ridge *= (ys >= nose_top - 0.05 * face.height).astype(np.float32)
    depth = depth + NOSE_DEPTH * face.width * ridge
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
    # Each row's forward map x -> x + d(x) is increasing, so it inverts exactly by interpolation.
    columns = xs[0]
    map_x = np.empty_like(xs)
    for row in range(image.shape[0]):
        map_x[row] = np.interp(columns, columns + forward[row], columns)
    warped = cv2.remap(image, map_x, ys, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT101)
    # The side turning away catches a little less light.
    side = np.clip(u / radius * np.sign(strength), 0.0, 1.0)
    shade = 1.0 - 0.08 * abs(strength) * side * vertical
    return _to_image(warped.astype(np.float32) * shade[..., None])


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
