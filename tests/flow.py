"""Helpers that walk the public API the way an app frontend or QA script would."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from litestar.testing import AsyncTestClient

from app.domain.idnumber import make_id_number
from app.services import Services

REDIRECT = "https://app.example.cn/ecard/callback"
PASSWORD = "Secret-pass-1"


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def card_row(n: int, **overrides: Any) -> dict[str, Any]:
    """A valid registry row; `n` makes the card number and ID number unique."""
    row: dict[str, Any] = {
        "card_no": f"A{n:08d}",
        "name": f"张{'三四五六七八九'[n % 7]}",
        "id_number": make_id_number("440305", date(1980 + n % 30, 1 + n % 12, 1 + n % 28), n % 1000),
        "aab301": "440300",
        "phone": "13800138000",
        "collected_on": "2024-03-01",
        "financial_active": True,
    }
    row.update(overrides)
    return row


def write_jsonl(path: Path, rows: list[dict[str, Any] | str]) -> Path:
    lines = [r if isinstance(r, str) else json.dumps(r, ensure_ascii=False) for r in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@dataclass
class AppChannel:
    client_id: str
    client_secret: str | None


async def add_channel(services: Services, client_id: str = "demo-app", *, kind: str = "app",
                      scopes: tuple[str, ...] = ("ecard:claim", "ecard:read", "ecard:qrcode"),
                      redirect_uris: tuple[str, ...] = (REDIRECT,), face_challenge: str = "actions") -> AppChannel:
    from app.domain.channels import NewChannel  # noqa: PLC0415

    created = await services.channels.create(NewChannel(
        client_id=client_id, kind=kind, scopes=scopes,  # type: ignore[arg-type]
        redirect_uris=redirect_uris if kind in {"app", "miniprogram"} else (),
        face_challenge=face_challenge,  # type: ignore[arg-type]
    ))
    return AppChannel(client_id, created.client_secret)


async def sms_code(client: AsyncTestClient[Any], phone: str) -> str:
    r = await client.post("/v1/accounts/sms-codes", json={"phone": phone})
    assert r.status_code == 202, r.text
    outbox = (await client.get("/v1/dev/outbox", params={"phone": phone})).json()
    body = outbox["messages"][0]["body"]
    return body.split("验证码 ")[1][:6]


async def register_and_login(client: AsyncTestClient[Any], phone: str = "13912345678") -> str:
    code = await sms_code(client, phone)
    r = await client.post("/v1/accounts", json={"phone": phone, "password": PASSWORD, "sms_code": code})
    assert r.status_code == 201, r.text
    r = await client.post("/v1/sessions", json={"phone": phone, "password": PASSWORD})
    assert r.status_code == 201, r.text
    token: str = r.json()["access_token"]
    return token


async def authorize_code(client: AsyncTestClient[Any], user_token: str, channel: AppChannel,
                         scope: str = "ecard:claim ecard:read ecard:qrcode",
                         challenge: str | None = None) -> tuple[str, str]:
    """Consent prompt → Allow; returns (code, verifier)."""
    verifier, computed = pkce_pair()
    r = await client.get("/v1/oauth/authorize", params={
        "response_type": "code", "client_id": channel.client_id, "redirect_uri": REDIRECT,
        "scope": scope, "state": "xyz", "code_challenge": challenge or computed,
        "code_challenge_method": "S256",
    })
    assert r.status_code == 200, r.text
    r = await client.post("/v1/oauth/consents", json={"consent_id": r.json()["consent_id"], "decision": "allow"},
                          headers={"Authorization": f"Bearer {user_token}"})
    assert r.status_code == 200, r.text
    query = parse_qs(urlsplit(r.json()["redirect_to"]).query)
    assert query["state"] == ["xyz"]
    return query["code"][0], verifier


def token_form(channel: AppChannel, **fields: str) -> dict[str, str]:
    form = {"client_id": channel.client_id, **fields}
    if channel.client_secret:
        form["client_secret"] = channel.client_secret
    return form


async def channel_token(client: AsyncTestClient[Any], user_token: str, channel: AppChannel,
                        scope: str = "ecard:claim ecard:read ecard:qrcode") -> dict[str, Any]:
    """The whole consent flow; returns the token response of the channel acting for the user."""
    code, verifier = await authorize_code(client, user_token, channel, scope)
    r = await client.post("/v1/oauth/token", data=token_form(
        channel, grant_type="authorization_code", code=code, redirect_uri=REDIRECT, code_verifier=verifier))
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def client_credentials(client: AsyncTestClient[Any], channel: AppChannel, scope: str) -> str:
    r = await client.post("/v1/oauth/token", data=token_form(channel, grant_type="client_credentials", scope=scope))
    assert r.status_code == 200, r.text
    token: str = r.json()["access_token"]
    return token


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def import_fixture_cards(services: Services) -> None:
    """The seed registry in fixtures/cards.jsonl (two holders with card photos, two without)."""
    from app.qa.fixtures import cards_file  # noqa: PLC0415

    report = await services.registry.import_file(cards_file())
    assert not report.errors, report
    assert not report.conflicts, report


FIXTURE_HOLDERS = {
    # person → (name, ID number) as in fixtures/cards.jsonl
    "astronaut": ("柯林斯", "440305197611190248"),
    "hopper": ("霍珀", "370202196612090428"),
    "no_photo": ("张伟", "440304199005010131"),
}


async def realname_for(client: AsyncTestClient[Any], services: Services, person: str = "astronaut",
                       phone: str = "13912345678", face_challenge: str = "actions") -> tuple[str, str]:
    """A citizen through consent and a passed real-name check: (channel token, realname_id)."""
    channel = await add_channel(services, f"app-{phone}", face_challenge=face_challenge)
    user = await register_and_login(client, phone)
    token = (await channel_token(client, user, channel))["access_token"]
    return token, await realname_check(client, token, person)


async def realname_check(client: AsyncTestClient[Any], token: str, person: str = "astronaut") -> str:
    """A passed real-name check of the channel token's user; its realname_id."""
    name, id_number = FIXTURE_HOLDERS[person]
    r = await client.post("/v1/realname", json={"name": name, "id_number": id_number}, headers=bearer(token))
    assert r.status_code == 201, r.text
    realname_id: str = r.json()["realname_id"]
    return realname_id
