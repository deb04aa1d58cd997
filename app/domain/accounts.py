"""Citizen accounts: SMS one-time codes, registration, login and the user's bearer tokens."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Literal, Protocol

import msgspec

from app.domain.limits import DailyLimit, day_window, minute_window, seconds_to_next_day, seconds_to_next_minute
from app.domain.text import ascii_number
from app.errors import Conflict, InvalidInput, RateLimited, Unauthenticated
from app.security.secrets import digest, new_token, numeric_code, same

if TYPE_CHECKING:
    from app.clock import Clock
    from app.domain.uow import Storage, UnitOfWork
    from app.security.vault import Vault

SMS_CODE_TTL = timedelta(minutes=5)
SMS_CODE_MAX_TRIES = 5
SMS_RESEND_INTERVAL = timedelta(minutes=1)
# SMS pumping (codes requested for many numbers to run up the carrier bill) is bounded three ways
# besides the one-a-minute rule per phone: per phone and day, per client address (by minute and
# by day: mobile carriers put many users behind one address, so these leave room for a crowd),
# and for the whole service per minute (`Settings.sms_per_minute`, the carrier budget).
SMS_PER_PHONE_PER_DAY = 10
SMS_PER_ADDRESS_PER_MINUTE = 10
SMS_PER_ADDRESS_PER_DAY = 200
USER_TOKEN_TTL = timedelta(minutes=15)
USER_REFRESH_TTL = timedelta(days=30)
LOGIN_FAILURES_PER_DAY = 10
LOGIN_FAILURES = DailyLimit("login", LOGIN_FAILURES_PER_DAY, "too many failed logins today")
PASSWORD_MIN, PASSWORD_MAX = 8, 128

_PHONE = re.compile(r"^1[3-9][0-9]{9}$")  # mainland China mobile numbers, ASCII digits

TokenKind = Literal["user", "user_refresh", "access", "refresh"]


class Account(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    phone: str
    password_hash: str
    created_at: datetime


class SmsCode(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    phone: str
    code_hash: str
    created_at: datetime
    expires_at: datetime
    attempts: int
    consumed_at: datetime | None


class TokenRecord(msgspec.Struct, frozen=True, kw_only=True):
    token_hash: str
    kind: TokenKind
    account_id: int | None
    client_id: str | None
    scopes: tuple[str, ...]
    grant_id: str | None
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None = None


class AccountRepository(Protocol):
    async def add(self, phone: str, password_hash: str, at: datetime) -> int | None:
        """The new account's id, or None when the phone is registered already."""
        ...

    async def by_phone(self, phone: str) -> Account | None: ...


class SmsCodeRepository(Protocol):
    async def latest(self, phone: str) -> SmsCode | None: ...

    async def add(self, phone: str, code_hash: str, created_at: datetime, expires_at: datetime) -> None: ...

    async def take_try(self, code_id: int, limit: int) -> bool:
        """Count one try of an unconsumed code that has had fewer than `limit`; False otherwise."""
        ...

    async def consume(self, code_id: int, at: datetime) -> bool:
        """Mark the code consumed; False when it had been consumed already."""
        ...

    async def deliver(self, phone: str, body: str, at: datetime) -> None:
        """Write to the development outbox (used only by the outbox SMS sender)."""
        ...

    async def outbox(self, phone: str) -> list[tuple[str, datetime]]: ...


class TokenRepository(Protocol):
    async def add(self, token: TokenRecord) -> None: ...

    async def find(self, token_hash: str) -> TokenRecord | None: ...

    async def revoke(self, token_hash: str, at: datetime) -> bool:
        """Revoke one token; False when it was revoked already (a refresh token reused)."""
        ...

    async def revoke_grant(self, grant_id: str, at: datetime) -> int: ...


class PasswordHasher(Protocol):
    """Slow password hashing, off the event loop."""

    async def hash(self, password: str) -> str: ...

    async def verify(self, stored: str | None, password: str) -> bool:
        """Whether `password` matches `stored`; with no stored hash (no such account) False, after
        as much work as a real check, so that timing does not reveal which phones have accounts."""
        ...


RotationOutcome = Literal["rotated", "unknown", "reused", "expired"]


async def rotate_refresh_token(
    uow: UnitOfWork, presented: str, now: datetime, *, kind: TokenKind, client_id: str | None
) -> tuple[RotationOutcome, TokenRecord | None]:
    """One rotation of a refresh token (users' logins and channels' grants alike).

    The presented token must be of `kind` and belong to `client_id` (None for a user's login).
    A token used before ("reused") revokes its whole grant: whoever holds the newest pair may be
    the thief. On "rotated" the presented token is revoked and the caller issues the next pair in
    the same transaction or the next; on any other outcome the caller refuses *after* the
    transaction has committed, so that a reuse's revocation stands.
    """
    record = await uow.tokens.find(digest(presented))
    if record is None or record.kind != kind or record.client_id != client_id:
        return "unknown", None
    if record.revoked_at is not None:
        if record.grant_id:
            await uow.tokens.revoke_grant(record.grant_id, now)
        return "reused", record
    if record.expires_at <= now:
        return "expired", record
    if not await uow.tokens.revoke(record.token_hash, now):
        # Another request rotated it between our read and this write: that is a second use.
        if record.grant_id:
            await uow.tokens.revoke_grant(record.grant_id, now)
        return "reused", record
    return "rotated", record


class SmsSender(Protocol):
    """Delivers SMS texts; production plugs in a carrier gateway, development writes an outbox."""

    async def send(self, phone: str, text: str) -> None: ...


class UserTokens(msgspec.Struct, frozen=True, kw_only=True):
    access_token: str
    refresh_token: str
    expires_in: int
    account_id: int


def normalise_phone(raw: str) -> str:
    phone = ascii_number(raw).removeprefix("+86").replace(" ", "").replace("-", "")
    if not _PHONE.match(phone):
        raise InvalidInput("phone: a mainland China mobile number of 11 digits", code="invalid_phone",
                           field="phone")
    return phone




class AccountService:
    def __init__(
        self, storage: Storage, clock: Clock, sms: SmsSender, vault: Vault, passwords: PasswordHasher, *,
        sms_per_minute: int = 600,
    ) -> None:
        self._storage = storage
        self._clock = clock
        self._sms = sms
        self._vault = vault
        self._passwords = passwords
        self._sms_per_minute = sms_per_minute

    def _code_hash(self, phone: str, code: str) -> str:
        """A keyed digest (HMAC under the data key): a million guesses at an unkeyed hash of a
        six-digit code would give a database reader every live code."""
        return self._vault.index(f"sms-code:{phone}:{code}")

    async def send_sms_code(self, raw_phone: str, client_address: str = "") -> int:
        """Send a one-time code; returns its lifetime in seconds.

        At most one per phone per minute and `SMS_PER_PHONE_PER_DAY` a day, `SMS_PER_ADDRESS_*`
        from one client address, and the service's `sms_per_minute` in all. The limits are taken
        in the transaction that records the code, so racing requests cannot pass them together.
        """
        phone = normalise_phone(raw_phone)
        now = self._clock.now()
        code = numeric_code(6)
        day, minute = day_window(now), minute_window(now)
        buckets = [
            (f"sms:phone:{phone}", day, SMS_PER_PHONE_PER_DAY, "sms_daily_limit",
             "too many codes for this phone today", seconds_to_next_day(now)),
            (f"sms:address:{client_address}", minute, SMS_PER_ADDRESS_PER_MINUTE, "rate_limited",
             "too many codes requested from this address; wait a minute", seconds_to_next_minute(now)),
            (f"sms:address:{client_address}", day, SMS_PER_ADDRESS_PER_DAY, "rate_limited",
             "too many codes requested from this address today", seconds_to_next_day(now)),
            ("sms:all", minute, self._sms_per_minute, "rate_limited",
             "the service is sending too many codes; try again in a minute", seconds_to_next_minute(now)),
        ]
        async with self._storage.unit_of_work() as uow:
            latest = await uow.sms_codes.latest(phone)
            recent = latest is not None and now - latest.created_at < SMS_RESEND_INTERVAL
            # The minute's bucket makes the rule hold when requests race, on any database.
            if recent or not await uow.limits.take(f"sms:resend:{phone}", minute_window(now), 1):
                wait = SMS_RESEND_INTERVAL - (now - latest.created_at) if latest and recent else SMS_RESEND_INTERVAL
                raise RateLimited("one code per phone per minute", code="sms_too_frequent",
                                  retry_after=max(1, int(wait.total_seconds())))
            for bucket, window, limit, refusal, detail, retry_after in buckets:
                if not client_address and bucket.startswith("sms:address:"):
                    continue
                if not await uow.limits.take(bucket, window, limit):
                    raise RateLimited(detail, code=refusal, retry_after=retry_after)
            await uow.sms_codes.add(phone, self._code_hash(phone, code), now, now + SMS_CODE_TTL)
        await self._sms.send(phone, f"【电子社保卡】验证码 {code}，5分钟内有效。Your ecard code is {code}.")
        return int(SMS_CODE_TTL.total_seconds())

    async def register(self, raw_phone: str, password: str, sms_code: str) -> Account:
        phone = normalise_phone(raw_phone)
        check_password_strength(password)
        now = self._clock.now()
        await self._use_sms_code(phone, sms_code)
        password_hash = await self._passwords.hash(password)
        async with self._storage.unit_of_work() as uow:
            account_id = await uow.accounts.add(phone, password_hash, now)
            if account_id is None:
                raise Conflict("this phone number has an account", code="account_exists")
            await uow.audit.record(now, "account.registered", actor=f"account:{account_id}",
                                   subject=f"account:{account_id}")
        return Account(id=account_id, phone=phone, password_hash=password_hash, created_at=now)

    async def _use_sms_code(self, phone: str, code: str) -> None:
        """Check a code in its own transaction, so that a wrong try is counted even on refusal."""
        now = self._clock.now()
        async with self._storage.unit_of_work() as uow:
            latest = await uow.sms_codes.latest(phone)
            refusal: InvalidInput | None = None
            if latest is None or latest.consumed_at is not None:
                refusal = InvalidInput("request a new SMS code", code="sms_code_invalid", field="sms_code")
            elif latest.expires_at <= now:
                refusal = InvalidInput("the SMS code has expired", code="sms_code_expired", field="sms_code")
            elif latest.attempts >= SMS_CODE_MAX_TRIES:
                refusal = InvalidInput("too many wrong tries; request a new SMS code",
                                       code="sms_code_exhausted", field="sms_code")
            elif not await uow.sms_codes.take_try(latest.id, SMS_CODE_MAX_TRIES):
                # Tries racing on one code are counted by the database, not by what each one read;
                # a racer that lost finds the code consumed or its tries spent.
                now_latest = await uow.sms_codes.latest(phone)
                refusal = (InvalidInput("request a new SMS code", code="sms_code_invalid", field="sms_code")
                           if now_latest is None or now_latest.consumed_at is not None else
                           InvalidInput("too many wrong tries; request a new SMS code",
                                        code="sms_code_exhausted", field="sms_code"))
            elif not same(latest.code_hash, self._code_hash(phone, ascii_number(code))):
                refusal = InvalidInput("the SMS code is wrong", code="sms_code_invalid", field="sms_code")
            elif not await uow.sms_codes.consume(latest.id, now):
                refusal = InvalidInput("request a new SMS code", code="sms_code_invalid", field="sms_code")
        if refusal is not None:
            raise refusal

    async def login(self, raw_phone: str, password: str) -> UserTokens:
        """Check a password; at most `LOGIN_FAILURES_PER_DAY` wrong ones per phone and day.

        Every attempt is counted as a failure *before* the password is hashed (which takes a
        third of a second), and given back when it was right: requests that race, in one process
        or several, cannot get more than the day's tries between them.
        """
        phone = normalise_phone(raw_phone)
        now = self._clock.now()
        async with self._storage.unit_of_work() as uow:
            account = await uow.accounts.by_phone(phone)
            allowed = await LOGIN_FAILURES.take(uow.limits, phone, now)
        if not allowed:
            raise LOGIN_FAILURES.refused(now)
        ok = await self._passwords.verify(account.password_hash if account else None, password)
        if account is None or not ok:
            raise Unauthenticated("phone or password is wrong", code="invalid_credentials")
        async with self._storage.unit_of_work() as uow:
            await LOGIN_FAILURES.give_back(uow.limits, phone, now)
        return await self._issue(account.id, grant_id=new_token(12))

    async def refresh(self, refresh_token: str) -> UserTokens:
        """Rotate a user refresh token; reuse of a rotated one revokes the whole login.

        The next pair is issued in the rotation's own transaction: a second use that comes after
        it then revokes that pair too, however the two requests interleave."""
        now = self._clock.now()
        tokens: UserTokens | None = None
        async with self._storage.unit_of_work() as uow:
            outcome, record = await rotate_refresh_token(uow, refresh_token, now, kind="user_refresh", client_id=None)
            if outcome == "rotated" and record is not None and record.account_id is not None:
                tokens = await self._issue_in(uow, record.account_id, grant_id=record.grant_id or new_token(12))
        if outcome == "unknown" or record is None or record.account_id is None:
            raise Unauthenticated("unknown refresh token", code="invalid_grant")
        if tokens is None:
            raise Unauthenticated("refresh token is no longer valid", code="invalid_grant")
        return tokens

    async def _issue(self, account_id: int, *, grant_id: str) -> UserTokens:
        async with self._storage.unit_of_work() as uow:
            return await self._issue_in(uow, account_id, grant_id=grant_id)

    async def _issue_in(self, uow: UnitOfWork, account_id: int, *, grant_id: str) -> UserTokens:
        now = self._clock.now()
        access, refresh = new_token(), new_token()
        pairs: tuple[tuple[str, TokenKind, timedelta], ...] = (
            (access, "user", USER_TOKEN_TTL), (refresh, "user_refresh", USER_REFRESH_TTL))
        for value, kind, ttl in pairs:
            await uow.tokens.add(TokenRecord(
                token_hash=digest(value), kind=kind, account_id=account_id, client_id=None,
                scopes=(), grant_id=grant_id, created_at=now, expires_at=now + ttl,
            ))
        return UserTokens(access_token=access, refresh_token=refresh,
                          expires_in=int(USER_TOKEN_TTL.total_seconds()), account_id=account_id)

    async def outbox(self, raw_phone: str) -> list[tuple[str, datetime]]:
        phone = normalise_phone(raw_phone)
        async with self._storage.unit_of_work() as uow:
            return await uow.sms_codes.outbox(phone)


def check_password_strength(password: str) -> None:
    if not PASSWORD_MIN <= len(password) <= PASSWORD_MAX:
        raise InvalidInput(f"password: {PASSWORD_MIN} to {PASSWORD_MAX} characters",
                           code="weak_password", field="password")
    kinds = sum(bool(re.search(p, password)) for p in (r"[a-z]", r"[A-Z]", r"\d", r"[^A-Za-z0-9]"))
    if kinds < 2:
        raise InvalidInput("password: mix at least two of lower case, upper case, digits, symbols",
                           code="weak_password", field="password")
