"""SMS senders. Production plugs in a carrier gateway with `ECARD_SMS_SENDER=module:factory`."""

from __future__ import annotations

import importlib
import logging
from typing import TYPE_CHECKING

from app.config import ConfigError

if TYPE_CHECKING:
    from app.clock import Clock
    from app.domain.accounts import SmsSender
    from app.domain.uow import Storage

log = logging.getLogger("ecard.sms")


class OutboxSmsSender:
    """Development sender: keeps each text in the outbox (GET /v1/dev/outbox) and logs it."""

    def __init__(self, storage: Storage, clock: Clock) -> None:
        self._storage = storage
        self._clock = clock

    async def send(self, phone: str, text: str) -> None:
        async with self._storage.unit_of_work() as uow:
            await uow.sms_codes.deliver(phone, text, self._clock.now())
        log.info("sms to %s: %s", phone, text)


def load_sender(spec: str) -> SmsSender:
    """Import `module:factory` and call the factory with no arguments."""
    module_name, _, attr = spec.partition(":")
    try:
        factory = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError, ValueError) as exc:
        raise ConfigError(f"ECARD_SMS_SENDER={spec!r} cannot be loaded: {exc}") from exc
    try:
        sender: SmsSender = factory()
    except Exception as exc:  # a third-party factory may fail in any way; say which setting broke
        raise ConfigError(f"ECARD_SMS_SENDER={spec!r} failed to build a sender: {exc}") from exc
    return sender
