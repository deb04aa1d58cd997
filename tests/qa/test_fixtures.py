from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from app.domain.idnumber import parse_id_number
from app.qa import fixtures
from app.qa.frames import ACTIONS

REASONS = {"passed", "no_face", "multiple_faces", "poor_quality", "liveness_failed",
           "face_mismatch", "expired"}


def test_every_listed_file_matches_its_checksum() -> None:
    assert fixtures.verify_all() == []


def test_every_image_under_fixtures_is_listed_in_the_manifest() -> None:
    listed = set(fixtures.load_manifest().files)
    on_disk = {str(p.relative_to(fixtures.FIXTURES_DIR)) for p in fixtures.FIXTURES_DIR.rglob("*.jpg")}

    assert on_disk == listed


def test_a_tampered_file_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "fixtures"
    shutil.copytree(fixtures.FIXTURES_DIR, root)
    target = root / "portraits" / "astronaut_card.jpg"
    target.write_bytes(target.read_bytes() + b"\0")

    with pytest.raises(fixtures.FixtureError, match="sha256"):
        fixtures.portrait("astronaut_card", root)
    assert fixtures.verify_all(root) == ["portraits/astronaut_card.jpg"]


def test_fixtures_stay_small() -> None:
    total = sum(entry.bytes for entry in fixtures.load_manifest().files.values())

    assert total < 9_000_000


def test_every_source_names_package_version_and_licence() -> None:
    manifest = fixtures.load_manifest()
    used = {entry.source for entry in manifest.files.values()}

    for name in {part for source in used for part in source.split("+")}:
        source = manifest.sources[name]
        assert source.licence
        assert source.package is None or (source.version and source.sha256)


def test_sets_cover_every_action_and_attack_with_a_reason_code() -> None:
    manifest = fixtures.load_manifest()

    for person in manifest.people:
        for action in ACTIONS:
            assert fixtures.fixture_set(f"genuine/{person}/{action}").expected == "passed"
    kinds = {entry.kind for entry in manifest.sets.values()}
    assert kinds == {"genuine", "impostor", "card_photo", "still_photo", "screen_replay", "print",
                     "no_face", "two_faces"}
    for entry in manifest.sets.values():
        assert entry.expected in REASONS
        assert entry.frames
        assert all(name in manifest.files for name in entry.frames)


def test_impostor_sets_present_one_person_against_another_persons_card() -> None:
    impostors = fixtures.select(kind="impostor")

    assert len(impostors) == 8
    assert all(entry.person != entry.card for entry in impostors.values())


def test_frames_load_as_rgb_arrays_in_capture_order() -> None:
    names = fixtures.fixture_set("genuine/hopper/turn_left").frames
    frames = fixtures.frames("genuine/hopper/turn_left")

    assert names == sorted(names)
    assert len(frames) == len(names) == 12
    assert frames[0].shape == (480, 400, 3)


def test_the_seed_card_registry_has_valid_rows_and_existing_photos() -> None:
    path = fixtures.cards_file()
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    listed = fixtures.load_manifest().files

    assert len({row["card_no"] for row in rows}) == len(rows) >= 3
    for row in rows:
        parsed = parse_id_number(row["id_number"])
        assert len(row["aab301"]) == 6
        assert row["aab301"].isdigit()
        assert parsed.value == row["id_number"]
        if "photo" in row:
            assert row["photo"] in listed
            assert (path.parent / row["photo"]).is_file()
    with_photo = {row["name"] for row in rows if "photo" in row}
    assert with_photo == {person.name for person in fixtures.load_manifest().people.values()}
