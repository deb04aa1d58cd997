"""Card-registry import throughput: `uv run python bench/import_cards.py [--rows 100000]`.

Generates synthetic rows without photos, imports them through the real importer into a fresh SQLite
file, then re-imports the same file (the idempotent path). As a baseline measured in the same run,
the same number of rows is inserted with a bare `executemany` into a table of the same shape, with
no validation, sealing or digests: the ratio shows what the importer's checks and protection cost.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from app.composition import open_services
from app.config import Settings
from app.domain.idnumber import make_id_number

REGIONS = ("440305", "370202", "110105", "310104", "510107")


def write_rows(path: Path, count: int) -> None:
    start = date(1950, 1, 1)
    with path.open("w", encoding="utf-8") as handle:
        for n in range(count):
            region = REGIONS[n % len(REGIONS)]
            # One card per person: birth day and sequence number make every ID number distinct.
            birth = start + timedelta(days=n % 20000)
            row = {
                "card_no": f"B{n:09d}", "name": f"测试{n % 1000}", "aab301": region[:4] + "00",
                "id_number": make_id_number(region, birth, (n // 20000) % 1000), "phone": f"139{n:08d}",
                "collected_on": "2024-01-15", "financial_active": n % 3 != 0,
            }
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")


def baseline(path: Path, database: Path) -> float:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    began = time.perf_counter()
    with sqlite3.connect(database) as conn:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("CREATE TABLE plain (card_no TEXT PRIMARY KEY, name TEXT, aab301 TEXT, id_number TEXT,"
                     " phone TEXT, collected_on TEXT, financial_active INTEGER)")
        for i in range(0, len(rows), 500):
            conn.executemany("INSERT INTO plain VALUES (?, ?, ?, ?, ?, ?, ?)",
                             [(r["card_no"], r["name"], r["aab301"], r["id_number"], r["phone"],
                               r["collected_on"], r["financial_active"]) for r in rows[i:i + 500]])
            conn.commit()
    return time.perf_counter() - began


async def run(count: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        source = work / "cards.jsonl"
        write_rows(source, count)
        settings = Settings(database_url=f"sqlite:///{work / 'ecard.db'}", keys_dir=work / "keys", env="test")
        async with open_services(settings) as services:
            began = time.perf_counter()
            first = await services.registry.import_file(source)
            first_s = time.perf_counter() - began
            began = time.perf_counter()
            again = await services.registry.import_file(source)
            again_s = time.perf_counter() - began
        base_s = baseline(source, work / "plain.db")
    assert first.added == count, first
    assert not first.errors, first
    assert again.unchanged == count, again
    print(f"rows                      {count}")
    print(f"first import              {first_s:8.2f} s  {count / first_s:10.0f} rows/s")
    print(f"re-import (unchanged)     {again_s:8.2f} s  {count / again_s:10.0f} rows/s")
    print(f"baseline bare executemany {base_s:8.2f} s  {count / base_s:10.0f} rows/s")
    print(f"import time / baseline    {first_s / base_s:8.1f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    asyncio.run(run(parser.parse_args().rows))


if __name__ == "__main__":
    main()
