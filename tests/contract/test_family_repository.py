"""Family invitations and links: an invitation is accepted once and only before it expires; a holder's
live links take distinct slots 1..8 and one per relative, whoever races; ended links give both back."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import datetime, timedelta

import msgspec

from app.clock import FrozenClock
from app.domain.face_sessions import new_session
from app.domain.family import (
    MAX_LINKS,
    AcceptedLink,
    FamilyInvitation,
    FamilyLink,
    FamilyService,
    Relation,
    link_in_free_slot,
)
from app.domain.uow import Storage, UnitOfWork
from app.errors import Conflict
from tests.contract.rows import NOW, arrange_holders, card, ecard, realname_check

EXPIRES = NOW + timedelta(hours=24)
HOLDER = "S1"
RELATIVES = [f"S{n}" for n in range(2, 2 + MAX_LINKS + 1)]  # nine e-cards besides the holder's


async def arrange(storage: Storage) -> tuple[int, int]:
    """E-cards S1 (the holder) to S10, each of another person and card; the two accounts."""
    async with storage.unit_of_work() as uow:
        accounts = await arrange_holders(uow)
        await uow.cards.import_batch([card(n) for n in range(4, 11)], NOW)
        list_id = await uow.ecards.status_list_with_room(64, 0.75, NOW)
        for n in range(1, 11):
            assert await uow.ecards.add(ecard(f"S{n}", person=f"p{n}", card_no=f"A{n:08d}", status_list=list_id, idx=n))
    return accounts


def invitation(code_hash: str, *, holder: str = HOLDER, expires_at: datetime = EXPIRES,
               relation: Relation = "child") -> FamilyInvitation:
    return FamilyInvitation(code_hash=code_hash, holder_sign_no=holder, relation=relation, client_id="demo-app",
                            created_at=NOW, expires_at=expires_at)


def link(link_id: str, relative: str, slot: int, *, holder: str = HOLDER, minutes: int = 0) -> FamilyLink:
    return FamilyLink(id=link_id, holder_sign_no=holder, relative_sign_no=relative, relation="child", slot=slot,
                      invitation=f"i-{link_id}", client_id="other-app", created_at=NOW + timedelta(minutes=minutes))


async def add_with_invitation(uow: UnitOfWork, made: FamilyLink) -> bool:
    await uow.family.add_invitation(invitation(made.invitation, holder=made.holder_sign_no))
    return await uow.family.add_link(made)


async def test_an_invitation_is_accepted_once_and_only_before_it_expires(storage: Storage) -> None:
    await arrange(storage)
    async with storage.unit_of_work() as uow:
        await uow.family.add_invitation(invitation("i1"))
        await uow.family.add_invitation(invitation("i2"))
        at_expiry = await uow.family.consume_invitation("i2", "S3", EXPIRES)
        first = await uow.family.consume_invitation("i1", "S2", NOW + timedelta(hours=1))
        second = await uow.family.consume_invitation("i1", "S3", NOW + timedelta(hours=2))
        accepted = await uow.family.invitation("i1")
        unknown = await uow.family.consume_invitation("never", "S2", NOW)
        stored = await uow.family.invitation("i2")
    assert (at_expiry, first, second, unknown) == (False, True, False, False)
    assert accepted == msgspec.structs.replace(invitation("i1"), accepted_at=NOW + timedelta(hours=1), accepted_by="S2")
    assert stored == invitation("i2")


async def test_purge_drops_only_invitations_that_expired_unaccepted(storage: Storage) -> None:
    await arrange(storage)
    async with storage.unit_of_work() as uow:
        await uow.family.add_invitation(invitation("old", expires_at=NOW - timedelta(days=8)))
        await uow.family.add_invitation(invitation("accepted", expires_at=NOW - timedelta(days=8)))
        await uow.family.add_invitation(invitation("fresh"))
        assert await uow.family.consume_invitation("accepted", "S2", NOW - timedelta(days=9))
        purged = await uow.family.purge_invitations(NOW - timedelta(days=7))
        left = [await uow.family.invitation(h) is not None for h in ("old", "accepted", "fresh")]
    assert (purged, left) == (1, [False, True, True])


async def test_a_holders_live_links_take_distinct_slots_and_one_per_relative(storage: Storage) -> None:
    await arrange(storage)
    async with storage.unit_of_work() as uow:
        assert await add_with_invitation(uow, link("l1", "S2", 1))
        same_slot = await add_with_invitation(uow, link("l2", "S3", 1))
        same_pair = await add_with_invitation(uow, link("l3", "S2", 2))
        other_holder = await add_with_invitation(uow, link("l4", "S2", 1, holder="S3"))
        reverse = await add_with_invitation(uow, link("l5", HOLDER, 2, holder="S2"))
        live = await uow.family.live_links(HOLDER)
    assert (same_slot, same_pair, other_holder, reverse) == (False, False, True, True)
    assert [made.id for made in live] == ["l1", "l5"]
    assert live[0] == link("l1", "S2", 1)


async def test_an_ended_link_gives_back_its_slot_and_pair(storage: Storage) -> None:
    await arrange(storage)
    later = NOW + timedelta(hours=1)
    async with storage.unit_of_work() as uow:
        assert await add_with_invitation(uow, link("l1", "S2", 1))
        ended = await uow.family.end_link("l1", later, "demo-app", "ended_by_holder")
        again = await uow.family.end_link("l1", later, "demo-app", "ended_by_holder")
        relinked = await add_with_invitation(uow, link("l2", "S2", 1, minutes=61))
        stored = await uow.family.link("l1")
        by_invitation = await uow.family.link_for_invitation("i-l2")
        live = await uow.family.live_links("S2")
    expected = msgspec.structs.replace(link("l1", "S2", 1), ended_at=later, ended_by="demo-app",
                                       end_reason="ended_by_holder")
    assert (ended, again, stored) == (expected, None, expected)
    assert relinked
    assert by_invitation == link("l2", "S2", 1, minutes=61)
    assert [made.id for made in live] == ["l2"]


async def test_ending_an_ecards_links_ends_them_on_both_sides_once(storage: Storage) -> None:
    await arrange(storage)
    async with storage.unit_of_work() as uow:
        assert await add_with_invitation(uow, link("l1", "S2", 1))
        assert await add_with_invitation(uow, link("l2", HOLDER, 1, holder="S3", minutes=1))
        assert await add_with_invitation(uow, link("l3", "S4", 2, holder="S3", minutes=2))
        ended = await uow.family.end_links(HOLDER, NOW, "card_lifecycle", "ecard_invalid")
        again = await uow.family.end_links(HOLDER, NOW, "card_lifecycle", "ecard_invalid")
        left = await uow.family.live_links("S3")
    assert [(made.id, made.end_reason, made.ended_by) for made in ended] == [
        ("l1", "ecard_invalid", "card_lifecycle"), ("l2", "ecard_invalid", "card_lifecycle")]
    assert again == []
    assert [made.id for made in left] == ["l3"]


async def test_racing_acceptances_consume_an_invitation_once(storage: Storage) -> None:
    await arrange(storage)
    async with storage.unit_of_work() as uow:
        await uow.family.add_invitation(invitation("i1"))

    async def consume(relative: str) -> bool:
        async with storage.unit_of_work() as uow:
            return await uow.family.consume_invitation("i1", relative, NOW + timedelta(minutes=1))

    outcomes = await asyncio.gather(*(consume(relative) for relative in RELATIVES[:5]))
    assert sorted(outcomes) == [False] * 4 + [True]


async def test_racing_links_fill_the_eight_slots_and_the_ninth_is_told_full(storage: Storage) -> None:
    await arrange(storage)
    async with storage.unit_of_work() as uow:
        for relative in RELATIVES:
            await uow.family.add_invitation(invitation(f"i-{relative}"))

    async def make(relative: str) -> str:
        try:
            async with storage.unit_of_work() as uow:
                await link_in_free_slot(uow, invitation(f"i-{relative}"), relative, "other-app", NOW)
        except Conflict as refused:
            return refused.code
        return "linked"

    outcomes = Counter(await asyncio.gather(*(make(relative) for relative in RELATIVES)))
    async with storage.unit_of_work() as uow:
        live = await uow.family.live_links(HOLDER)
    assert outcomes == {"linked": MAX_LINKS, "family_full": 1}
    assert sorted(made.slot for made in live) == list(range(1, MAX_LINKS + 1))


async def test_racing_links_to_one_relative_make_one(storage: Storage) -> None:
    await arrange(storage)
    async with storage.unit_of_work() as uow:
        for n in range(4):
            await uow.family.add_invitation(invitation(f"i{n}"))

    async def make(n: int) -> str:
        try:
            async with storage.unit_of_work() as uow:
                await link_in_free_slot(uow, invitation(f"i{n}"), "S2", "other-app", NOW)
        except Conflict as refused:
            return refused.code
        return "linked"

    outcomes = Counter(await asyncio.gather(*(make(n) for n in range(4))))
    assert outcomes == {"linked": 1, "family_link_exists": 3}


async def test_an_acceptance_sent_twice_at_once_makes_one_link_and_answers_it_twice(storage: Storage) -> None:
    holder, relative = await arrange(storage)
    async with storage.unit_of_work() as uow:
        await uow.ecards.link(HOLDER, "demo-app", holder, NOW)
        await uow.ecards.link("S2", "other-app", relative, NOW)
        await uow.realname.add(realname_check("r1", relative, "A00000002", "other-app"))
        session = new_session(relative, "other-app", "r1", "A00000002", "p2", NOW, "actions")
        assert await uow.face_sessions.add(session)
        assert await uow.face_sessions.set_status(session.id, "deciding", expected="open")
        assert await uow.face_sessions.set_status(session.id, "passed", expected="deciding", at=NOW)
    family = FamilyService(storage, FrozenClock(NOW))
    code = (await family.invite(holder, "demo-app", "child")).code

    async def accept() -> AcceptedLink | str:
        try:
            return await family.accept(relative, "other-app", code, session.id)
        except Conflict as refused:
            return refused.code

    answers = await asyncio.gather(accept(), accept())
    assert all(isinstance(a, AcceptedLink) for a in answers), answers
    links = [a for a in answers if isinstance(a, AcceptedLink)]
    assert sorted(a.created for a in links) == [False, True]
    assert links[0].view.link == links[1].view.link
