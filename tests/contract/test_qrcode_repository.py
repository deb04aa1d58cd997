"""QR codes: the first verification before expiry uses a code, and only it; expired rows are purged."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import msgspec

from app.domain.qrcodes import QrCode
from app.domain.uow import Storage, UnitOfWork
from tests.contract.rows import NOW, arrange_holders, ecard

EXPIRES = NOW + timedelta(seconds=60)


def qrcode(code_hash: str, *, expires_at: datetime = EXPIRES) -> QrCode:
    return QrCode(code_hash=code_hash, sign_no="S1", client_id="demo-app", created_at=NOW, expires_at=expires_at)


async def arrange_ecard(uow: UnitOfWork) -> None:
    """E-card S1 (the sign number every code here belongs to)."""
    await arrange_holders(uow)
    list_id = await uow.ecards.status_list_with_room(16, 0.75, NOW)
    assert await uow.ecards.add(ecard("S1", status_list=list_id, idx=3))


async def test_the_first_verifier_uses_a_code_and_the_second_is_told(storage: Storage) -> None:
    async with storage.unit_of_work() as uow:
        await arrange_ecard(uow)
        await uow.qrcodes.add(qrcode("q1"))
        first = await uow.qrcodes.use("q1", NOW + timedelta(seconds=10), "hospital")
        second = await uow.qrcodes.use("q1", NOW + timedelta(seconds=20), "pharmacy")
    used = msgspec.structs.replace(qrcode("q1"), used_at=NOW + timedelta(seconds=10), used_by="hospital")
    assert first == ("used", used)
    assert second == ("already_used", used)


async def test_a_code_is_stored_unused_whatever_the_value_says(storage: Storage) -> None:
    async with storage.unit_of_work() as uow:
        await arrange_ecard(uow)
        await uow.qrcodes.add(msgspec.structs.replace(qrcode("q1"), used_at=NOW, used_by="forger"))
        outcome = await uow.qrcodes.use("q1", NOW, "hospital")
    assert outcome == ("used", msgspec.structs.replace(qrcode("q1"), used_at=NOW, used_by="hospital"))


async def test_a_code_is_expired_from_its_expiry_moment_on(storage: Storage) -> None:
    async with storage.unit_of_work() as uow:
        await arrange_ecard(uow)
        await uow.qrcodes.add(qrcode("q1"))
        await uow.qrcodes.add(qrcode("q2"))
        at_expiry = await uow.qrcodes.use("q1", EXPIRES, "hospital")
        just_before = await uow.qrcodes.use("q2", EXPIRES - timedelta(microseconds=1), "hospital")
        again = await uow.qrcodes.use("q1", EXPIRES - timedelta(seconds=1), "hospital")
    assert at_expiry == ("expired", qrcode("q1"))
    assert just_before[0] == "used"
    # An expired attempt leaves the code unused: the clock decides, not the failed try.
    assert again[0] == "used"


async def test_a_code_never_issued_is_unknown(storage: Storage) -> None:
    async with storage.unit_of_work() as uow:
        await arrange_ecard(uow)
        assert await uow.qrcodes.use("never", NOW, "hospital") == ("unknown", None)


async def test_purge_drops_the_codes_that_expired_before_the_moment(storage: Storage) -> None:
    async with storage.unit_of_work() as uow:
        await arrange_ecard(uow)
        await uow.qrcodes.add(qrcode("old", expires_at=NOW - timedelta(days=2)))
        await uow.qrcodes.add(qrcode("edge", expires_at=NOW - timedelta(days=1)))
        await uow.qrcodes.add(qrcode("fresh"))
        purged = await uow.qrcodes.purge(NOW - timedelta(days=1))
        outcomes = [(await uow.qrcodes.use(h, NOW, "hospital"))[0] for h in ("old", "edge", "fresh")]
    assert purged == 1
    assert outcomes == ["unknown", "expired", "used"]


async def test_racing_verifications_use_a_code_once(storage: Storage) -> None:
    async with storage.unit_of_work() as uow:
        await arrange_ecard(uow)
        await uow.qrcodes.add(qrcode("q1"))

    async def verify(verifier: str) -> str:
        async with storage.unit_of_work() as uow:
            outcome, _ = await uow.qrcodes.use("q1", NOW + timedelta(seconds=1), verifier)
            return outcome

    outcomes = await asyncio.gather(*(verify(f"rp{n}") for n in range(5)))
    assert sorted(outcomes) == ["already_used"] * 4 + ["used"]


async def test_a_code_shown_through_a_family_link_names_its_presenter(storage: Storage) -> None:
    async with storage.unit_of_work() as uow:
        await arrange_ecard(uow)
        list_id = await uow.ecards.status_list_with_room(16, 0.75, NOW)
        assert await uow.ecards.add(ecard("S2", person="p2", card_no="A00000002", status_list=list_id, idx=4))
        await uow.qrcodes.add(msgspec.structs.replace(qrcode("q1"), presented_by="S2"))
        outcome, used = await uow.qrcodes.use("q1", NOW, "hospital")
    assert outcome == "used"
    assert used is not None
    assert used.presented_by == "S2"
