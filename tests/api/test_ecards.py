"""E-card claim, token, views and channel links through the HTTP API (SPEC §4 "E-card")."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from app.clock import FrozenClock
from app.composition import build_issuance
from app.config import Settings
from app.domain.accounts import TokenRecord
from app.domain.channels import Channel
from app.domain.ecards import PassedFace
from app.domain.face_sessions import FaceSession
from app.domain.realname import RealnameCheck
from app.security.secrets import digest, new_token
from app.services import Services
from tests.flow import bearer, card_row, write_jsonl

HOLDER_SCOPES = ("ecard:claim", "ecard:read", "ecard:qrcode")


class FakeFace:
    """The face-session port, answering from a table of passed sessions."""

    def __init__(self) -> None:
        self.passed: dict[int, PassedFace] = {}

    async def passed_since(self, account_id: int, since: datetime) -> PassedFace | None:
        face = self.passed.get(account_id)
        return face if face is not None and face.completed_at >= since else None


@dataclasses.dataclass
class World:
    """A running app with fake face sessions and helpers that skip the slow OAuth set-up."""

    app: Litestar
    client: AsyncTestClient[Any]
    services: Services
    clock: FrozenClock
    face: FakeFace
    tmp: Path

    async def cards(self, *rows: dict[str, Any]) -> None:
        report = await self.services.registry.import_file(write_jsonl(self.tmp / f"c{id(rows)}.jsonl",
                                                                      list(rows)))
        assert report.added == len(rows), report

    async def channel(self, client_id: str, kind: str = "app",
                      scopes: tuple[str, ...] = HOLDER_SCOPES) -> None:
        async with self.services.storage.unit_of_work() as uow:
            assert await uow.channels.add(Channel(
                client_id=client_id, name=client_id, kind=kind,  # type: ignore[arg-type]
                secret_hash=None, redirect_uris=(), scopes=scopes, created_at=self.clock.now()))

    async def account(self, phone: str) -> int:
        async with self.services.storage.unit_of_work() as uow:
            account_id = await uow.accounts.add(phone, "not-used", self.clock.now())
        assert account_id is not None
        return account_id

    async def token(self, account_id: int | None, client_id: str,
                    scopes: tuple[str, ...] = HOLDER_SCOPES) -> dict[str, str]:
        token = new_token()
        async with self.services.storage.unit_of_work() as uow:
            await uow.tokens.add(TokenRecord(
                token_hash=digest(token), kind="access", account_id=account_id, client_id=client_id,
                scopes=scopes, grant_id=None, created_at=self.clock.now(),
                expires_at=self.clock.now() + timedelta(hours=1)))
        return bearer(token)

    def pass_face(self, account_id: int, card_no: str) -> None:
        self.face.passed[account_id] = PassedFace(card_no=card_no, session_id=new_token(8),
                                                  completed_at=self.clock.now())

    async def passed_session(self, account_id: int, card_no: str, client_id: str = "demo-app",
                             *, ago: timedelta = timedelta(0)) -> str:
        """A face session of `account_id` on `card_no` that passed `ago`, on record as the engine
        leaves one (a real-name check, the session, its verdict): the proof a holder's act spends."""
        now = self.clock.now() - ago
        check = RealnameCheck(id=new_token(8), account_id=account_id, client_id=client_id, card_no=card_no,
                              created_at=now, expires_at=now + timedelta(minutes=10))
        session_id = new_token(8)
        async with self.services.storage.unit_of_work() as uow:
            card = await uow.cards.get(card_no)
            assert card is not None
            await uow.realname.add(check)
            assert await uow.face_sessions.add(FaceSession(
                id=session_id, account_id=account_id, client_id=client_id, realname_id=check.id,
                card_no=card_no, person=card.id_digest, actions=("blink",), nonce=new_token(8),
                biometric_consent_at=now, created_at=now, expires_at=now + timedelta(minutes=3)))
            assert await uow.face_sessions.set_status(session_id, "deciding", expected="open")
            assert await uow.face_sessions.set_status(session_id, "passed", expected="deciding", at=now)
        return session_id

    async def holder(self, phone: str, card_no: str, client_id: str = "demo-app") -> dict[str, str]:
        """An account whose face session for `card_no` just passed, and its channel token."""
        account_id = await self.account(phone)
        self.pass_face(account_id, card_no)
        return await self.token(account_id, client_id)

    async def set_card(self, card_no: str, **columns: str) -> None:
        assignments = ", ".join(f"{c} = ?" for c in columns)
        async with self.services.storage.unit_of_work() as uow:
            await uow.connection.execute(  # type: ignore[attr-defined]
                f"UPDATE cards SET {assignments} WHERE card_no = ?", (*columns.values(), card_no))


@pytest.fixture
async def world(app: Litestar, client: AsyncTestClient[Any], services: Services, clock: FrozenClock,
                settings: Settings, tmp_path: Path) -> World:
    face = FakeFace()
    app.state.services = dataclasses.replace(services, issuance=build_issuance(
        settings, services.storage, clock, services.vault, face))
    w = World(app, client, app.state.services, clock, face, tmp_path)
    await w.cards(card_row(1), card_row(2, financial_active=False), card_row(3))
    await w.channel("demo-app")
    await w.channel("bank-app")
    return w


async def jwks_verify(client: AsyncTestClient[Any], token: str, now: datetime) -> dict[str, Any]:
    """Verify as a relying party would: PyJWT with the published JWKS, ES256 only, typ checked."""
    keys = (await client.get("/.well-known/jwks.json")).json()["keys"]
    header = jwt.get_unverified_header(token)
    assert header["typ"] == "ecard+jwt"
    (jwk,) = [k for k in keys if k["kid"] == header["kid"]]
    key = jwt.PyJWK.from_json(json.dumps(jwk)).key
    claims: dict[str, Any] = jwt.decode(token, key, algorithms=["ES256"], issuer="https://ecard.test",
                                        options={"verify_exp": False, "require": ["exp", "iat", "jti"]})
    assert claims["iat"] <= now.timestamp() < claims["exp"]
    return claims


async def test_claim_issues_a_signed_ecard_that_verifies_with_the_published_jwks(world: World) -> None:
    headers = await world.holder("13900000001", "A00000001")
    r = await world.client.post("/v1/ecards", headers=headers)
    assert r.status_code == 201, r.text
    body = r.json()
    claims = await jwks_verify(world.client, body["token"], world.clock.now())
    assert claims["jti"] == body["ecard"]["sign_no"]
    assert claims["card_no"] == "A00000001"
    assert claims["aab301"] == "440300"
    assert claims["sign_level"] == 2
    assert claims["channel"] == "demo-app"
    assert claims["holder"]["name"].endswith("*")
    assert claims["status"]["status_list"]["uri"] == "https://ecard.test/v1/status-lists/1"
    assert claims["status"]["status_list"]["idx"] == body["ecard"]["status"]["idx"]
    assert body["ecard"]["state"] == "active"


async def test_token_never_carries_the_full_id_number(world: World) -> None:
    headers = await world.holder("13900000001", "A00000001")
    token = (await world.client.post("/v1/ecards", headers=headers)).json()["token"]
    payload = json.dumps(jwt.decode(token, options={"verify_signature": False}), ensure_ascii=False)
    full_id = card_row(1)["id_number"]
    assert full_id not in payload
    assert full_id[6:14] not in payload  # not even the birth date digits


async def test_sign_level_is_1_without_the_financial_application(world: World) -> None:
    headers = await world.holder("13900000002", "A00000002")
    body = (await world.client.post("/v1/ecards", headers=headers)).json()
    assert body["ecard"]["sign_level"] == 1


async def test_claim_without_a_recent_face_session_is_refused(world: World) -> None:
    headers = await world.holder("13900000001", "A00000001")
    world.clock.advance(timedelta(minutes=10, seconds=1))
    r = await world.client.post("/v1/ecards", headers=headers)
    assert r.status_code == 403
    assert r.json()["code"] == "face_verification_required"


async def test_claim_needs_the_claim_scope(world: World) -> None:
    account_id = await world.account("13900000001")
    world.pass_face(account_id, "A00000001")
    r = await world.client.post("/v1/ecards", headers=await world.token(account_id, "demo-app",
                                                                          ("ecard:read",)))
    assert r.status_code == 403
    assert r.json()["code"] == "insufficient_scope"


@pytest.mark.parametrize(("columns", "why"), [
    ({"loss_state": "temporary"}, "lost"),
    ({"ss_state": "inactive"}, "not activated"),
    ({"status": "cancelled"}, "cancelled"),
])
async def test_an_unusable_card_cannot_be_claimed(world: World, columns: dict[str, str], why: str) -> None:
    await world.set_card("A00000001", **columns)
    headers = await world.holder("13900000001", "A00000001")
    r = await world.client.post("/v1/ecards", headers=headers)
    assert r.status_code == 409, why
    assert r.json()["code"] == "card_not_usable"


async def test_repeated_claims_from_two_channels_return_one_ecard(world: World) -> None:
    account_id = await world.account("13900000001")
    world.pass_face(account_id, "A00000001")
    first = await world.client.post("/v1/ecards", headers=await world.token(account_id, "demo-app"))
    again = await world.client.post("/v1/ecards", headers=await world.token(account_id, "demo-app"))
    world.clock.advance(timedelta(seconds=1))  # channels are listed in the order they were linked
    other = await world.client.post("/v1/ecards", headers=await world.token(account_id, "bank-app"))
    assert (first.status_code, again.status_code, other.status_code) == (201, 200, 200)
    sign_nos = {r.json()["ecard"]["sign_no"] for r in (first, again, other)}
    assert len(sign_nos) == 1
    assert [c["client_id"] for c in other.json()["ecard"]["channels"]] == ["demo-app", "bank-app"]
    assert jwt.decode(other.json()["token"], options={"verify_signature": False})["channel"] == "bank-app"


async def test_the_same_person_from_another_account_gets_the_same_ecard(world: World) -> None:
    one = await world.client.post("/v1/ecards", headers=await world.holder("13900000001", "A00000001"))
    two = await world.client.post("/v1/ecards", headers=await world.holder("13900000009", "A00000001",
                                                                             "bank-app"))
    assert two.status_code == 200
    assert one.json()["ecard"]["sign_no"] == two.json()["ecard"]["sign_no"]


async def test_twenty_concurrent_claims_give_one_ecard(world: World) -> None:
    account_id = await world.account("13900000001")
    world.pass_face(account_id, "A00000001")
    headers = [await world.token(account_id, "demo-app" if i % 2 else "bank-app") for i in range(20)]
    responses = await asyncio.gather(*(world.client.post("/v1/ecards", headers=h) for h in headers))
    assert sorted(r.status_code for r in responses) == [200] * 19 + [201]
    assert len({r.json()["ecard"]["sign_no"] for r in responses}) == 1
    async with world.services.storage.unit_of_work() as uow:
        cursor = await uow.connection.execute("SELECT count(*) FROM ecards")  # type: ignore[attr-defined]
        assert (await cursor.fetchone())[0] == 1


async def test_me_shows_state_card_region_level_channels_and_validity(world: World) -> None:
    headers = await world.holder("13900000001", "A00000001")
    claimed = (await world.client.post("/v1/ecards", headers=headers)).json()
    r = await world.client.get("/v1/ecards/me", headers=headers)
    assert r.status_code == 200
    me = r.json()
    assert me == claimed["ecard"]
    assert (me["state"], me["card_no"], me["aab301"]) == ("active", "A00000001", "440300")
    assert me["sign_level"] == 2
    assert me["valid_until"] == "2026-04-01T09:00:00Z"


async def test_me_without_an_ecard_is_404(world: World) -> None:
    r = await world.client.get("/v1/ecards/me", headers=await world.holder("13900000001", "A00000001"))
    assert r.status_code == 404
    assert r.json()["code"] == "ecard_not_found"


async def test_unlinking_a_channel_leaves_the_others(world: World) -> None:
    account_id = await world.account("13900000001")
    world.pass_face(account_id, "A00000001")
    demo = await world.token(account_id, "demo-app")
    bank = await world.token(account_id, "bank-app")
    await world.client.post("/v1/ecards", headers=demo)
    await world.client.post("/v1/ecards", headers=bank)
    r = await world.client.delete("/v1/ecards/me/channels/bank-app", headers=demo)
    assert r.status_code == 204
    me = (await world.client.get("/v1/ecards/me", headers=demo)).json()
    assert [c["client_id"] for c in me["channels"]] == ["demo-app"]
    assert (await world.client.get("/v1/ecards/me", headers=bank)).status_code == 404
    again = await world.client.delete("/v1/ecards/me/channels/bank-app", headers=demo)
    assert again.json()["code"] == "channel_not_linked"


async def test_status_list_is_a_signed_statuslist_jwt(world: World) -> None:
    headers = await world.holder("13900000001", "A00000001")
    idx = (await world.client.post("/v1/ecards", headers=headers)).json()["ecard"]["status"]["idx"]
    r = await world.client.get("/v1/status-lists/1")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/statuslist+jwt")
    assert status_of(await status_claims(world, r.text), idx) == 0
    assert (await world.client.get("/v1/status-lists/99")).status_code == 404


async def status_claims(world: World, token: str) -> dict[str, Any]:
    keys = (await world.client.get("/.well-known/jwks.json")).json()["keys"]
    header = jwt.get_unverified_header(token)
    assert header["typ"] == "statuslist+jwt"
    (jwk,) = [k for k in keys if k["kid"] == header["kid"]]
    claims: dict[str, Any] = jwt.decode(token, jwt.PyJWK.from_json(json.dumps(jwk)).key,
                                        algorithms=["ES256"], options={"verify_exp": False})
    assert claims["sub"] == "https://ecard.test/v1/status-lists/1"
    assert claims["status_list"]["bits"] == 2
    assert claims["ttl"] > 0
    return claims


def status_of(claims: dict[str, Any], idx: int) -> int:
    from app.domain.status_list import decode_lst, read  # noqa: PLC0415

    return read(decode_lst(claims["status_list"]["lst"]), idx)


async def test_full_flow_consent_then_claim(world: World) -> None:
    """Register, log in, allow the channel, pass the face check, claim: the token verifies."""
    from tests.flow import add_channel, channel_token, register_and_login  # noqa: PLC0415

    channel = await add_channel(world.services, "full-flow-app")
    user_token = await register_and_login(world.client, "13700000001")
    access = (await channel_token(world.client, user_token, channel))["access_token"]
    async with world.services.storage.unit_of_work() as uow:
        account = await uow.accounts.by_phone("13700000001")
    assert account is not None
    world.pass_face(account.id, "A00000003")
    r = await world.client.post("/v1/ecards", headers=bearer(access))
    assert r.status_code == 201, r.text
    claims = await jwks_verify(world.client, r.json()["token"], world.clock.now())
    assert (claims["channel"], claims["card_no"]) == ("full-flow-app", "A00000003")
