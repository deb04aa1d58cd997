"""Single-use rules of the domain services, raced on every adapter: whatever each racer read, the
database's conditional update decides who wins (on PostgreSQL the transactions truly overlap)."""

from __future__ import annotations

import asyncio
from collections import Counter
from urllib.parse import parse_qs, urlsplit

import msgspec

from app.clock import FrozenClock
from app.domain.accounts import SMS_CODE_MAX_TRIES, AccountService
from app.domain.cards.model import Actor
from app.domain.cards.service import CardService
from app.domain.consent import AuthorizeRequest, ConsentService, IssuedTokens, OAuthError, s256
from app.domain.uow import Storage
from app.errors import DomainError, InvalidInput
from app.security.secrets import digest
from tests.contract.rows import NOW, VAULT, card, channel

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
