from __future__ import annotations

from typing import Literal

from models.base import Password, Phone, SmsCodeText, Token, Wire


class SmsCodeRequest(Wire):
    phone: Phone


class SmsCodeSent(Wire):
    phone: str
    expires_in: int


class Registration(Wire):
    phone: Phone
    password: Password
    sms_code: SmsCodeText


class AccountView(Wire):
    account_id: int
    phone: str
    created_at: str


class Login(Wire):
    phone: Phone
    password: Password


class SessionRefresh(Wire):
    refresh_token: Token


class SessionTokens(Wire):
    access_token: str
    token_type: Literal["Bearer"]
    refresh_token: str
    expires_in: int


class OutboxMessage(Wire):
    body: str
    sent_at: str


class Outbox(Wire):
    phone: str
    messages: list[OutboxMessage]
