"""Accounts: SMS codes, registration, login (user sessions) and refresh."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, post
from litestar.params import JSONBody
from litestar.status_codes import HTTP_201_CREATED

from app.clock import rfc3339
from app.http.deps import ServicesDep
from app.http.openapi import NO_STORE_HEADERS, PROBLEMS
from models.accounts import (
    AccountView,
    Login,
    Registration,
    SessionRefresh,
    SessionTokens,
    SmsCodeRequest,
    SmsCodeSent,
)
from models.base import BEARER


class AccountController(Controller):
    path = "/v1"
    tags = ["accounts"]

    @post("/accounts/sms-codes", status_code=202, responses=PROBLEMS)
    async def send_sms_code(
        self, request: Request[Any, Any, Any], data: JSONBody[SmsCodeRequest], services: ServicesDep
    ) -> SmsCodeSent:
        """Send a one-time code to a phone (valid five minutes). At most one a minute and ten a day
        per phone, and a bounded rate per client address and for the whole service."""
        address = request.client.host if request.client else ""
        expires_in = await services.accounts.send_sms_code(data.phone, address)
        return SmsCodeSent(phone=data.phone, expires_in=expires_in)

    @post("/accounts", status_code=HTTP_201_CREATED, responses=PROBLEMS)
    async def register(self, data: JSONBody[Registration], services: ServicesDep) -> AccountView:
        """Register an account with the phone, a password and the SMS code sent to it."""
        account = await services.accounts.register(data.phone, data.password, data.sms_code)
        return AccountView(account_id=account.id, phone=account.phone, created_at=rfc3339(account.created_at))

    @post("/sessions", status_code=HTTP_201_CREATED, responses=PROBLEMS, response_headers=NO_STORE_HEADERS)
    async def login(self, data: JSONBody[Login], services: ServicesDep) -> SessionTokens:
        """Log in; returns a short-lived user access token and a refresh token."""
        tokens = await services.accounts.login(data.phone, data.password)
        return SessionTokens(access_token=tokens.access_token, token_type=BEARER, refresh_token=tokens.refresh_token,
                             expires_in=tokens.expires_in)

    @post("/sessions/refresh", status_code=200, responses=PROBLEMS, response_headers=NO_STORE_HEADERS)
    async def refresh(self, data: JSONBody[SessionRefresh], services: ServicesDep) -> SessionTokens:
        """Exchange a refresh token for a new pair; the old refresh token stops working."""
        tokens = await services.accounts.refresh(data.refresh_token)
        return SessionTokens(access_token=tokens.access_token, token_type=BEARER, refresh_token=tokens.refresh_token,
                             expires_in=tokens.expires_in)
