"""The QR code service on in-memory storage: a code shown for 60 seconds and one scan, and what a
relying party learns from it."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta
from pathlib import Path

import pytest

from app.domain.qrcodes import CARD_NUMBER_SCOPE, QR_LIFETIME, QR_RETENTION, QrCodeInvalidError, Verification
from app.errors import Conflict, Forbidden, Gone, NotFound
from app.security.secrets import digest
from tests.unit.fakes import CARD_NO, HOLDER, START, Issuance, card

VERIFY = frozenset({"ecard:verify"})


@pytest.fixture
async def e(tmp_path: Path) -> Issuance:
    """The holder's e-card claimed through demo-app."""
    issuance = Issuance(tmp_path / "keys")
    await issuance.claim("demo-app")
    return issuance


async def show(e: Issuance) -> str:
    return (await e.qrcodes.issue(HOLDER, "demo-app")).code


def actions(e: Issuance) -> list[str]:
    return [entry.action for entry in e.storage.state.audit if entry.action.startswith("qrcode.")]


async def test_a_code_lasts_sixty_seconds_and_only_its_digest_is_kept(e: Issuance) -> None:
    issued = await e.qrcodes.issue(HOLDER, "demo-app")
    assert re.fullmatch(r"EC1[A-Z2-7]{32}", issued.code)
    assert issued.expires_at == START + QR_LIFETIME
    assert list(e.storage.state.qrcodes) == [digest(issued.code)]
    assert e.storage.state.qrcodes[digest(issued.code)].sign_no == issued.ecard.sign_no


async def test_a_relying_party_learns_who_presents_and_whether_the_card_is_usable(e: Issuance) -> None:
    code = await show(e)
    e.clock.advance(timedelta(seconds=30))
    seen = await e.qrcodes.verify("hospital", VERIFY, code)
    ecard = next(iter(e.storage.state.ecards.values()))
    assert seen == Verification(
        subject=e.service.subject(ecard.person), sign_no=ecard.sign_no, holder_name="张*",
        holder_id_number=card().id_masked, aab301="370200", sign_level=1, ecard_state="active",
        card_usable=True, card_no=None, verified_at=START + timedelta(seconds=30))
    assert actions(e) == ["qrcode.verified"]


async def test_the_card_number_is_shown_only_with_the_card_manage_scope(e: Issuance) -> None:
    seen = await e.qrcodes.verify("bank-counter", VERIFY | {CARD_NUMBER_SCOPE}, await show(e))
    assert seen.card_no == CARD_NO


async def test_a_code_is_verified_once(e: Issuance) -> None:
    code = await show(e)
    await e.qrcodes.verify("hospital", VERIFY, code)
    with pytest.raises(Conflict) as second:
        await e.qrcodes.verify("bank-counter", VERIFY, code)
    assert (second.value.code, second.value.status) == ("qrcode_used", 409)
    assert actions(e) == ["qrcode.verified", "qrcode.refused.already_used"]


async def test_racing_scans_let_one_relying_party_win(e: Issuance) -> None:
    code = await show(e)
    outcomes = await asyncio.gather(*(e.qrcodes.verify(rp, VERIFY, code) for rp in ("hospital", "bank-counter")),
                                    return_exceptions=True)
    assert sorted(type(o).__name__ for o in outcomes) == ["Conflict", "Verification"]


async def test_a_code_expires_sixty_seconds_after_it_was_shown(e: Issuance) -> None:
    code = await show(e)
    e.clock.advance(QR_LIFETIME)
    with pytest.raises(Gone) as late:
        await e.qrcodes.verify("hospital", VERIFY, code)
    assert late.value.code == "qrcode_expired"


async def test_an_expired_code_is_told_apart_for_a_day_then_forgotten(e: Issuance) -> None:
    code = await show(e)
    e.clock.advance(QR_RETENTION)
    await show(e)  # showing a code purges those expired more than a day ago: not this one yet
    with pytest.raises(Gone):
        await e.qrcodes.verify("hospital", VERIFY, code)
    e.clock.advance(QR_LIFETIME + timedelta(seconds=1))
    await show(e)
    with pytest.raises(QrCodeInvalidError) as forgotten:
        await e.qrcodes.verify("hospital", VERIFY, code)
    assert forgotten.value.code == "qrcode_invalid"
    assert digest(code) not in e.storage.state.qrcodes


async def test_a_code_this_service_never_issued_is_invalid(e: Issuance) -> None:
    with pytest.raises(QrCodeInvalidError):
        await e.qrcodes.verify("hospital", VERIFY, "EC1" + "A" * 32)
    assert actions(e) == ["qrcode.refused.unknown"]
    with pytest.raises(QrCodeInvalidError):  # not even shaped like one: refused before any lookup
        await e.qrcodes.verify("hospital", VERIFY, "eyJhbGciOiJIUzI1NiJ9.e30.x")
    assert actions(e) == ["qrcode.refused.unknown"]


async def test_only_relying_parties_and_counters_verify_and_a_refusal_spends_nothing(e: Issuance) -> None:
    code = await show(e)
    with pytest.raises(Forbidden) as refused:
        await e.qrcodes.verify("other-app", VERIFY, code)
    assert refused.value.code == "relying_party_required"
    assert (await e.qrcodes.verify("hospital", VERIFY, code)).card_usable


async def test_no_code_without_an_active_ecard(e: Issuance) -> None:
    with pytest.raises(NotFound) as none:
        await e.qrcodes.issue(HOLDER + 1, "demo-app")
    assert none.value.code == "ecard_not_found"
    await e.card_changed(CARD_NO, "temporary_loss")
    with pytest.raises(Conflict) as suspended:
        await show(e)
    assert suspended.value.code == "ecard_not_active"
    assert e.storage.state.qrcodes == {}


async def test_a_code_scanned_after_the_card_was_reported_lost_says_it_is_not_usable(e: Issuance) -> None:
    code = await show(e)
    e.put(card(CARD_NO, loss_state="temporary", loss_since=START))
    await e.card_changed(CARD_NO, "temporary_loss")
    seen = await e.qrcodes.verify("hospital", VERIFY, code)
    assert (seen.card_usable, seen.ecard_state) == (False, "suspended")
