"""What every storage adapter must do, written once against the repository interfaces.

The `storage` fixture (conftest.py) is parametrised by adapter. Each test states one rule a domain
service leans on: a unique constraint that stands in for a check, a conditional write that a race
cannot pass, a query's order. Accounts, limits and cards are here; consents, e-cards, QR codes and
face sessions have a module each beside this one.
"""

from __future__ import annotations

import asyncio
from datetime import date, timedelta

import msgspec

from app.domain.accounts import TokenRecord
from app.domain.cards.model import CardEvent
from app.domain.channels import Channel
from app.domain.uow import Storage
from tests.contract.rows import NOW, VAULT, arrange_holders, card, realname_check

# --- accounts and tokens --------------------------------------------------------------------------

async def test_a_phone_has_one_account(storage: Storage) -> None:
    async with storage.unit_of_work() as uow:
        first = await uow.accounts.add("13912345678", "hash", NOW)
        second = await uow.accounts.add("13912345678", "other", NOW)
        found = await uow.accounts.by_phone("13912345678")
    assert first is not None
    assert second is None
    assert found is not None
    assert (found.id, found.password_hash) == (first, "hash")


async def test_a_token_is_revoked_once_and_a_grant_all_at_once(storage: Storage) -> None:
    def token(name: str, grant: str) -> TokenRecord:
        return TokenRecord(token_hash=name, kind="refresh", account_id=None, client_id="app", scopes=("a", "b"),
                           grant_id=grant, created_at=NOW, expires_at=NOW + timedelta(days=1))

    async with storage.unit_of_work() as uow:
        await uow.channels.add(Channel(client_id="app", name="App", kind="app", secret_hash=None,
                                       redirect_uris=(), scopes=(), created_at=NOW))
        for name, grant in (("t1", "g1"), ("t2", "g1"), ("t3", "g2")):
            await uow.tokens.add(token(name, grant))
        assert await uow.tokens.revoke("t1", NOW)
        assert not await uow.tokens.revoke("t1", NOW)
        assert await uow.tokens.revoke_grant("g1", NOW) == 1  # t2; t1 was revoked already
        found = await uow.tokens.find("t3")
    assert found is not None
    assert (found.scopes, found.revoked_at) == (("a", "b"), None)


async def test_the_latest_sms_code_counts_its_tries(storage: Storage) -> None:
    async with storage.unit_of_work() as uow:
        await uow.sms_codes.add("13912345678", "h1", NOW, NOW + timedelta(minutes=5))
        await uow.sms_codes.add("13912345678", "h2", NOW, NOW + timedelta(minutes=5))
        latest = await uow.sms_codes.latest("13912345678")
        assert latest is not None
        assert await uow.sms_codes.take_try(latest.id, 2)
        assert await uow.sms_codes.take_try(latest.id, 2)
        assert not await uow.sms_codes.take_try(latest.id, 2)
        assert await uow.sms_codes.consume(latest.id, NOW)
        assert not await uow.sms_codes.consume(latest.id, NOW)
        again = await uow.sms_codes.latest("13912345678")
    assert again is not None
    assert (again.code_hash, again.attempts, again.consumed_at) == ("h2", 2, NOW)


async def test_a_consumed_sms_code_takes_no_more_tries(storage: Storage) -> None:
    async with storage.unit_of_work() as uow:
        await uow.sms_codes.add("13912345678", "h1", NOW, NOW + timedelta(minutes=5))
        latest = await uow.sms_codes.latest("13912345678")
        assert latest is not None
        assert await uow.sms_codes.consume(latest.id, NOW)
        assert not await uow.sms_codes.take_try(latest.id, 5)


async def test_racing_tries_on_one_sms_code_stop_at_the_limit(storage: Storage) -> None:
    async with storage.unit_of_work() as uow:
        await uow.sms_codes.add("13912345678", "h1", NOW, NOW + timedelta(minutes=5))
        latest = await uow.sms_codes.latest("13912345678")
    assert latest is not None

    async def one_try() -> bool:
        async with storage.unit_of_work() as uow:
            return await uow.sms_codes.take_try(latest.id, 5)

    taken = await asyncio.gather(*(one_try() for _ in range(20)))
    assert taken.count(True) == 5


async def test_a_channel_id_is_taken_once(storage: Storage) -> None:
    channel = Channel(client_id="demo-app", name="Demo", kind="app", secret_hash=None,
                      redirect_uris=("https://a.cn/cb",), scopes=("ecard:claim",), created_at=NOW)
    async with storage.unit_of_work() as uow:
        assert await uow.channels.add(channel)
        assert not await uow.channels.add(channel)
        assert await uow.channels.get("demo-app") == channel


# --- limits and leases ----------------------------------------------------------------------------

async def test_racing_takes_never_pass_the_limit(storage: Storage) -> None:
    async def take() -> bool:
        async with storage.unit_of_work() as uow:
            return await uow.limits.take("b", "w", 3)

    taken = await asyncio.gather(*(take() for _ in range(10)))
    async with storage.unit_of_work() as uow:
        await uow.limits.give_back("b", "w")
        counted = await uow.limits.count("b", "w")
        assert await uow.limits.take("b", "w", 3)
    assert (taken.count(True), counted) == (3, 2)


async def test_a_lease_has_one_holder_until_it_expires(storage: Storage) -> None:
    async with storage.unit_of_work() as uow:
        assert await uow.leases.acquire("sweep", "a", NOW, timedelta(minutes=10))
        assert not await uow.leases.acquire("sweep", "b", NOW + timedelta(minutes=5), timedelta(minutes=10))
        assert await uow.leases.acquire("sweep", "a", NOW + timedelta(minutes=5), timedelta(minutes=10))
        assert await uow.leases.acquire("sweep", "b", NOW + timedelta(minutes=16), timedelta(minutes=10))


# --- cards ---------------------------------------------------------------------------------------

async def test_the_import_adds_keeps_and_refuses(storage: Storage) -> None:
    async with storage.unit_of_work() as uow:
        first = await uow.cards.import_batch([card(1), card(2), card(3, id_n=1)], NOW)
        again = await uow.cards.import_batch([card(1), msgspec.structs.replace(card(2), record_digest="x")], NOW)
        mine = await uow.cards.by_id_digest(card(1).record.id_digest)
    assert first == ["added", "added", "holder_has_card"]
    assert again == ["unchanged", "conflict"]
    assert [c.card_no for c in mine] == ["A00000001"]
    assert (mine[0].name, mine[0].phone, mine[0].id_masked) == ("张三", "13800138000", card(1).record.id_masked)


async def test_a_stale_version_does_not_overwrite(storage: Storage) -> None:
    async with storage.unit_of_work() as uow:
        await uow.cards.import_batch([card(1)], NOW)
        read = await uow.cards.get("A00000001")
        assert read is not None
        assert await uow.cards.save(msgspec.structs.replace(read, loss_state="temporary", loss_since=NOW))
        assert not await uow.cards.save(msgspec.structs.replace(read, loss_state="formal"))
        after = await uow.cards.get("A00000001")
    assert after is not None
    assert (after.loss_state, after.version) == ("temporary", read.version + 1)


async def test_pin_attempts_stop_at_the_limit(storage: Storage) -> None:
    async with storage.unit_of_work() as uow:
        await uow.cards.import_batch([card(1)], NOW)
        counts = [await uow.cards.count_pin_attempt("A00000001", limit=2) for _ in range(3)]
    assert counts == [1, 2, None]


async def test_history_is_kept_in_order_with_the_agent(storage: Storage) -> None:
    agent = {"name": "李四", "id_masked": "370203********3213", "id_digest": "d", "power_of_attorney_ref": "P"}
    async with storage.unit_of_work() as uow:
        await uow.cards.import_batch([card(1)], NOW)
        for n, action in enumerate(("loss_reported", "unlocked")):
            await uow.cards.add_event(CardEvent(card_no="A00000001", at=NOW + timedelta(minutes=n), action=action,
                                                actor="bureau", agent=agent if n == 0 else None,
                                                before={}, after={"loss": "none"}))
        events = await uow.cards.events("A00000001")
    assert [(e.action, e.agent) for e in events] == [("loss_reported", agent), ("unlocked", None)]


async def test_sweep_queries_find_what_is_due(storage: Storage) -> None:
    async with storage.unit_of_work() as uow:
        await uow.cards.import_batch([card(1), card(2)], NOW)
        first = await uow.cards.get("A00000001")
        assert first is not None
        await uow.cards.save(msgspec.structs.replace(first, loss_state="temporary", loss_since=NOW))
        lapsing = await uow.cards.temporary_losses_reported_before(NOW + timedelta(days=1))
        due = await uow.cards.financially_inactive_collected_on_or_before(date(2025, 12, 31))
    assert lapsing == ["A00000001"]
    assert due == ["A00000002"]


async def test_racing_imports_give_a_person_one_card_in_use(storage: Storage) -> None:
    async def load(n: int) -> list[str]:
        async with storage.unit_of_work() as uow:
            return list(await uow.cards.import_batch([card(n, id_n=1), card(n + 10)], NOW))

    outcomes = await asyncio.gather(load(1), load(2))
    async with storage.unit_of_work() as uow:
        in_use = [c for c in await uow.cards.by_id_digest(card(1, id_n=1).record.id_digest) if c.status == "normal"]
    assert sorted(o[0] for o in outcomes) == ["added", "holder_has_card"]
    assert [o[1] for o in outcomes] == ["added", "added"]
    assert len(in_use) == 1


async def test_a_replacement_retires_the_old_card_before_the_new_one_enters_use(storage: Storage) -> None:
    async with storage.unit_of_work() as uow:
        await uow.cards.import_batch([card(1)], NOW)
        old = await uow.cards.get("A00000001")
        assert old is not None
        retired = msgspec.structs.replace(old, status="replaced")
        assert await uow.cards.save(retired)
        number = VAULT.unseal(old.id_sealed, context=b"A00000001")
        await uow.cards.add_replacement("A00000001", msgspec.structs.replace(
            old, card_no="B00000001", id_sealed=VAULT.seal(number, context=b"B00000001"),
            replaces="A00000001", version=0), None)
        mine = await uow.cards.by_id_digest(old.id_digest)
    assert [(c.card_no, c.status) for c in mine] == [("A00000001", "replaced"), ("B00000001", "normal")]


# --- real-name checks ----------------------------------------------------------------------------

async def test_a_real_name_check_reads_back_as_written(storage: Storage) -> None:
    async with storage.unit_of_work() as uow:
        account, _ = await arrange_holders(uow)
        await uow.realname.add(realname_check("r1", account))
        found = await uow.realname.get("r1")
        missing = await uow.realname.get("r2")
    assert (found, missing) == (realname_check("r1", account), None)


async def test_racing_imports_of_the_same_file_report_its_rows_unchanged(storage: Storage) -> None:
    async def load() -> list[str]:
        async with storage.unit_of_work() as uow:
            return list(await uow.cards.import_batch([card(1), card(2), card(3)], NOW))

    outcomes = await asyncio.gather(load(), load())
    assert sorted(outcomes) == [["added"] * 3, ["unchanged"] * 3]
