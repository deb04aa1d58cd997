"""`ecard cards import FILE`: JSON lines in, bad rows named by line, idempotent re-runs."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from app.cli import main
from tests.flow import card_row, write_jsonl


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    database = tmp_path / "ecard.db"
    monkeypatch.setenv("ECARD_DATABASE_URL", f"sqlite:///{database}")
    monkeypatch.setenv("ECARD_KEYS_DIR", str(tmp_path / "keys"))
    monkeypatch.setenv("ECARD_ENV", "dev")
    return database


def summary(output: str) -> dict[str, int]:
    last = [line for line in output.splitlines() if line.startswith("{")][-1]
    parsed: dict[str, int] = json.loads(last)
    return parsed


def photo(tmp_path: Path, name: str = "photo.png") -> str:
    image = np.full((64, 48, 3), 180, dtype=np.uint8)
    cv2.circle(image, (24, 30), 14, (90, 120, 200), -1)
    ok, data = cv2.imencode(".png", image)
    assert ok
    (tmp_path / name).write_bytes(data.tobytes())
    return name


def test_import_loads_rows_and_reports_counts(env: Path, tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "cards.jsonl", [card_row(1, photo=photo(tmp_path)), card_row(2)])
    result = CliRunner().invoke(main, ["cards", "import", str(path), "--quiet"])
    assert result.exit_code == 0, result.output
    assert summary(result.output) == {"rows": 2, "added": 2, "unchanged": 0, "conflicts": 0, "errors": 0}
    with sqlite3.connect(env) as db:
        assert db.execute("SELECT count(*) FROM cards").fetchone()[0] == 2
        # The photo and ID number are stored sealed, never in clear.
        row = card_row(1)
        sealed = db.execute("SELECT id_sealed, photo_sealed FROM cards WHERE card_no = ?",
                            (row["card_no"],)).fetchone()
        assert row["id_number"].encode() not in sealed[0]
        assert sealed[1] is not None


def test_rerun_of_the_same_file_changes_nothing(env: Path, tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "cards.jsonl", [card_row(n) for n in range(1, 4)])
    runner = CliRunner()
    runner.invoke(main, ["cards", "import", str(path), "--quiet"])
    with sqlite3.connect(env) as db:
        before = db.execute("SELECT card_no, updated_at, id_sealed FROM cards ORDER BY card_no").fetchall()
    again = runner.invoke(main, ["cards", "import", str(path), "--quiet"])
    assert again.exit_code == 0
    assert summary(again.output)["unchanged"] == 3
    assert summary(again.output)["added"] == 0
    with sqlite3.connect(env) as db:
        after = db.execute("SELECT card_no, updated_at, id_sealed FROM cards ORDER BY card_no").fetchall()
    assert after == before


def test_bad_rows_are_reported_with_line_numbers_and_good_rows_load(env: Path, tmp_path: Path) -> None:
    bad_checksum = card_row(2)
    bad_checksum["id_number"] = bad_checksum["id_number"][:17] + ("1" if bad_checksum["id_number"][17] != "1" else "2")
    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    rows: list[dict[str, object] | str] = [
        card_row(1),
        bad_checksum,
        {k: v for k, v in card_row(3).items() if k != "name"},
        card_row(4, photo="missing.jpg"),
        card_row(5, photo="broken.jpg"),
        "{not json",
        card_row(7),
        card_row(8, card_no=12345678),
    ]
    path = write_jsonl(tmp_path / "cards.jsonl", rows)
    result = CliRunner().invoke(main, ["cards", "import", str(path), "--quiet"])
    assert result.exit_code == 1
    assert summary(result.output) == {"rows": 8, "added": 2, "unchanged": 0, "conflicts": 0, "errors": 6}
    for line, words in [(2, "check character"), (3, "name"), (4, "missing.jpg"), (5, "broken.jpg"),
                        (6, "not JSON"), (8, "must be text: card_no")]:
        message = next(m for m in result.output.splitlines() if m.startswith(f"line {line}:"))
        assert words in message


def test_changed_row_for_a_known_card_is_a_conflict_not_an_overwrite(env: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    runner.invoke(main, ["cards", "import", str(write_jsonl(tmp_path / "a.jsonl", [card_row(1)])), "--quiet"])
    changed = write_jsonl(tmp_path / "b.jsonl", [card_row(1, address="深圳市南山区")])
    result = runner.invoke(main, ["cards", "import", str(changed), "--quiet"])
    assert result.exit_code == 1
    assert summary(result.output)["conflicts"] == 1
    assert "line 1: card A00000001 is on record with different data" in result.output


def test_progress_bar_is_shown(env: Path, tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "cards.jsonl", [card_row(n) for n in range(1, 4)])
    result = CliRunner().invoke(main, ["cards", "import", str(path)])
    assert result.exit_code == 0
    assert "importing" in result.output
    assert "3/3" in result.output


def test_channels_add_prints_json_with_a_secret_for_confidential_kinds(env: Path) -> None:
    result = CliRunner().invoke(main, ["channels", "add", "--client-id", "bank-app", "--kind", "app",
                                       "--scope", "ecard:claim", "--scope", "ecard:read",
                                       "--redirect-uri", "https://bank.example.cn/cb"])
    assert result.exit_code == 0, result.output
    channel = json.loads(result.output)
    assert channel["scopes"] == ["ecard:claim", "ecard:read"]
    assert len(channel["client_secret"]) >= 40
    with sqlite3.connect(env) as db:
        stored = db.execute("SELECT secret_hash FROM channels WHERE client_id = 'bank-app'").fetchone()[0]
    assert stored != channel["client_secret"]


def test_channels_add_gives_a_miniprogram_no_secret(env: Path) -> None:
    result = CliRunner().invoke(main, ["channels", "add", "--client-id", "mini", "--kind", "miniprogram",
                                       "--scope", "ecard:claim", "--redirect-uri", "https://mp.example.cn/cb"])
    assert result.exit_code == 0, result.output
    assert "client_secret" not in json.loads(result.output)


def test_channels_add_refuses_unknown_scope(env: Path) -> None:
    result = CliRunner().invoke(main, ["channels", "add", "--client-id", "x-app", "--kind", "app",
                                       "--scope", "everything", "--redirect-uri", "https://x.example.cn/cb"])
    assert result.exit_code != 0
    assert "invalid_scope" in result.output


def test_channels_add_sets_the_face_challenge_policy(env: Path) -> None:
    result = CliRunner().invoke(main, ["channels", "add", "--client-id", "flash-app", "--kind", "app",
                                       "--scope", "ecard:claim", "--redirect-uri", "https://f.example.cn/cb",
                                       "--face-challenge", "actions+light"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["face_challenge"] == "actions+light"
    default = CliRunner().invoke(main, ["channels", "add", "--client-id", "plain-app", "--kind", "app",
                                        "--scope", "ecard:claim", "--redirect-uri", "https://p.example.cn/cb"])
    assert json.loads(default.output)["face_challenge"] == "actions"
    refused = CliRunner().invoke(main, ["channels", "add", "--client-id", "odd-app", "--kind", "app",
                                        "--scope", "ecard:claim", "--redirect-uri", "https://o.example.cn/cb",
                                        "--face-challenge", "flash"])
    assert refused.exit_code != 0


def test_a_second_card_in_use_for_one_person_is_a_conflict_row(env: Path, tmp_path: Path) -> None:
    first = card_row(1)
    second = card_row(2, id_number=first["id_number"])
    path = write_jsonl(tmp_path / "cards.jsonl", [first, second])
    result = CliRunner().invoke(main, ["cards", "import", str(path), "--quiet"])
    assert result.exit_code == 1
    assert summary(result.output) == {"rows": 2, "added": 1, "unchanged": 0, "conflicts": 1, "errors": 0}
    assert "line 2: card A00000002: its holder already has a card in use" in result.output

    third = write_jsonl(tmp_path / "later.jsonl", [card_row(3, id_number=first["id_number"])])
    again = CliRunner().invoke(main, ["cards", "import", str(third), "--quiet"])
    assert summary(again.output)["conflicts"] == 1
    with sqlite3.connect(env) as db:
        assert db.execute("SELECT count(*) FROM cards").fetchone()[0] == 1


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("../outside.png", "outside the import file's folder"),
        ("sub/../../outside.png", "outside the import file's folder"),
        ("/etc/hostname", "relative to the import file's folder"),
        ("link.png", "outside the import file's folder"),
        ("folder", "not a regular file"),
        ("pipe", "not a regular file"),
        ("big.png", "more than"),
    ],
)
def test_photo_paths_stay_inside_the_folder_and_are_bounded(
    env: Path, tmp_path: Path, name: str, reason: str
) -> None:
    imports = tmp_path / "imports"
    imports.mkdir()
    photo(tmp_path, "outside.png")
    (imports / "link.png").symlink_to(tmp_path / "outside.png")
    (imports / "folder").mkdir()
    os.mkfifo(imports / "pipe")  # reading it would block the import for ever
    (imports / "big.png").write_bytes(b"\x89PNG" + b"\0" * (3 * 1024 * 1024))
    path = write_jsonl(imports / "cards.jsonl", [card_row(1, photo=name), card_row(2)])
    result = CliRunner().invoke(main, ["cards", "import", str(path), "--quiet"])
    assert result.exit_code == 1
    assert summary(result.output)["added"] == 1
    message = next(m for m in result.output.splitlines() if m.startswith("line 1:"))
    assert reason in message


def test_a_device_as_photo_is_a_line_error_not_a_crash(env: Path, tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "cards.jsonl", [card_row(1, photo="zero"), card_row(2)])
    (tmp_path / "zero").symlink_to("/dev/zero")
    result = CliRunner().invoke(main, ["cards", "import", str(path), "--quiet"])
    assert summary(result.output)["added"] == 1
    assert "line 1:" in result.output


def test_lines_that_cannot_be_read_are_line_errors_and_the_rest_loads(env: Path, tmp_path: Path) -> None:
    (tmp_path / "loopA").symlink_to(tmp_path / "loopB")
    (tmp_path / "loopB").symlink_to(tmp_path / "loopA")
    lines = [
        json.dumps(card_row(1, photo="ok.jpg\u0000x")).encode(),  # a NUL in the path
        json.dumps(card_row(2, photo="loopA")).encode(),  # a loop of symbolic links
        b"[" * 100_000 + b"]" * 100_000,  # nested beyond any decoder
        b'{"card_no": ' + b"9" * 5000 + b"}",  # an integer Python will not read
        json.dumps(card_row(5), ensure_ascii=False).encode("gbk"),  # not UTF-8
        json.dumps(card_row(6), ensure_ascii=False).encode(),
    ]
    path = tmp_path / "cards.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    result = CliRunner().invoke(main, ["cards", "import", str(path), "--quiet"])
    assert result.exit_code == 1, result.output
    assert summary(result.output) == {"rows": 6, "added": 1, "unchanged": 0, "conflicts": 0, "errors": 5}
    for line in range(1, 6):
        assert any(m.startswith(f"line {line}:") for m in result.output.splitlines()), result.output
    assert "not UTF-8" in result.output
