"""The sweep inside the server: shortly after start, then every `interval` seconds."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from app.domain.cards.service import CardService

log = logging.getLogger("ecard.sweep")
# The first run waits a little, so that start-up (migrations, key loading) is not slowed down.
FIRST_RUN_DELAY = 60.0


async def sweep_forever(service: CardService, interval: float) -> None:
    await asyncio.sleep(min(interval, FIRST_RUN_DELAY))
    while True:
        try:
            report = await service.sweep()
        except Exception:
            # A failed run is retried at the next interval; the server keeps serving.
            log.exception("card sweep failed")
        else:
            if report.lifted_temporary_losses or report.overdue_losses:
                log.info("card sweep: %d temporary losses lapsed, %d cards reported lost (300 days)",
                         len(report.lifted_temporary_losses), len(report.overdue_losses))
        await asyncio.sleep(interval)


@asynccontextmanager
async def periodic_sweep(service: CardService, interval: float) -> AsyncIterator[None]:
    """Run the sweep in the background while the block runs; `interval <= 0` disables it."""
    if interval <= 0:
        yield
        return
    task = asyncio.create_task(sweep_forever(service, interval), name="card-sweep")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
