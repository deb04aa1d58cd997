"""Fixed-window rate limits (per day, per minute) kept in storage so that restarts do not reset them."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol


class RateLimitRepository(Protocol):
    async def count(self, bucket: str, window: str) -> int: ...

    async def increment(self, bucket: str, window: str) -> int:
        """Add one and return the new count."""
        ...


def day_window(at: datetime) -> str:
    return at.strftime("%Y-%m-%d")


def seconds_to_next_day(at: datetime) -> int:
    midnight = at.replace(hour=0, minute=0, second=0, microsecond=0)
    return max(1, 86400 - int((at - midnight).total_seconds()))
