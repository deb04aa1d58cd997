"""`ecard records import FILE`: contributions and medical-account entries from JSON lines, bad lines
named by number, re-runs that change nothing, ID numbers never stored in clear."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from app.cli import main
from tests.flow import write_jsonl

FIXTURE = Path(__file__).parents[2] / "fixtures" / "records.jsonl"
ID_NUMBER = "440305197611190248"  # 柯林斯 in fixtures/cards.jsonl


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


def contribution(period: str = "2025-01", **changes: Any) -> dict[str, Any]:
    return {"kind": "contribution", "id_number": ID_NUMBER, "insurance": "pension", "period": period,
            "base": "8000.00", "employer": "1280.00", "personal": "640.00", "paid_on": "2025-02-15",
            "employer_name": "深圳市南山区星河科技有限公司", **changes}


def medical(**changes: Any) -> dict[str, Any]:
    return {"kind": "medical_account", "id_number": ID_NUMBER, "date": "2025-03-05", "amount": "-35.50",
            "balance": "1234.56", "place": "南山区人民医院", **changes}


def import_records(path: Path, *options: str) -> Any:
    return CliRunner().invoke(main, ["records", "import", str(path), *options])


def test_the_fixture_records_load_and_a_rerun_changes_nothing(env: Path) -> None:
    first = import_records(FIXTURE, "--quiet")
    assert first.exit_code == 0, first.output
    assert summary(first.output) == {"rows": 72, "added": 72, "unchanged": 0, "conflicts": 0, "errors": 0}
    with sqlite3.connect(env) as db:
        before = db.execute("SELECT * FROM contributions ORDER BY 1, 2, 3").fetchall() + \
            db.execute("SELECT * FROM medical_account_entries ORDER BY id").fetchall()
    again = import_records(FIXTURE, "--quiet")
    assert again.exit_code == 0, again.output
    assert summary(again.output) == {"rows": 72, "added": 0, "unchanged": 72, "conflicts": 0, "errors": 0}
    with sqlite3.connect(env) as db:
        after = db.execute("SELECT * FROM contributions ORDER BY 1, 2, 3").fetchall() + \
            db.execute("SELECT * FROM medical_account_entries ORDER BY id").fetchall()
    assert after == before
    assert len(after) == 72


def test_amounts_are_stored_as_fen_and_the_id_number_only_as_its_digest(env: Path, tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "r.jsonl", [contribution(), medical()])
    assert import_records(path, "--quiet").exit_code == 0
    with sqlite3.connect(env) as db:
        assert db.execute("SELECT base, employer, personal FROM contributions").fetchone() == (800000, 128000, 64000)
        assert db.execute("SELECT amount, balance FROM medical_account_entries").fetchone() == (-3550, 123456)
        dump = "\n".join(db.iterdump())
    assert ID_NUMBER not in dump


def test_bad_lines_are_reported_by_number_and_the_good_lines_load(env: Path, tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "r.jsonl", [
        contribution("2025-01"),
        contribution("2025-02", employer="1280.001"),
        "not json",
        medical(),
        medical(id_number="440305197611190249"),
        contribution("2025-03", insurance="housing"),
        contribution("2025-04"),
    ])
    result = import_records(path, "--quiet")
    assert result.exit_code == 1
    assert summary(result.output) == {"rows": 7, "added": 3, "unchanged": 0, "conflicts": 0, "errors": 4}
    lines = result.output.splitlines()
    assert "line 2: employer: a decimal amount like \"1280.00\" (at most two decimal places)" in lines
    for number in (3, 5, 6):
        assert any(m.startswith(f"line {number}: ") for m in lines), result.output
    assert not any(m.startswith(("line 1:", "line 4:", "line 7:")) for m in lines)


def test_a_changed_month_is_a_conflict_not_an_overwrite(env: Path, tmp_path: Path) -> None:
    assert import_records(write_jsonl(tmp_path / "a.jsonl", [contribution()]), "--quiet").exit_code == 0
    changed = write_jsonl(tmp_path / "b.jsonl", [contribution(personal="641.00"), contribution("2025-02")])
    result = import_records(changed, "--quiet")
    assert result.exit_code == 1
    assert summary(result.output) == {"rows": 2, "added": 1, "unchanged": 0, "conflicts": 1, "errors": 0}
    assert "line 1: pension 2025-01 of this person is on record with different data; not changed" in result.output
    with sqlite3.connect(env) as db:
        assert db.execute("SELECT personal FROM contributions WHERE period = '2025-01'").fetchone() == (64000,)


def test_the_same_medical_entry_written_differently_is_one_entry(env: Path, tmp_path: Path) -> None:
    as_numbers = json.dumps(medical(), ensure_ascii=False).replace('"-35.50"', "-35.5").replace('"1234.56"', "1234.560")
    path = write_jsonl(tmp_path / "r.jsonl", [medical(), as_numbers])
    result = import_records(path, "--quiet")
    assert summary(result.output) == {"rows": 2, "added": 1, "unchanged": 1, "conflicts": 0, "errors": 0}


def test_progress_bar_is_shown(env: Path) -> None:
    result = import_records(FIXTURE)
    assert result.exit_code == 0
    assert "importing" in result.output
    assert "72/72" in result.output
