"""The family service on in-memory storage: what it audits, and how links follow the e-cards they join
(a link never outlives an invalid e-card, even one made beside the transaction that invalidated it)."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

from app.domain.ecards import Ecard
from app.domain.face_sessions import new_session
from app.domain.family import FamilyLink, FamilyService, end_links_of
from app.errors import NotFound
from tests.unit.fakes import CARD_NO, HOLDER, OTHER_ID, Issuance

RELATIVE = 2  # the relative's account
RELATIVES_CARD = "B87654321"
VERIFY = frozenset({"ecard:verify"})


class Family(Issuance):
    """The holder's and the relative's e-cards claimed, and the family service beside them."""

    def __init__(self, keys_dir: Path) -> None:
        super().__init__(keys_dir)
        self.family = FamilyService(self.storage, self.clock)

    def passed(self, account_id: int = RELATIVE, card_no: str = RELATIVES_CARD) -> str:
        """A face session of `account_id` on `card_no` that has just passed; its id."""
        session = new_session(account_id, "demo-app", "r1", card_no, "person", self.clock.now(), "actions")
        self.storage.state.face_sessions[session.id] = msgspec.structs.replace(
            session, status="passed", completed_at=self.clock.now())
        return session.id

    async def link(self) -> FamilyLink:
        """The holder invites, the relative accepts."""
        invitation = await self.family.invite(HOLDER, "demo-app", "parent")
        accepted = await self.family.accept(RELATIVE, "other-app", invitation.code, self.passed())
        return accepted.view.link

    def ecard_of(self, card_no: str) -> Ecard:
        return next(e for e in self.storage.state.ecards.values() if e.card_no == card_no and e.state != "invalid")

    def actions(self) -> list[str]:
        return [entry.action for entry in self.storage.state.audit if entry.action.startswith("family.")]


@pytest.fixture
async def f(tmp_path: Path) -> Family:
    family = Family(tmp_path / "keys")
    await family.claim("demo-app", HOLDER, CARD_NO)
    await family.claim("other-app", RELATIVE, RELATIVES_CARD)
    return family


async def test_invitation_link_family_code_and_end_are_audited(f: Family) -> None:
    made = await f.link()
    issued = await f.family.issue_qrcode(HOLDER, "demo-app", made.id)
    seen = await f.qrcodes.verify("hospital", VERIFY, issued.code)
    await f.family.end(RELATIVE, "other-app", made.id)
    assert seen.presented_by == "family"
    assert f.actions() == ["family.invitation_created", "family.linked", "family.qrcode_verified", "family.unlinked"]
    unlinked = f.storage.state.audit[-1]
    assert (unlinked.actor, unlinked.subject, unlinked.detail["reason"]) == ("other-app", made.id, "ended_by_relative")


async def test_ending_an_ecards_links_records_both_sides_once(f: Family) -> None:
    made = await f.link()
    holder = f.ecard_of(CARD_NO)
    async with f.storage.unit_of_work() as uow:
        assert await end_links_of(uow, holder.sign_no, f.clock.now()) == 1
        assert await end_links_of(uow, holder.sign_no, f.clock.now()) == 0
    ended = [u.event for u in f.storage.state.ecard_usage if u.event.kind == "family_unlinked"]
    assert {e.sign_no for e in ended} == {holder.sign_no, made.relative_sign_no}
    assert {(e.client_id, e.party_kind) for e in ended} == {("card_lifecycle", "service")}
    assert f.storage.state.family_links[made.id].end_reason == "ecard_invalid"


async def test_a_replaced_card_ends_the_links_of_its_old_ecard(f: Family) -> None:
    made = await f.link()
    f.replace_card(RELATIVES_CARD, "B11111111", id_number=OTHER_ID)
    await f.card_changed(RELATIVES_CARD, "replaced", new_card_no="B11111111")
    assert f.storage.state.family_links[made.id].end_reason == "ecard_invalid"
    assert f.ecard_of("B11111111").sign_no != made.relative_sign_no
    assert await f.family.links(HOLDER, "demo-app") == []
    assert await f.family.links(RELATIVE, "other-app") == []


async def test_a_link_left_live_on_an_invalid_ecard_is_passed_over_and_gives_its_slot_back(f: Family) -> None:
    made = await f.link()
    # As if the link had been made beside the transaction that invalidated the relative's e-card.
    relative = f.ecard_of(RELATIVES_CARD)
    f.storage.state.ecards[relative.sign_no] = msgspec.structs.replace(relative, state="invalid")
    assert await f.family.links(HOLDER, "demo-app") == []
    with pytest.raises(NotFound) as refused:
        await f.family.issue_qrcode(HOLDER, "demo-app", made.id)
    assert refused.value.code == "family_link_not_found"
    await f.family.invite(HOLDER, "demo-app", "child")
    assert f.storage.state.family_links[made.id].end_reason == "ecard_invalid"
