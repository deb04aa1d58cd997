from __future__ import annotations

import json
from pathlib import Path

import click
import cv2
from click.testing import CliRunner

from app.qa import fixtures
from app.qa.cli import qa
from app.qa.landmarks import Image


def test_qa_is_a_click_group_with_a_frames_command() -> None:
    assert isinstance(qa, click.Group)
    assert "frames" in qa.commands


def test_frames_writes_numbered_jpegs_and_prints_them(tmp_path: Path) -> None:
    out = tmp_path / "blink"
    (out).mkdir()
    (out / "011.jpg").write_bytes(b"stale frame from a longer run")

    result = CliRunner().invoke(qa, [
        "frames", "--photo", str(fixtures.path("portraits/hopper_selfie.jpg")),
        "--action", "blink", "--out", str(out), "--frames", "9", "--seed", "5",
    ])

    assert result.exit_code == 0, result.output
    names = sorted(p.name for p in out.iterdir())
    assert names == [f"{i:03d}.jpg" for i in range(9)]
    assert result.stdout.split() == [str(out / name) for name in names]
    decoded = cv2.imread(str(out / "000.jpg"))
    assert decoded is not None
    assert decoded.shape == fixtures.portrait("hopper_selfie").shape


def test_frames_refuses_a_photo_without_a_face(tmp_path: Path) -> None:
    wall = tmp_path / "wall.png"
    cv2.imwrite(str(wall), cv2.cvtColor(fixtures.frames("attacks/no_face")[0], cv2.COLOR_RGB2BGR))

    result = CliRunner().invoke(qa, [
        "frames", "--photo", str(wall), "--action", "turn_left", "--out", str(tmp_path / "out"),
    ])

    assert result.exit_code != 0
    assert "no face" in result.output
    assert not (tmp_path / "out").exists()


def test_frames_refuses_a_photo_with_two_faces(tmp_path: Path, two_people: Image) -> None:
    photo = tmp_path / "two.jpg"
    cv2.imwrite(str(photo), cv2.cvtColor(two_people, cv2.COLOR_RGB2BGR))

    result = CliRunner().invoke(qa, [
        "frames", "--photo", str(photo), "--action", "blink", "--out", str(tmp_path / "out"),
    ])

    assert result.exit_code != 0
    assert "2 faces" in result.output


def test_frames_refuses_bytes_that_are_not_an_image(tmp_path: Path) -> None:
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(b"not a jpeg")

    result = CliRunner().invoke(qa, [
        "frames", "--photo", str(photo), "--action", "blink", "--out", str(tmp_path / "out"),
    ])

    assert result.exit_code != 0
    assert "not a readable image" in result.output


def test_frames_rejects_an_unknown_action(tmp_path: Path) -> None:
    result = CliRunner().invoke(qa, [
        "frames", "--photo", str(fixtures.path("portraits/hopper_selfie.jpg")),
        "--action", "nod", "--out", str(tmp_path),
    ])

    assert result.exit_code == 2
    assert "nod" in result.output


def test_frames_of_a_whole_challenge_lit_by_a_light_sequence(tmp_path: Path) -> None:
    light = tmp_path / "session.json"
    light.write_text(json.dumps({"session_id": "s", "actions": ["blink", "turn_left"], "light": [
        {"color": "#FF0000", "ms": 400}, {"color": "#00FF00", "ms": 300},
        {"color": "#0000FF", "ms": 500}, {"color": "#FFFF00", "ms": 300}]}))
    out = tmp_path / "frames"

    result = CliRunner().invoke(qa, [
        "frames", "--photo", str(fixtures.path("portraits/hopper_selfie.jpg")), "--action", "blink",
        "--action", "turn_left", "--out", str(out), "--frames", "8", "--light", str(light),
    ])

    assert result.exit_code == 0, result.output
    assert len(list(out.glob("*.jpg"))) == 16
    times = json.loads((out / "captured_at_ms.json").read_text())
    assert len(times) == 16
    assert times == sorted(times)
    assert times[0] >= 0


def test_frames_refuses_a_malformed_light_sequence(tmp_path: Path) -> None:
    light = tmp_path / "bad.json"
    light.write_text('[{"color": "red", "ms": 200}]')
    result = CliRunner().invoke(qa, [
        "frames", "--photo", str(fixtures.path("portraits/hopper_selfie.jpg")), "--action", "blink",
        "--out", str(tmp_path / "out"), "--light", str(light),
    ])
    assert result.exit_code != 0
    assert "bad.json" in result.output
