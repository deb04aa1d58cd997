"""Leases: one holder at a time for work that must run once across processes and hosts.

The periodic card sweep runs in every server process; a lease in the database makes one of them
do it. A lease is held until `expires_at`; its holder may renew it, anyone may take it once it
has expired (a holder that died frees it by expiry, without a clean-up step).
"""

from __future__ import annotations

import os
import secrets
import socket
from datetime import datetime, timedelta
from typing import Protocol


class LeaseRepository(Protocol):
    async def acquire(self, name: str, holder: str, now: datetime, ttl: timedelta) -> bool:
        """Take or renew the lease `name` for `holder` until now + ttl, unless another holder's
        lease is still running; whether `holder` holds it now. One atomic statement."""
        ...


def holder_name() -> str:
    """Who this process is, for leases: host, process id and a random part (PIDs are reused)."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
