"""Scale figures on PostgreSQL, with SQLite beside them: `uv run python bench/scale.py`.

    uv run python bench/scale.py [--rows 1000000] [--small 10000] [--checks 2000]
                                 [--holders 4000] [--only import,realname,http,races]

- import: the registry import (`ecard cards import`, validation, sealing, digests, COPY) of
  `--rows` synthetic cards into a fresh PostgreSQL schema, in rows/s, and as a ratio to a bare COPY
  of the same rows (parsed beforehand) into a table of the same columns with its primary key;
- realname: real-name checks (the domain service on the pool, one after another) against the
  `--rows` registry and against a `--small` one: p50 and p99, and their ratio;
- http: e-card claims, QR codes shown and QR verifications per second through `ecard serve` with
  `--workers 1` and `--workers 2` on PostgreSQL and one worker on SQLite, driven by wrk over
  loopback (`apt-get install wrk`), each with `GET /health` as the baseline of the same run;
- races: 40 concurrent claims by one holder and 60 concurrent wrong logins to one account,
  against two server processes on each database: one e-card, at most 10 logins evaluated.

Holders for the HTTP figures are made claim-ready in the database beforehand (account, real-name
check, a passed face session, access token), so a claim measures the claim: the face session's
own cost (about 0.5 s of CPU) is what bench/face.py measures. Every schema and folder is
thrown away at the end. PostgreSQL is `ECARD_BENCH_POSTGRES_DSN` (default: the `test` database on
127.0.0.1:5432).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from import_cards import write_rows  # bench/import_cards.py, beside this script

from app.composition import open_services
from app.config import Settings, load_settings
from app.domain.accounts import LOGIN_FAILURES_PER_DAY, TokenRecord
from app.domain.channels import Channel
from app.domain.face_sessions import FaceSession
from app.domain.qrcodes import QR_LIFETIME, QrCode, new_code
from app.domain.realname import RealnameCheck
from app.security.passwords import Argon2Passwords
from app.security.secrets import digest, new_token
from app.services import Services

DSN = os.environ.get("ECARD_BENCH_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/test")
APP, HOSPITAL = "scale-app", "scale-hospital"
PASSWORD = "Scale-bench-1"
LUA = Path(__file__).with_name("wrk_items.lua")


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --- databases ---------------------------------------------------------------------------------


@asynccontextmanager
async def pg_schema(prefix: str) -> AsyncIterator[str]:
    """A fresh schema of the PostgreSQL database; its URL selects it with search_path."""
    name = f"{prefix}_{secrets.token_hex(4)}"
    await _execute(f"CREATE SCHEMA {name}")
    try:
        yield f"{DSN}?search_path={name}"
    finally:
        await _execute(f"DROP SCHEMA {name} CASCADE")


def settings_for(url: str, folder: Path, **extra: str) -> Settings:
    return load_settings({"ECARD_DATABASE_URL": url, "ECARD_KEYS_DIR": str(folder / "keys"),
                          "ECARD_ENV": "dev", "ECARD_FACE_WORKERS": "1", **extra})


class Rows:
    """The synthetic registry rows, read back from the file the import loaded."""

    def __init__(self, path: Path) -> None:
        self.lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]

    def person(self, n: int) -> tuple[str, str]:
        return self.lines[n]["name"], self.lines[n]["id_number"]


# --- import ------------------------------------------------------------------------------------


async def import_rows(url: str, folder: Path, source: Path, total: int) -> float:
    """Seconds the importer takes for the file, with a progress line every tenth."""
    done, step = 0, max(total // 10, 1)

    def progress(count: int) -> None:
        nonlocal done
        before, done = done, done + count
        if before // step != done // step:
            say(f"  imported {done:,} of {total:,} rows")

    async with open_services(settings_for(url, folder)) as services:
        began = time.perf_counter()
        report = await services.registry.import_file(source, progress)
        seconds = time.perf_counter() - began
    if report.added != total:
        raise SystemExit(f"the import added {report.added} of {total} rows: {report.errors[:3]}")
    return seconds


async def bare_copy(source: Path) -> float:
    """Seconds for one COPY of the same rows into a plain table (the rows parsed beforehand)."""
    records = [(r["card_no"], r["name"], r["aab301"], r["id_number"], r["phone"], r["collected_on"],
                r["financial_active"]) for r in Rows(source).lines]
    async with pg_schema("scale_copy") as url:
        conn = await connect(url)
        try:
            await conn.execute("CREATE TABLE plain (card_no TEXT PRIMARY KEY, name TEXT, aab301 TEXT,"
                               " id_number TEXT, phone TEXT, collected_on TEXT, financial_active BOOLEAN)")
            began = time.perf_counter()
            await conn.copy_records_to_table("plain", records=records)
            return time.perf_counter() - began
        finally:
            await conn.close()


async def connect(url: str) -> asyncpg.Connection:
    """A connection to the schema a `pg_schema` URL names."""
    dsn, _, schema = url.partition("?search_path=")
    return await asyncpg.connect(dsn, server_settings={"search_path": schema})


async def table_bytes(url: str, table: str) -> int:
    conn = await connect(url)
    try:
        return int(await conn.fetchval("SELECT pg_total_relation_size($1::regclass)", table))
    finally:
        await conn.close()


async def holder_bytes(url: str, tables: tuple[str, ...], holders: int) -> float:
    """Bytes per holder of these tables with their indexes (after VACUUM, so only live rows)."""
    conn = await connect(url)
    try:
        for table in tables:
            await conn.execute(f"VACUUM {table}")
        total = sum([int(await conn.fetchval("SELECT pg_total_relation_size($1::regclass)", t)) for t in tables])
    finally:
        await conn.close()
    return total / holders


# --- real-name checks --------------------------------------------------------------------------


async def realname_latencies(url: str, folder: Path, rows: Rows, checks: int) -> list[float]:
    """Milliseconds per check of randomly chosen holders (after a warm-up of 100)."""
    pick = random.Random(7)
    async with open_services(settings_for(url, folder)) as services:
        account = await _app_and_account(services, "13700000000")
        timings = []
        for i in range(checks + 100):
            name, id_number = rows.person(pick.randrange(len(rows.lines)))
            began = time.perf_counter()
            await services.realname.check(account, APP, name, id_number)
            if i >= 100:
                timings.append((time.perf_counter() - began) * 1000)
    return timings


async def _app_and_account(services: Services, phone: str) -> int:
    now = services.clock.now()
    async with services.storage.unit_of_work() as uow:
        for client_id, kind, scopes in ((APP, "app", ("ecard:claim", "ecard:read", "ecard:qrcode")),
                                        (HOSPITAL, "relying_party", ("ecard:verify",))):
            await uow.channels.add(Channel(client_id=client_id, name=client_id, kind=kind,  # type: ignore[arg-type]
                                           secret_hash=None, redirect_uris=(), scopes=scopes, created_at=now))
        account = await uow.accounts.add(phone, await Argon2Passwords().hash(PASSWORD), now)
    assert account is not None
    return account


def percentile(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


# --- HTTP --------------------------------------------------------------------------------------


@dataclass
class Prepared:
    holders: list[tuple[int, str]]  # (account, access token) of claim-ready holders
    verifier: str
    racer: str  # one more claim-ready holder, for the claims race
    login_phone: str


async def prepare_holders(url: str, folder: Path, count: int) -> Prepared:
    """Import `count + 1` cards and make each holder claim-ready (see the module's docstring)."""
    source = folder / "holders.jsonl"
    write_rows(source, count + 1)
    rows = Rows(source)
    async with open_services(settings_for(url, folder)) as services:
        await services.registry.import_file(source)
        await _app_and_account(services, "13700000001")
        now = services.clock.now()
        holders = []
        async with services.storage.unit_of_work() as uow:
            for n in range(count + 1):
                card_no = rows.lines[n]["card_no"]
                account = await uow.accounts.add(f"136{n:08d}", "not-a-hash", now)
                assert account is not None
                check = RealnameCheck(id=new_token(16), account_id=account, client_id=APP, card_no=card_no,
                                      created_at=now, expires_at=now + timedelta(minutes=10))
                await uow.realname.add(check)
                session = FaceSession(
                    id=new_token(16), account_id=account, client_id=APP, realname_id=check.id, card_no=card_no,
                    person=services.vault.index(rows.person(n)[1]), actions=("blink",), nonce=new_token(8),
                    biometric_consent_at=now, created_at=now, expires_at=now + timedelta(minutes=3))
                await uow.face_sessions.add(session)
                await uow.face_sessions.set_status(session.id, "passed", expected="open", at=now)
                token = new_token()
                await uow.tokens.add(TokenRecord(
                    token_hash=digest(token), kind="access", account_id=account, client_id=APP,
                    scopes=("ecard:claim", "ecard:read", "ecard:qrcode"), grant_id=None, created_at=now,
                    expires_at=now + timedelta(hours=2)))
                holders.append((account, token))
            verifier = new_token()
            await uow.tokens.add(TokenRecord(
                token_hash=digest(verifier), kind="access", account_id=None, client_id=HOSPITAL,
                scopes=("ecard:verify",), grant_id=None, created_at=now, expires_at=now + timedelta(hours=2)))
    return Prepared(holders=holders[:-1], verifier=verifier, racer=holders[-1][1], login_phone="13700000001")


async def holding_ecards(url: str, folder: Path, holders: list[tuple[int, str]]) -> list[tuple[str, str]]:
    """(token, sign number) of the holders whose claim went through."""
    async with open_services(settings_for(url, folder)) as services, services.storage.unit_of_work() as uow:
        found = [(token, await uow.ecards.for_holder(account, APP)) for account, token in holders]
    return [(token, ecard.sign_no) for token, ecard in found if ecard is not None]


async def shown_codes(url: str, folder: Path, sign_numbers: list[str], count: int) -> list[str]:
    """`count` fresh QR codes of these e-cards, stored as showing them stores them (the rate of
    showing is measured on its own): a verification run needs more than it can consume."""
    async with open_services(settings_for(url, folder)) as services, services.storage.unit_of_work() as uow:
        now = services.clock.now()
        codes = [new_code() for _ in range(count)]
        for n, code in enumerate(codes):
            await uow.qrcodes.add(QrCode(code_hash=digest(code), sign_no=sign_numbers[n % len(sign_numbers)],
                                         client_id=APP, created_at=now, expires_at=now + QR_LIFETIME))
    return codes


@contextmanager
def server(url: str, folder: Path, workers: int) -> Iterator[str]:
    """`ecard serve --workers N` on a free loopback port; its base URL."""
    from tests.live import free_port  # noqa: PLC0415 (the test helpers are not the service's)

    port = free_port()
    env = {**os.environ, "ECARD_DATABASE_URL": url, "ECARD_KEYS_DIR": str(folder / "keys"), "ECARD_ENV": "dev",
           "ECARD_FACE_WORKERS": "1", "ECARD_SWEEP_INTERVAL_SECONDS": "3600"}
    log = (folder / f"server-{workers}.log").open("wb")
    process = subprocess.Popen([sys.executable, "-m", "app.cli", "serve", "--port", str(port), "--workers",
                                str(workers)], env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"the server did not start:\n{(folder / f'server-{workers}.log').read_text()}")
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=60)
        log.close()


def wrk(base: str, kind: str, items: Path, seconds: int, *, verifier: str = "-") -> dict[str, Any]:
    """`seconds` of wrk over the lines of `items` (bench/wrk_items.lua, 2 threads, 16 connections);
    its JSON summary, with `rate`: requests answered 2xx per second."""
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install -y wrk")
    result = subprocess.run(
        ["wrk", "-t", "2", "-c", "16", "-d", f"{seconds}s", "--timeout", "30s", "-s", str(LUA), base,
         "--", kind, str(items), "2", verifier],
        capture_output=True, text=True, check=True, timeout=seconds + 60)
    summary: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    if summary["ran_out"]:
        raise SystemExit(f"{kind}: the {summary['items']} prepared items ran out within {seconds} s;"
                         " prepare more (--holders)")
    if summary["refused"]:
        raise SystemExit(f"{kind}: {summary['refused']} of {summary['ok'] + summary['refused']} requests refused;"
                         f" the last: {result.stdout.strip().splitlines()[-2]}")
    summary["rate"] = summary["ok"] / summary["seconds"]
    return summary


def health_rate(base: str) -> float:
    """Requests/s of `GET /health` for five seconds: the same server's trivial endpoint."""
    result = subprocess.run(["wrk", "-t", "2", "-c", "16", "-d", "5s", f"{base}/health"],
                            capture_output=True, text=True, check=True, timeout=60)
    for line in result.stdout.splitlines():
        if line.startswith("Requests/sec:"):
            return float(line.split()[1])
    raise SystemExit(f"wrk printed no rate:\n{result.stdout}")


def lines(path: Path, items: list[str]) -> Path:
    path.write_text("".join(f"{item}\n" for item in items))
    return path


def http_figures(url: str, folder: Path, workers: int, holders: int) -> dict[str, float]:
    """Claims for 5 s; QR codes shown for 5 s by the holders who claimed; QR codes verified for 5 s."""
    prepared = asyncio.run(prepare_holders(url, folder, holders))
    with server(url, folder, workers) as base:
        time.sleep(10)  # the face workers load their models after /health first answers
        health_rate(base)  # warm-up
        health = health_rate(base)
        claims = wrk(base, "claim", lines(folder / "tokens.txt", [t for _, t in prepared.holders]), 5)
        claimed = asyncio.run(holding_ecards(url, folder, prepared.holders))
        tokens = [token for token, _ in claimed]
        shown = wrk(base, "show", lines(folder / "show.txt", tokens * (1 + 10 * holders // len(tokens))), 5)
        codes = asyncio.run(shown_codes(url, folder, [sign_no for _, sign_no in claimed], 10 * holders))
        verified = wrk(base, "verify", lines(folder / "codes.txt", codes), 5, verifier=prepared.verifier)
    if url.startswith("postgresql"):
        ecard_bytes = asyncio.run(holder_bytes(url, ("ecards", "ecard_channels"), len(claimed)))
        say(f"  e-card tables: {ecard_bytes:,.0f} bytes per e-card ({len(claimed)} e-cards)")
    return {"health": health, "claims": claims["rate"], "shows": shown["rate"], "verify": verified["rate"],
            "claim_p99": claims["p99_ms"], "verify_p99": verified["p99_ms"]}


# --- races -------------------------------------------------------------------------------------


def races(url: str, folder: Path) -> tuple[int, int, set[str], int, int]:
    """(created, answered, sign numbers, logins evaluated, logins refused by the limit)."""
    prepared = asyncio.run(prepare_holders(url, folder, 1))
    with server(url, folder, 2) as base, ThreadPoolExecutor(max_workers=60) as pool:
        def claim(_: int) -> httpx.Response:
            return httpx.post(f"{base}/v1/ecards", headers={"Authorization": f"Bearer {prepared.racer}"}, timeout=60)

        answers = list(pool.map(claim, range(40)))

        def login(_: int) -> int:
            return httpx.post(f"{base}/v1/sessions", json={"phone": prepared.login_phone, "password": "Wrong-pass-1"},
                              timeout=60).status_code

        logins = list(pool.map(login, range(60)))
    created = sum(r.status_code == 201 for r in answers)
    answered = sum(r.status_code in (200, 201) for r in answers)
    signs = {r.json()["ecard"]["sign_no"] for r in answers if r.status_code in (200, 201)}
    return created, answered, signs, logins.count(401), logins.count(429)


# --- the report --------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--checks", type=int, default=2000)
    parser.add_argument("--holders", type=int, default=4000)
    parser.add_argument("--only", default="import,realname,http,races")
    args = parser.parse_args()
    parts = set(args.only.split(","))
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        if parts & {"import", "realname"}:
            asyncio.run(database_figures(folder, args.rows, args.small, args.checks, parts))
        if "http" in parts:
            say("HTTP: preparing holders and starting servers")
            rows = []
            for label, workers, database in (("PostgreSQL", 1, "pg"), ("PostgreSQL", 2, "pg"), ("SQLite", 1, "sqlite")):
                with work_folder(folder, f"http-{database}-{workers}") as here, database_url(database, here) as url:
                    say(f"  {label}, {workers} worker(s)")
                    rows.append((label, workers, http_figures(url, here, workers, args.holders)))
            print("\nThrough HTTP (wrk, 2 threads, 16 connections, loopback, on the same 2 cores):")
            print(f"  {'database':<11}{'workers':>8}{'claims/s':>10}{'QR shown/s':>12}{'QR verified/s':>15}"
                  f"{'/health/s':>11}{'claim p99':>11}{'verify p99':>12}")
            for label, workers, f in rows:
                print(f"  {label:<11}{workers:>8}{f['claims']:>10.0f}{f['shows']:>12.0f}{f['verify']:>15.0f}"
                      f"{f['health']:>11.0f}{f['claim_p99']:>9.1f}ms{f['verify_p99']:>10.1f}ms")
            base = rows[0][2]
            for label, workers, f in rows[1:]:
                print(f"  {label} ×{workers} against PostgreSQL ×1: claims {f['claims'] / base['claims']:.2f},"
                      f" verifications {f['verify'] / base['verify']:.2f}")
        if "races" in parts:
            print("\nRaces against two server processes (40 claims by one holder, 60 wrong logins at once):")
            for label, database in (("PostgreSQL", "pg"), ("SQLite", "sqlite")):
                with work_folder(folder, f"races-{database}") as here, database_url(database, here) as url:
                    created, answered, signs, evaluated, limited = races(url, here)
                holds = created == 1 and len(signs) == 1 and evaluated <= LOGIN_FAILURES_PER_DAY
                print(f"  {label:<11} claims: {created} created, {answered} answered, {len(signs)} e-card(s);"
                      f" logins: {evaluated} evaluated (limit {LOGIN_FAILURES_PER_DAY}), {limited} refused"
                      f"  → {'holds' if holds else 'BROKEN'}")


@contextmanager
def work_folder(parent: Path, name: str) -> Iterator[Path]:
    here = parent / name
    here.mkdir()
    yield here


@contextmanager
def database_url(kind: str, folder: Path) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{folder / 'ecard.db'}"
        return
    schema = f"scale_{secrets.token_hex(4)}"
    asyncio.run(_execute(f"CREATE SCHEMA {schema}"))
    try:
        yield f"{DSN}?search_path={schema}"
    finally:
        asyncio.run(_execute(f"DROP SCHEMA {schema} CASCADE"))


async def _execute(statement: str) -> None:
    conn = await asyncpg.connect(DSN)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


async def database_figures(folder: Path, total: int, small: int, checks: int, parts: set[str]) -> None:
    big_rows, small_rows = folder / "big.jsonl", folder / "small.jsonl"
    say(f"writing {total:,} and {small:,} synthetic registry rows")
    write_rows(big_rows, total)
    write_rows(small_rows, small)
    async with pg_schema("scale_big") as big_url, pg_schema("scale_small") as small_url:
        say(f"importing {total:,} cards into PostgreSQL")
        seconds = await import_rows(big_url, folder, big_rows, total)
        if "import" in parts:
            say("bare COPY of the same rows")
            copy_seconds = await bare_copy(big_rows)
            print(f"\nImport of {total:,} cards into PostgreSQL:")
            print(f"  ecard cards import: {total / seconds:10,.0f} rows/s ({seconds:.1f} s)")
            print(f"  bare COPY:          {total / copy_seconds:10,.0f} rows/s ({copy_seconds:.1f} s)")
            print(f"  ratio import / bare COPY: {(total / seconds) / (total / copy_seconds):.3f}")
            size = await table_bytes(big_url, "cards")
            print(f"  cards table with its indexes: {size / total:,.0f} bytes per card (no photos),"
                  f" {size / total * 100e6 / 1e9:,.0f} GB for 100 million")
        if "realname" in parts:
            say(f"importing {small:,} cards into a second schema")
            await import_rows(small_url, folder, small_rows, small)
            say(f"{checks} real-name checks against each registry")
            big = await realname_latencies(big_url, folder, Rows(big_rows), checks)
            little = await realname_latencies(small_url, folder, Rows(small_rows), checks)
            print(f"\nReal-name checks on PostgreSQL ({checks} each, one after another, in process):")
            for label, timings in ((f"{total:,} cards", big), (f"{small:,} cards", little)):
                print(f"  {label:>16}: p50 {percentile(timings, 50):6.2f} ms  p99 {percentile(timings, 99):6.2f} ms")
            print(f"  ratio {total:,} / {small:,}: p50 {percentile(big, 50) / percentile(little, 50):.2f},"
                  f" p99 {percentile(big, 99) / percentile(little, 99):.2f}")


if __name__ == "__main__":
    main()
