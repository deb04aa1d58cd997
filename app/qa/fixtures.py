"""The one way tests, the benchmark and QA scripts load fixture images: checked against MANIFEST.json.

    from app.qa import fixtures
    fixtures.portrait("astronaut_card")           # RGB array of portraits/astronaut_card.jpg
    fixtures.frame_bytes("genuine/hopper/blink")  # JPEG bytes, in capture order
    fixtures.select(kind="impostor", action="blink")

Every read compares the file's sha256 with the manifest, so a fixture edited by hand (or
regenerated without updating the manifest) fails loudly instead of silently changing results.
"""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

import cv2
import msgspec
import numpy as np

from app.qa.landmarks import Image

FIXTURES_DIR = Path(__file__).resolve().parents[2] / "fixtures"


class FixtureError(Exception):
    """A fixture is missing, unknown, or does not match its manifest checksum."""


class Source(msgspec.Struct, frozen=True):
    package: str | None
    version: str | None
    function: str
    path: str | None
    licence: str
    shows: str
    sha256: str | None


class Person(msgspec.Struct, frozen=True):
    name: str
    source: str
    card_photo: str
    selfie: str


class FixtureFile(msgspec.Struct, frozen=True):
    sha256: str
    bytes: int
    width: int
    height: int
    source: str
    shows: str


class FixtureSet(msgspec.Struct, frozen=True):
    """A frame sequence and what the service should answer for it.

    `kind` is `genuine` or an attack (`impostor`, `card_photo`, `still_photo`, `screen_replay`,
    `print`, `no_face`, `two_faces`); `expected` is `passed` or the failure reason code;
    `card` names the person whose card the frames are presented against; `action` is the action
    the frames perform, or None for sequences that perform none.
    """

    kind: str
    person: str | None
    card: str | None
    action: str | None
    expected: str
    note: str
    frames: list[str]


class Manifest(msgspec.Struct, frozen=True):
    about: str
    generator: dict[str, object]
    sources: dict[str, Source]
    people: dict[str, Person]
    files: dict[str, FixtureFile]
    sets: dict[str, FixtureSet]


@cache
def load_manifest(root: Path = FIXTURES_DIR) -> Manifest:
    """The parsed fixtures/MANIFEST.json."""
    try:
        raw = (root / "MANIFEST.json").read_bytes()
    except FileNotFoundError:
        raise FixtureError(f"{root / 'MANIFEST.json'} is missing") from None
    return msgspec.json.decode(raw, type=Manifest)


def path(name: str, root: Path = FIXTURES_DIR) -> Path:
    """Absolute path of a fixture file named relative to fixtures/, after checking its sha256."""
    read_bytes(name, root)
    return root / name


@cache
def read_bytes(name: str, root: Path = FIXTURES_DIR) -> bytes:
    """The bytes of a fixture file, refused unless listed in the manifest with this sha256."""
    entry = load_manifest(root).files.get(name)
    if entry is None:
        raise FixtureError(f"{name} is not listed in MANIFEST.json")
    try:
        data = (root / name).read_bytes()
    except FileNotFoundError:
        raise FixtureError(f"{name} is listed but missing") from None
    digest = hashlib.sha256(data).hexdigest()
    if digest != entry.sha256:
        raise FixtureError(f"{name}: sha256 {digest} does not match the manifest")
    return data


def decode(data: bytes) -> Image:
    """An RGB uint8 array from JPEG/PNG bytes."""
    bgr = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_COLOR)
    if bgr is None:
        raise FixtureError("not a decodable image")
    return np.ascontiguousarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), dtype=np.uint8)


def portrait(name: str, root: Path = FIXTURES_DIR) -> Image:
    """A portrait by short name (`astronaut_card`, `hopper_selfie`, …) as an RGB array."""
    return decode(read_bytes(f"portraits/{name}.jpg", root))


def fixture_set(set_name: str, root: Path = FIXTURES_DIR) -> FixtureSet:
    """A set by name, e.g. `genuine/astronaut/blink` or `attacks/no_face`."""
    try:
        return load_manifest(root).sets[set_name]
    except KeyError:
        raise FixtureError(f"no fixture set {set_name!r}") from None


def frame_bytes(set_name: str, root: Path = FIXTURES_DIR) -> list[bytes]:
    """The JPEG bytes of a set's frames in capture order (what a client would upload)."""
    return [read_bytes(name, root) for name in fixture_set(set_name, root).frames]


def frames(set_name: str, root: Path = FIXTURES_DIR) -> list[Image]:
    """A set's frames as RGB arrays in capture order."""
    return [decode(data) for data in frame_bytes(set_name, root)]


def select(
    *,
    kind: str | None = None,
    person: str | None = None,
    card: str | None = None,
    action: str | None = None,
    root: Path = FIXTURES_DIR,
) -> dict[str, FixtureSet]:
    """Sets matching every given field (None matches anything)."""
    wanted = {"kind": kind, "person": person, "card": card, "action": action}
    return {
        name: entry
        for name, entry in load_manifest(root).sets.items()
        if all(value is None or getattr(entry, key) == value for key, value in wanted.items())
    }


def card_photo_path(person: str, root: Path = FIXTURES_DIR) -> Path:
    """The checked path of a person's card photo (the image on their card record)."""
    return path(load_manifest(root).people[person].card_photo, root)


def cards_file(root: Path = FIXTURES_DIR) -> Path:
    """fixtures/cards.jsonl, the seed registry for `ecard cards import`."""
    return root / "cards.jsonl"


def verify_all(root: Path = FIXTURES_DIR) -> list[str]:
    """Names of listed files that are missing or do not match their checksum (empty when fine)."""
    bad = []
    for name, entry in load_manifest(root).files.items():
        file = root / name
        if not file.is_file() or hashlib.sha256(file.read_bytes()).hexdigest() != entry.sha256:
            bad.append(name)
    return bad
