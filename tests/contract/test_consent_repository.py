"""Consent prompts and authorization codes: a prompt is answered once, a code is used once."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import msgspec

from app.domain.consent import AuthorizationCode, Consent
from app.domain.uow import Storage
from tests.contract.rows import NOW, arrange_holders


def prompt(consent_id: str, *, state: str | None = "xyz") -> Consent:
    return Consent(id=consent_id, client_id="demo-app", redirect_uri="https://a.cn/cb",
                   scopes=("ecard:claim", "ecard:read"), state=state, code_challenge="c" * 43,
                   created_at=NOW, expires_at=NOW + timedelta(minutes=10))


def code(code_hash: str, account_id: int, *, grant_id: str = "g1") -> AuthorizationCode:
    return AuthorizationCode(code_hash=code_hash, grant_id=grant_id, consent_id="c1", account_id=account_id,
                             client_id="demo-app", redirect_uri="https://a.cn/cb", scopes=("ecard:claim",),
                             code_challenge="c" * 43, created_at=NOW, expires_at=NOW + timedelta(seconds=60))


async def test_a_prompt_is_answered_once_by_the_first_account(storage: Storage) -> None:
    async with storage.unit_of_work() as uow:
        first, second = await arrange_holders(uow)
        await uow.consents.add(prompt("c1"))
        await uow.consents.add(prompt("c2", state=None))
        undecided = await uow.consents.get("c1")
        assert await uow.consents.decide("c1", first, "allow", NOW)
        assert not await uow.consents.decide("c1", second, "deny", NOW)
        decided = await uow.consents.get("c1")
        other = await uow.consents.get("c2")
    assert undecided == prompt("c1")
    assert decided == msgspec.structs.replace(prompt("c1"), account_id=first, decision="allow")
    assert other == prompt("c2", state=None)


async def test_an_unknown_prompt_is_neither_found_nor_decided(storage: Storage) -> None:
    async with storage.unit_of_work() as uow:
        first, _ = await arrange_holders(uow)
        assert await uow.consents.get("nope") is None
        assert not await uow.consents.decide("nope", first, "allow", NOW)


async def test_only_decide_and_use_code_write_the_answer_and_the_use(storage: Storage) -> None:
    async with storage.unit_of_work() as uow:
        first, _ = await arrange_holders(uow)
        await uow.consents.add(msgspec.structs.replace(prompt("c1"), account_id=first, decision="allow"))
        await uow.consents.add_code(msgspec.structs.replace(code("h1", first), used_at=NOW))
        stored_prompt = await uow.consents.get("c1")
        stored_code = await uow.consents.find_code("h1")
    assert stored_prompt == prompt("c1")
    assert stored_code == code("h1", first)


async def test_an_authorization_code_is_used_once(storage: Storage) -> None:
    async with storage.unit_of_work() as uow:
        first, _ = await arrange_holders(uow)
        await uow.consents.add(prompt("c1"))
        await uow.consents.add_code(code("h1", first))
        fresh = await uow.consents.find_code("h1")
        assert await uow.consents.use_code("h1", NOW + timedelta(seconds=5))
        assert not await uow.consents.use_code("h1", NOW + timedelta(seconds=6))
        assert not await uow.consents.use_code("unknown", NOW)
        used = await uow.consents.find_code("h1")
        assert await uow.consents.find_code("unknown") is None
    assert fresh == code("h1", first)
    assert used == msgspec.structs.replace(code("h1", first), used_at=NOW + timedelta(seconds=5))


async def test_racing_exchanges_use_a_code_once(storage: Storage) -> None:
    async with storage.unit_of_work() as uow:
        first, _ = await arrange_holders(uow)
        await uow.consents.add(prompt("c1"))
        await uow.consents.add_code(code("h1", first))

    async def exchange() -> bool:
        async with storage.unit_of_work() as uow:
            return await uow.consents.use_code("h1", NOW)

    assert sorted(await asyncio.gather(*(exchange() for _ in range(5)))) == [False] * 4 + [True]
