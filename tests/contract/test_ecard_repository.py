"""E-cards: one live e-card per person, one e-card per status list index, lists filled to a limit,
state changes that move the list's revision, channel links, and the holder's newest live e-card."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import msgspec

from app.domain.ecards import ChannelLink
from app.domain.status_list import StatusListInfo
from app.domain.uow import Storage, UnitOfWork
from tests.contract.rows import NOW, arrange_holders, ecard

LATER = NOW + timedelta(hours=1)


async def new_list(uow: UnitOfWork, size: int = 16) -> int:
    return await uow.ecards.status_list_with_room(size, 0.75, NOW)


async def test_a_person_has_one_live_ecard(storage: Storage) -> None:
    async with storage.unit_of_work() as uow:
        await arrange_holders(uow)
        list_id = await new_list(uow)
        assert await uow.ecards.add(ecard("S1", status_list=list_id, idx=1))
        assert not await uow.ecards.add(ecard("S2", status_list=list_id, idx=2, state="suspended"))
        assert await uow.ecards.add(ecard("S3", person="p2", status_list=list_id, idx=3))
        await uow.ecards.set_state("S1", "invalid", LATER)
        assert await uow.ecards.add(ecard("S2", status_list=list_id, idx=2, issued_at=LATER))
        live = await uow.ecards.live_for_person("p1")
        old = await uow.ecards.get("S1")
        assert await uow.ecards.live_for_person("nobody") is None
    assert live == ecard("S2", status_list=list_id, idx=2, issued_at=LATER)
    assert old is not None
    assert (old.state, old.state_since) == ("invalid", LATER)


async def test_an_invalid_ecard_does_not_take_the_persons_slot(storage: Storage) -> None:
    async with storage.unit_of_work() as uow:
        await arrange_holders(uow)
        list_id = await new_list(uow)
        assert await uow.ecards.add(ecard("S1", status_list=list_id, idx=1, state="invalid"))
        assert await uow.ecards.add(ecard("S2", status_list=list_id, idx=2, state="invalid"))
        assert await uow.ecards.add(ecard("S3", status_list=list_id, idx=3))
        live = await uow.ecards.live_for_person("p1")
    assert live is not None
    assert live.sign_no == "S3"


async def test_a_status_index_and_a_sign_number_are_given_once(storage: Storage) -> None:
    async with storage.unit_of_work() as uow:
        await arrange_holders(uow)
        list_id = await new_list(uow)
        assert await uow.ecards.add(ecard("S1", status_list=list_id, idx=7))
        assert not await uow.ecards.add(ecard("S2", person="p2", status_list=list_id, idx=7))
        assert not await uow.ecards.add(ecard("S1", person="p3", status_list=list_id, idx=8))
        assert await uow.ecards.add(ecard("S3", person="p3", status_list=list_id, idx=9, state="suspended"))
        taken = [await uow.ecards.index_taken(list_id, i) for i in (7, 8, 9)]
        entries = sorted(await uow.ecards.status_entries(list_id))
        assert await uow.ecards.get("S2") is None
    assert taken == [True, False, True]
    assert entries == [(7, "active"), (9, "suspended")]


async def test_a_status_list_fills_to_its_limit_then_a_new_one_starts(storage: Storage) -> None:
    async with storage.unit_of_work() as uow:
        await arrange_holders(uow)
        first = await uow.ecards.status_list_with_room(4, 0.5, NOW)
        assert await uow.ecards.status_list_with_room(4, 0.5, NOW) == first
        assert await uow.ecards.add(ecard("S1", person="p1", status_list=first, idx=0))
        assert await uow.ecards.status_list_with_room(4, 0.5, NOW) == first
        assert await uow.ecards.add(ecard("S2", person="p2", status_list=first, idx=3))
        second = await uow.ecards.status_list_with_room(4, 0.5, NOW)
        assert await uow.ecards.status_list_with_room(4, 0.5, NOW) == second
        info = await uow.ecards.status_list(second)
        assert await uow.ecards.status_entries(second) == []
        assert await uow.ecards.status_list(second + 1000) is None
    assert second != first
    assert info == StatusListInfo(id=second, size=4, revision=0)


async def test_an_invalid_ecard_stays_invalid_whatever_a_later_write_says(storage: Storage) -> None:
    async with storage.unit_of_work() as uow:
        await arrange_holders(uow)
        list_id = await new_list(uow)
        assert await uow.ecards.add(ecard("S1", status_list=list_id, idx=1))
        await uow.ecards.set_state("S1", "invalid", NOW + timedelta(minutes=1))
        await uow.ecards.set_state("S1", "suspended", NOW + timedelta(minutes=2))
        await uow.ecards.set_state("S1", "active", NOW + timedelta(minutes=3))
        after = await uow.ecards.get("S1")
    assert after is not None
    assert (after.state, after.state_since) == ("invalid", NOW + timedelta(minutes=1))


async def test_a_cancellation_makes_a_live_ecard_invalid_once_and_notes_when(storage: Storage) -> None:
    async with storage.unit_of_work() as uow:
        await arrange_holders(uow)
        list_id = await new_list(uow)
        assert await uow.ecards.add(ecard("S1", status_list=list_id, idx=1))
        first = await uow.ecards.cancel("S1", NOW + timedelta(minutes=1))
        again = await uow.ecards.cancel("S1", NOW + timedelta(minutes=2))
        after = await uow.ecards.get("S1")
        info = await uow.ecards.status_list(list_id)
    assert (first, again) == (True, False)
    assert after is not None
    assert (after.state, after.state_since, after.cancelled_at) == (
        "invalid", NOW + timedelta(minutes=1), NOW + timedelta(minutes=1))
    assert info is not None
    assert info.revision >= 1


async def test_a_state_change_moves_the_list_revision(storage: Storage) -> None:
    async with storage.unit_of_work() as uow:
        await arrange_holders(uow)
        list_id = await new_list(uow)
        assert await uow.ecards.add(ecard("S1", status_list=list_id, idx=1))
        assert await uow.ecards.add(ecard("S0", person="p2", status_list=list_id, idx=2))
        await uow.ecards.set_state("S1", "suspended", NOW + timedelta(minutes=1))
        await uow.ecards.set_state("S1", "suspended", NOW + timedelta(minutes=2))  # no change: keeps its since
        suspended = await uow.ecards.get("S1")
        await uow.ecards.set_state("S1", "invalid", NOW + timedelta(minutes=3), replaced_by="S0")
        await uow.ecards.set_state("S1", "invalid", NOW + timedelta(minutes=4))  # keeps its successor
        invalid = await uow.ecards.get("S1")
        await uow.ecards.touch_status_list(list_id, NOW + timedelta(minutes=5))
        info = await uow.ecards.status_list(list_id)
    assert suspended is not None
    assert invalid is not None
    assert (suspended.state, suspended.state_since) == ("suspended", NOW + timedelta(minutes=1))
    assert (invalid.state, invalid.state_since, invalid.replaced_by) == (
        "invalid", NOW + timedelta(minutes=3), "S0")
    assert info is not None
    assert info.revision == 5  # four state changes and a touch; the inserts move nothing


async def test_renewal_and_sign_level_change_only_their_field(storage: Storage) -> None:
    async with storage.unit_of_work() as uow:
        await arrange_holders(uow)
        list_id = await new_list(uow)
        assert await uow.ecards.add(ecard("S1", status_list=list_id, idx=1))
        await uow.ecards.renew("S1", NOW + timedelta(days=60))
        await uow.ecards.set_sign_level("S1", 2)
        after = await uow.ecards.get("S1")
        info = await uow.ecards.status_list(list_id)
    assert after == msgspec.structs.replace(ecard("S1", status_list=list_id, idx=1),
                                            expires_at=NOW + timedelta(days=60), sign_level=2)
    assert info is not None
    assert info.revision == 0


async def test_a_channel_links_once_and_unlinks_without_touching_the_others(storage: Storage) -> None:
    async with storage.unit_of_work() as uow:
        first, second = await arrange_holders(uow)
        list_id = await new_list(uow)
        assert await uow.ecards.add(ecard("S1", status_list=list_id, idx=1))
        assert await uow.ecards.link("S1", "demo-app", first, NOW + timedelta(minutes=2))
        assert not await uow.ecards.link("S1", "demo-app", first, NOW + timedelta(minutes=3))
        assert await uow.ecards.link("S1", "other-app", first, NOW + timedelta(minutes=1))
        assert await uow.ecards.link("S1", "demo-app", second, NOW + timedelta(minutes=1))
        ordered = await uow.ecards.links("S1")
        removed = await uow.ecards.unlink("S1", "demo-app")
        again = await uow.ecards.unlink("S1", "demo-app")
        left = await uow.ecards.links("S1")
    assert ordered == [
        ChannelLink(client_id="demo-app", account_id=second, linked_at=NOW + timedelta(minutes=1)),
        ChannelLink(client_id="other-app", account_id=first, linked_at=NOW + timedelta(minutes=1)),
        ChannelLink(client_id="demo-app", account_id=first, linked_at=NOW + timedelta(minutes=2)),
    ]
    assert (removed, again) == (2, 0)
    assert left == [ChannelLink(client_id="other-app", account_id=first, linked_at=NOW + timedelta(minutes=1))]


async def test_a_replacement_takes_the_links_along(storage: Storage) -> None:
    async with storage.unit_of_work() as uow:
        first, second = await arrange_holders(uow)
        list_id = await new_list(uow)
        assert await uow.ecards.add(ecard("S1", status_list=list_id, idx=1, state="invalid"))
        assert await uow.ecards.add(ecard("S2", card_no="A00000002", status_list=list_id, idx=2))
        await uow.ecards.link("S1", "demo-app", first, NOW)
        await uow.ecards.link("S1", "other-app", second, NOW)
        await uow.ecards.link("S2", "demo-app", first, NOW + timedelta(minutes=1))
        await uow.ecards.copy_links("S1", "S2", LATER)
        copied = await uow.ecards.links("S2")
        kept = await uow.ecards.links("S1")
    assert copied == [ChannelLink(client_id="demo-app", account_id=first, linked_at=NOW + timedelta(minutes=1)),
                      ChannelLink(client_id="other-app", account_id=second, linked_at=LATER)]
    assert len(kept) == 2


async def test_the_holder_sees_a_live_ecard_before_a_newer_invalid_one(storage: Storage) -> None:
    async with storage.unit_of_work() as uow:
        first, second = await arrange_holders(uow)
        list_id = await new_list(uow)
        assert await uow.ecards.add(ecard("OLD", status_list=list_id, idx=1, issued_at=NOW - timedelta(days=1)))
        assert await uow.ecards.add(ecard("NEWER", status_list=list_id, idx=2, state="invalid", issued_at=LATER))
        assert await uow.ecards.add(ecard("NEWEST", status_list=list_id, idx=3, state="invalid",
                                          issued_at=LATER + timedelta(hours=1)))
        for sign_no in ("OLD", "NEWER", "NEWEST"):
            await uow.ecards.link(sign_no, "demo-app", first, NOW)
        await uow.ecards.link("NEWER", "other-app", first, NOW)
        await uow.ecards.link("NEWEST", "other-app", first, NOW)
        any_channel = await uow.ecards.for_holder(first, None)
        through_demo = await uow.ecards.for_holder(first, "demo-app")
        through_other = await uow.ecards.for_holder(first, "other-app")
        nothing = await uow.ecards.for_holder(second, None)
        unlinked_channel = await uow.ecards.for_holder(first, "hospital")
    assert any_channel is not None
    assert through_demo is not None
    assert through_other is not None
    assert (any_channel.sign_no, through_demo.sign_no, through_other.sign_no) == ("OLD", "OLD", "NEWEST")
    assert (nothing, unlinked_channel) == (None, None)


async def test_a_cards_latest_ecard_in_any_state(storage: Storage) -> None:
    async with storage.unit_of_work() as uow:
        await arrange_holders(uow)
        list_id = await new_list(uow)
        assert await uow.ecards.add(ecard("S1", status_list=list_id, idx=1, state="invalid"))
        assert await uow.ecards.add(ecard("S2", status_list=list_id, idx=2, issued_at=LATER))
        assert await uow.ecards.add(ecard("S3", person="p2", card_no="A00000002", status_list=list_id, idx=3))
        live = await uow.ecards.live_for_card("A00000001")
        await uow.ecards.set_state("S2", "invalid", LATER)
        none_live = await uow.ecards.live_for_card("A00000001")
        latest = await uow.ecards.latest_for_card("A00000001")
        never = await uow.ecards.latest_for_card("A00000003")
    assert live is not None
    assert latest is not None
    assert (live.sign_no, none_live, latest.sign_no, latest.state, never) == ("S2", None, "S2", "invalid", None)


async def test_racing_claims_give_a_person_one_live_ecard(storage: Storage) -> None:
    async with storage.unit_of_work() as uow:
        await arrange_holders(uow)
        list_id = await new_list(uow)

    async def claim(n: int) -> bool:
        async with storage.unit_of_work() as uow:
            return await uow.ecards.add(ecard(f"S{n}", status_list=list_id, idx=n))

    assert sorted(await asyncio.gather(*(claim(n) for n in range(4)))) == [False, False, False, True]
