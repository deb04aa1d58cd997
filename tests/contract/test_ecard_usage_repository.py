"""The e-card's usage history: kept per e-card, read newest first (time, then insertion order),
paged after a position."""

from __future__ import annotations

from datetime import timedelta

import msgspec

from app.domain.ecard_usage import FamilyMember, UsageEvent, UsageKind, UsagePosition
from app.domain.uow import Storage
from tests.contract.rows import NOW, arrange_holders, ecard


def event(sign_no: str, kind: UsageKind, minutes: int, client_id: str = "demo-app") -> UsageEvent:
    return UsageEvent(sign_no=sign_no, kind=kind, at=NOW + timedelta(minutes=minutes), client_id=client_id,
                      party_name=client_id, party_kind="app")


async def arrange(storage: Storage) -> None:
    async with storage.unit_of_work() as uow:
        await arrange_holders(uow)
        list_id = await uow.ecards.status_list_with_room(16, 0.75, NOW)
        assert await uow.ecards.add(ecard("S1", status_list=list_id, idx=1))
        assert await uow.ecards.add(ecard("S2", person="p2", card_no="A00000002", status_list=list_id, idx=2))
        await uow.ecard_usage.record(event("S1", "claimed", 0))
        await uow.ecard_usage.record(event("S1", "channel_linked", 0))
        await uow.ecard_usage.record(event("S2", "claimed", 1))
        await uow.ecard_usage.record(event("S1", "qrcode_verified", 5, "hospital"))
        await uow.ecard_usage.record(event("S1", "channel_unlinked", 3))


async def test_usage_is_read_newest_first_and_per_ecard(storage: Storage) -> None:
    await arrange(storage)
    async with storage.unit_of_work() as uow:
        rows = await uow.ecard_usage.page("S1", None, 10)
        other = await uow.ecard_usage.page("S2", None, 10)
    assert [r.event.kind for r in rows] == ["qrcode_verified", "channel_unlinked", "channel_linked", "claimed"]
    assert rows[0].event == event("S1", "qrcode_verified", 5, "hospital")
    assert [r.event.kind for r in other] == ["claimed"]


async def test_usage_pages_continue_after_a_position_even_between_equal_times(storage: Storage) -> None:
    await arrange(storage)
    async with storage.unit_of_work() as uow:
        first = await uow.ecard_usage.page("S1", None, 3)
        last = first[-1]
        rest = await uow.ecard_usage.page("S1", UsagePosition(last.event.at, last.id), 3)
        empty = await uow.ecard_usage.page("S1", UsagePosition(NOW - timedelta(days=1), 1), 3)
    assert [r.event.kind for r in first] == ["qrcode_verified", "channel_unlinked", "channel_linked"]
    assert [r.event.kind for r in rest] == ["claimed"]
    assert empty == []


async def test_usage_rolls_back_with_its_transaction(storage: Storage) -> None:
    await arrange(storage)
    try:
        async with storage.unit_of_work() as uow:
            await uow.ecard_usage.record(event("S1", "qrcode_verified", 9))
            raise RuntimeError("the event failed")
    except RuntimeError:
        pass
    async with storage.unit_of_work() as uow:
        rows = await uow.ecard_usage.page("S1", None, 10)
    assert len(rows) == 4


async def test_a_family_event_keeps_the_other_person_masked(storage: Storage) -> None:
    await arrange(storage)
    member = FamilyMember(name="李*", id_number="440305********1234")
    linked = msgspec.structs.replace(event("S1", "family_linked", 9), family_member=member)
    async with storage.unit_of_work() as uow:
        await uow.ecard_usage.record(linked)
        rows = await uow.ecard_usage.page("S1", None, 2)
    assert [r.event for r in rows] == [linked, event("S1", "qrcode_verified", 5, "hospital")]
    assert rows[1].event.family_member is None
