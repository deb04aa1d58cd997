"""Fixed-window rate limits (per day, per minute) kept in storage so that restarts do not reset them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from app.errors import RateLimited


class RateLimitRepository(Protocol):
    async def count(self, bucket: str, window: str) -> int: ...

    async def take(self, bucket: str, window: str, limit: int) -> bool:
        """Add one unless the count has reached `limit`, in one atomic step; whether it was added.

        Racing callers, in one process or many, cannot take more than `limit` between them: the
        check and the write are one statement, not a read followed by a write."""
        ...

    async def give_back(self, bucket: str, window: str) -> None:
        """Remove one taken with `take` that turned out not to count (a right password)."""
        ...


def day_window(at: datetime) -> str:
    return at.strftime("%Y-%m-%d")


def minute_window(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M")


def seconds_to_next_minute(at: datetime) -> int:
    return max(1, 60 - at.second)


def seconds_to_next_day(at: datetime) -> int:
    midnight = at.replace(hour=0, minute=0, second=0, microsecond=0)
    return max(1, 86400 - int((at - midnight).total_seconds()))


@dataclass(frozen=True)
class DailyLimit:
    """A count per key and day with a ceiling: failed logins per phone, wrong real-name pairs per
    account, failed face sessions per person. The bucket is `name:key`, the window the UTC day."""

    name: str
    per_day: int
    refusal: str = "too many attempts today"

    def bucket(self, key: str) -> str:
        return f"{self.name}:{key}"

    async def take(self, limits: RateLimitRepository, key: str, now: datetime) -> bool:
        """Count one now unless the day's ceiling is reached (one atomic step); whether counted."""
        return await limits.take(self.bucket(key), day_window(now), self.per_day)

    async def give_back(self, limits: RateLimitRepository, key: str, now: datetime) -> None:
        await limits.give_back(self.bucket(key), day_window(now))

    def refused(self, now: datetime) -> RateLimited:
        return RateLimited(self.refusal, retry_after=seconds_to_next_day(now))
