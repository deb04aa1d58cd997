"""The sweep inside the server: shortly after start, then every `interval` seconds.

Every server process runs this loop; a lease in the database (`SWEEP_LEASE`) lets one of them,
on whichever host, do the sweep. The holder renews it at every run; when it stops (or its host
dies) the lease expires after 1.5 intervals and another process takes it at its next run."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import TYPE_CHECKING

from app.domain.leases import holder_name

if TYPE_CHECKING:
    from app.clock import Clock
    from app.domain.cards.service import CardService
    from app.domain.uow import Storage

log = logging.getLogger("ecard.sweep")
# The first run waits a little, so that start-up (migrations, key loading) is not slowed down.
FIRST_RUN_DELAY = 60.0
SWEEP_LEASE = "card-sweep"


async def leads_the_sweep(storage: Storage, clock: Clock, holder: str, interval: float) -> bool:
    """Take or renew the sweep lease for `holder`; whether this process is to sweep now."""
    async with storage.unit_of_work() as uow:
        return await uow.leases.acquire(SWEEP_LEASE, holder, clock.now(), timedelta(seconds=1.5 * interval))


async def sweep_forever(service: CardService, storage: Storage, clock: Clock, interval: float) -> None:
    holder = holder_name()
    await asyncio.sleep(min(interval, FIRST_RUN_DELAY))
    while True:
        try:
            if not await leads_the_sweep(storage, clock, holder, interval):
                await asyncio.sleep(interval)
                continue
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
async def periodic_sweep(
    service: CardService, storage: Storage, clock: Clock, interval: float
) -> AsyncIterator[None]:
    """Run the sweep in the background while the block runs; `interval <= 0` disables it."""
    if interval <= 0:
        yield
        return
    task = asyncio.create_task(sweep_forever(service, storage, clock, interval), name="card-sweep")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
