"""Development helpers, mounted only when ECARD_ENV=dev."""

from __future__ import annotations

from litestar import get
from litestar.params import FromQuery

from app.clock import rfc3339
from app.http.deps import ServicesDep
from app.http.openapi import PROBLEMS
from models.accounts import Outbox, OutboxMessage


@get("/v1/dev/outbox", tags=["development"], responses=PROBLEMS)
async def outbox(phone: FromQuery[str], services: ServicesDep) -> Outbox:
    """The SMS texts 'sent' to a phone, newest first."""
    messages = await services.accounts.outbox(phone)
    return Outbox(phone=phone, messages=[OutboxMessage(body=b, sent_at=rfc3339(t)) for b, t in messages])
