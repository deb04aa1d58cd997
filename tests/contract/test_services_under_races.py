"""Single-use rules of the domain services, raced on every adapter: whatever each racer read, the
database's conditional update decides who wins (on PostgreSQL the transactions truly overlap)."""

from __future__ import annotations

import asyncio
import secrets
from collections import Counter
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import msgspec

from app.clock import FrozenClock
from app.domain.accounts import SMS_CODE_MAX_TRIES, AccountService
from app.domain.cards.model import Actor
from app.domain.cards.service import CardService
from app.domain.consent import AuthorizeRequest, ConsentService, IssuedTokens, OAuthError, s256
from app.domain.ecards import EcardService
from app.domain.face_sessions import StoredFaceEvidence, new_session
from app.domain.holder_acts import HolderActs
from app.domain.status_list import StatusListService
from app.domain.uow import Storage
from app.errors import DomainError, InvalidInput
from app.security.jose import Signer
from app.security.keys import load_key_store
from app.security.secrets import digest
from tests.contract.rows import NOW, VAULT, arrange_holders, card, channel, realname_check

APP_URI = "https://app.example.cn/cb"
VERIFIER = "correct-horse-battery-staple-0123456789abcdef"
PHONE = "13912345678"
TERMINAL = Actor(channel="hospital-terminal")


class Outbox:
    def __init__(self) -> None:
        self.codes: list[str] = []

    async def send(self, phone: str, text: str) -> None:
        self.codes.append(text.split("验证码 ")[1][:6])


class PlainPasswords:
    async def hash(self, password: str) -> str:
        return f"plain:{password}"

    async def verify(self, stored: str | None, password: str) -> bool:
        return stored == f"plain:{password}"


async def test_racing_exchanges_of_one_authorization_code_issue_tokens_once(storage: Storage) -> None:
    app = msgspec.structs.replace(channel("demo-app"), redirect_uris=(APP_URI,), scopes=("ecard:claim",))
    async with storage.unit_of_work() as uow:
        await uow.channels.add(app)
        holder = await uow.accounts.add(PHONE, "hash", NOW)
    assert holder is not None
    consent = ConsentService(storage, FrozenClock(NOW))
    prompt = await consent.authorize(AuthorizeRequest(
        response_type="code", client_id="demo-app", redirect_uri=APP_URI, scope="ecard:claim", state="s",
        code_challenge=s256(VERIFIER), code_challenge_method="S256"))
    code = parse_qs(urlsplit(await consent.decide(prompt.consent_id, holder, "allow")).query)["code"][0]

    async def exchange() -> IssuedTokens | OAuthError:
        try:
            return await consent.exchange_code(app, code, APP_URI, VERIFIER)
        except OAuthError as refused:
            return refused

    outcomes = await asyncio.gather(*(exchange() for _ in range(8)))
    issued = [o for o in outcomes if isinstance(o, IssuedTokens)]
    assert len(issued) == 1
    assert all(o.code == "invalid_grant" for o in outcomes if isinstance(o, OAuthError))
    # A replay revokes what the code gave: whichever exchange won, its access token is dead.
    async with storage.unit_of_work() as uow:
        for tokens in issued:
            record = await uow.tokens.find(digest(tokens.access_token))
            assert record is not None
            assert record.revoked_at is not None


async def test_racing_wrong_sms_codes_get_no_more_tries_than_the_limit(storage: Storage) -> None:
    outbox = Outbox()
    accounts = AccountService(storage, FrozenClock(NOW), outbox, VAULT, PlainPasswords())
    await accounts.send_sms_code(PHONE, "10.0.0.1")
    right = outbox.codes[-1]
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"

    async def register(code: str) -> str:
        try:
            await accounts.register(PHONE, "Good-pass-1", code)
        except InvalidInput as refused:
            return refused.code
        return "registered"

    answers = await asyncio.gather(*(register(wrong) for _ in range(20)))
    assert answers.count("sms_code_invalid") == SMS_CODE_MAX_TRIES
    assert answers.count("sms_code_exhausted") == 20 - SMS_CODE_MAX_TRIES
    # The tries are spent: even the right code is refused now.
    assert await register(right) == "sms_code_exhausted"


async def test_racing_right_sms_codes_register_once(storage: Storage) -> None:
    outbox = Outbox()
    accounts = AccountService(storage, FrozenClock(NOW), outbox, VAULT, PlainPasswords())
    await accounts.send_sms_code(PHONE, "10.0.0.1")

    async def register() -> str:
        try:
            await accounts.register(PHONE, "Good-pass-1", outbox.codes[-1])
        except InvalidInput as refused:
            return refused.code
        except Exception as other:
            return type(other).__name__
        return "registered"

    answers = await asyncio.gather(*(register() for _ in range(6)))
    assert answers.count("registered") == 1
    assert set(answers) == {"registered", "sms_code_invalid"}


class PlainPins:
    async def hash(self, card_no: str, pin: str) -> str:
        return f"plain:{card_no}:{pin}"

    async def verify(self, stored: str, card_no: str, pin: str) -> bool:
        return stored == f"plain:{card_no}:{pin}"


class NoListener:
    async def card_changed(self, *args: object, **kwargs: object) -> None:
        return None


async def pin_entries(storage: Storage, pin: str, count: int) -> Counter[str]:
    """`count` entries of `pin` at once on card A00000001 (its PIN changed to 135790 first)."""
    service = CardService(storage, FrozenClock(NOW), VAULT, NoListener(), pin_hasher=PlainPins())
    async with storage.unit_of_work() as uow:
        await uow.cards.import_batch([card(1)], NOW)
        initial = (await uow.cards.get("A00000001"))
    assert initial is not None
    holder_id = VAULT.unseal(initial.id_sealed, context=b"A00000001").decode()
    await service.change_pin("A00000001", holder_id[-6:], "135790", actor=TERMINAL)

    async def enter() -> str:
        try:
            await service.verify_pin("A00000001", pin, actor=TERMINAL)
        except DomainError as refused:
            return refused.code
        return "verified"

    return Counter(await asyncio.gather(*(enter() for _ in range(count))))


async def test_right_pins_entered_at_once_are_never_told_the_pin_is_locked(storage: Storage) -> None:
    answers = await pin_entries(storage, "135790", 12)
    assert answers["verified"] >= 6
    assert set(answers) <= {"verified", "pin_busy"}


async def test_wrong_pins_entered_at_once_are_answered_as_one_after_another(storage: Storage) -> None:
    answers = await pin_entries(storage, "000001", 20)
    assert answers["pin_incorrect"] == 5
    assert answers["pin_locked"] >= 1
    assert set(answers) <= {"pin_incorrect", "pin_locked", "pin_busy"}
    async with storage.unit_of_work() as uow:
        after = await uow.cards.get("A00000001")
    assert after is not None
    assert after.pin.locked


class HolderWorld:
    """The e-card, card and holder-act services on one storage, with the holder's account and card
    A00000001 (fresh face sessions on demand)."""

    def __init__(self, storage: Storage, keys_dir: Path) -> None:
        self.storage = storage
        clock = FrozenClock(NOW)
        signer = Signer(load_key_store(keys_dir, create=True, now=NOW))
        self.ecards = EcardService(storage, clock, signer=signer, vault=VAULT, face=StoredFaceEvidence(storage),
                                   status_lists=StatusListService(storage, clock, signer, "https://ecard.test"),
                                   issuer="https://ecard.test")
        self.cards = CardService(storage, clock, VAULT, self.ecards, pin_hasher=PlainPins())
        self.acts = HolderActs(storage, clock, self.cards, self.ecards)
        self.account = 0

    async def arrange(self) -> None:
        async with self.storage.unit_of_work() as uow:
            self.account, _ = await arrange_holders(uow)

    async def passed_session(self) -> str:
        async with self.storage.unit_of_work() as uow:
            check = realname_check(secrets.token_hex(4), self.account)
            await uow.realname.add(check)
            session = new_session(self.account, "demo-app", check.id, "A00000001", "p1", NOW, "actions")
            assert await uow.face_sessions.add(session)
            assert await uow.face_sessions.set_status(session.id, "deciding", expected="open")
            assert await uow.face_sessions.set_status(session.id, "passed", expected="deciding", at=NOW)
        return session.id

    async def holder_id(self) -> str:
        async with self.storage.unit_of_work() as uow:
            record = await uow.cards.get("A00000001")
        assert record is not None
        return VAULT.unseal(record.id_sealed, context=b"A00000001").decode()


async def test_a_cancelled_ecard_stays_invalid_when_a_counter_reports_its_card_lost_at_once(
        storage: Storage, tmp_path: Path) -> None:
    world = HolderWorld(storage, tmp_path / "keys")
    await world.arrange()
    holder_id = await world.holder_id()
    for _ in range(6):
        await world.passed_session()
        issued = await world.ecards.claim(world.account, "demo-app")
        proof = await world.passed_session()

        async def cancel(proof: str) -> str:
            await world.acts.cancel(world.account, "demo-app", proof)
            return "cancelled"

        async def report() -> str:
            try:
                await world.cards.report_loss("A00000001", "temporary", actor=TERMINAL)
            except DomainError as refused:
                return refused.code
            return "reported"

        assert sorted(await asyncio.gather(cancel(proof), report())) == ["cancelled", "reported"]
        async with storage.unit_of_work() as uow:
            after = await uow.ecards.get(issued.view.ecard.sign_no)
        assert after is not None
        assert after.state == "invalid"
        await world.cards.unlock("A00000001", holder_id_number=holder_id, actor=TERMINAL)
        async with storage.unit_of_work() as uow:
            unlocked = await uow.ecards.get(issued.view.ecard.sign_no)
        assert unlocked is not None
        assert unlocked.state == "invalid"


async def test_one_face_session_sent_for_two_acts_at_once_proves_one(storage: Storage, tmp_path: Path) -> None:
    world = HolderWorld(storage, tmp_path / "keys")
    await world.arrange()
    await world.passed_session()
    await world.ecards.claim(world.account, "demo-app")
    proof = await world.passed_session()

    async def act(name: str) -> str:
        try:
            if name == "cancel":
                await world.acts.cancel(world.account, "demo-app", proof)
            else:
                await world.acts.report_loss(world.account, "demo-app", proof)
        except DomainError as refused:
            return refused.code
        return name

    outcomes = await asyncio.gather(*(act(name) for name in ("cancel", "report") * 25))
    # One act wins; a twin of the winning report is answered as a retry; the rest are refused.
    assert ("cancel" in outcomes) != ("report" in outcomes)
    assert set(outcomes) - {"cancel", "report"} <= {"face_session_used", "ecard_invalid"}
    async with storage.unit_of_work() as uow:
        record = await uow.cards.get("A00000001")
        ecard = await uow.ecards.for_holder(world.account, "demo-app")
    assert record is not None
    assert ecard is not None
    expected = ("invalid", "none") if "cancel" in outcomes else ("suspended", "temporary")
    assert (ecard.state, record.loss_state) == expected
