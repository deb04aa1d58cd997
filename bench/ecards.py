"""E-card figures: QR verifications per second through the HTTP API, as a ratio to the same
server's trivial endpoint (`GET /health`), and e-cards signed per second.

    uv run python bench/ecards.py [--codes 2000] [--concurrency 8]

A throw-away database and keys directory are made in a temporary folder; the server is a real
uvicorn process on a free local port, driven over HTTP by an async client.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from pathlib import Path

import httpx

from app.clock import SystemClock
from app.composition import build_issuance, open_services
from app.config import load_settings
from app.domain.accounts import TokenRecord
from app.domain.channels import Channel
from app.domain.ecards import PassedFace
from app.security.jose import ECARD_TYP
from app.security.secrets import digest, new_token
from tests.flow import card_row, write_jsonl

HOLDERS = 50


class BenchFace:
    def __init__(self) -> None:
        self.cards: dict[int, str] = {}

    async def passed_since(self, account_id: int, since: datetime) -> PassedFace | None:
        return PassedFace(card_no=self.cards[account_id], session_id="bench",
                          completed_at=SystemClock().now())


async def _token(services: object, account_id: int | None, client_id: str,
                 scopes: tuple[str, ...]) -> str:
    token = new_token()
    now = SystemClock().now()
    async with services.storage.unit_of_work() as uow:  # type: ignore[attr-defined]
        await uow.tokens.add(TokenRecord(
            token_hash=digest(token), kind="access", account_id=account_id, client_id=client_id,
            scopes=scopes, grant_id=None, created_at=now, expires_at=now + timedelta(hours=2)))
    return token


async def prepare(folder: Path) -> tuple[list[str], str, float, float]:
    """Cards, channels, holders with e-cards; returns (holder tokens, verifier token,
    signatures/s, claims/s)."""
    settings = load_settings()
    clock = SystemClock()
    face = BenchFace()
    async with open_services(settings) as services:
        rows = [card_row(n, card_no=f"B{n:08d}") for n in range(HOLDERS)]
        await services.registry.import_file(write_jsonl(folder / "cards.jsonl", list(rows)))
        async with services.storage.unit_of_work() as uow:
            for client_id, kind, scopes in (
                ("bench-app", "app", ("ecard:claim", "ecard:read", "ecard:qrcode")),
                ("bench-hospital", "relying_party", ("ecard:verify",)),
            ):
                await uow.channels.add(Channel(client_id=client_id, name=client_id, kind=kind,  # type: ignore[arg-type]
                                               secret_hash=None, redirect_uris=(), scopes=scopes,
                                               created_at=clock.now()))
            accounts = []
            for n in range(HOLDERS):
                account_id = await uow.accounts.add(f"139{n:08d}", "unused", clock.now())
                assert account_id is not None
                face.cards[account_id] = f"B{n:08d}"
                accounts.append(account_id)
        issuance = build_issuance(settings, services.storage, clock, services.vault, face)
        started = time.perf_counter()
        for account_id in accounts:
            await issuance.ecards.claim(account_id, "bench-app")
        claims_per_second = len(accounts) / (time.perf_counter() - started)
        claims = {"iss": settings.issuer, "sub": "0" * 32, "jti": "440300E" + "0" * 24, "iat": 0,
                  "exp": 1, "card_no": "B00000001", "aab301": "440300", "sign_level": 2,
                  "channel": "bench-app", "holder": {"name": "张*", "id_number": "440305" + "*" * 8 + "1234"},
                  "status": {"status_list": {"idx": 12345, "uri": f"{settings.issuer}/v1/status-lists/1"}}}
        rounds = 2000
        started = time.perf_counter()
        for _ in range(rounds):
            issuance.signer.sign(claims, typ=ECARD_TYP)
        signatures_per_second = rounds / (time.perf_counter() - started)
        holders = [await _token(services, a, "bench-app", ("ecard:qrcode", "ecard:read")) for a in accounts]
        verifier = await _token(services, None, "bench-hospital", ("ecard:verify",))
    return holders, verifier, signatures_per_second, claims_per_second


async def rate(total: int, concurrency: int, one: Callable[[int], Awaitable[None]]) -> float:
    """Requests per second for `total` calls of `one(i)`, `concurrency` at a time."""
    queue = iter(range(total))

    async def worker() -> None:
        for i in queue:
            await one(i)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return total / (time.perf_counter() - started)


async def drive(base: str, holders: list[str], verifier: str, codes: int,
                concurrency: int) -> tuple[float, float]:
    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        shown: list[str] = []

        async def show(i: int) -> None:
            r = await http.post("/v1/ecards/me/qrcodes",
                                headers={"Authorization": f"Bearer {holders[i % len(holders)]}"})
            r.raise_for_status()
            shown.append(r.json()["code"])

        await rate(codes, concurrency, show)

        async def verify(i: int) -> None:
            r = await http.post("/v1/qrcodes/verify", json={"code": shown[i]},
                                headers={"Authorization": f"Bearer {verifier}"})
            assert r.status_code == 200, r.text

        async def health(_: int) -> None:
            (await http.get("/health")).raise_for_status()

        await rate(200, concurrency, health)  # warm up
        health_rate = await rate(codes, concurrency, health)
        verify_rate = await rate(codes, concurrency, verify)
    return verify_rate, health_rate


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_ready(base: str, server: subprocess.Popen[bytes]) -> None:
    for _ in range(200):
        if server.poll() is not None:
            raise SystemExit("the server exited during start-up")
        try:
            if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise SystemExit("the server did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--codes", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        os.environ.update({
            "ECARD_DATABASE_URL": f"sqlite:///{folder / 'bench.db'}", "ECARD_KEYS_DIR": str(folder / "keys"),
            "ECARD_ENV": "dev", "ECARD_ISSUER": base,
        })
        holders, verifier, signs, claims = asyncio.run(prepare(folder))
        server = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "--factory", "app.asgi:app_from_env", "--port", str(port),
             "--log-level", "warning", "--no-access-log"])
        try:
            wait_ready(base, server)
            verify_rate, health_rate = asyncio.run(
                drive(base, holders, verifier, args.codes, args.concurrency))
        finally:
            server.terminate()
            server.wait(timeout=10)
    print(f"e-card tokens signed (ES256, in process): {signs:8.0f} /s")
    print(f"e-cards claimed (domain + SQLite + sign):  {claims:8.0f} /s")
    print(f"GET /health through HTTP:                  {health_rate:8.0f} /s")
    print(f"POST /v1/qrcodes/verify through HTTP:      {verify_rate:8.0f} /s")
    print(f"ratio verify / health:                     {verify_rate / health_rate:8.2f}")
    print(f"({args.codes} codes, concurrency {args.concurrency}, one uvicorn worker)")


if __name__ == "__main__":
    main()
