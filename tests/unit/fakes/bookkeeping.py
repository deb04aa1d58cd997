"""The audit log, rate counters and leases in memory."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from app.domain.audit import AuditEntry
from tests.unit.fakes.state import FakeState


class FakeAudit:
    def __init__(self, state: FakeState) -> None:
        self._s = state

    async def record(self, at: datetime, action: str, *, actor: str, subject: str | None = None,
                     detail: dict[str, Any] | None = None) -> None:
        self._s.audit.append(AuditEntry(id=len(self._s.audit) + 1, at=at, action=action, actor=actor,
                                        subject=subject, detail=detail or {}))

    async def entries(self, *, subject: str | None = None, action_prefix: str = "") -> list[AuditEntry]:
        return [e for e in self._s.audit
                if (subject is None or e.subject == subject) and e.action.startswith(action_prefix)]


class FakeLimits:
    def __init__(self, state: FakeState) -> None:
        self._s = state

    async def count(self, bucket: str, window: str) -> int:
        return self._s.counters.get((bucket, window), 0)

    async def take(self, bucket: str, window: str, limit: int) -> bool:
        if self._s.counters.get((bucket, window), 0) >= limit:
            return False
        self._s.counters[(bucket, window)] = self._s.counters.get((bucket, window), 0) + 1
        return True

    async def give_back(self, bucket: str, window: str) -> None:
        if self._s.counters.get((bucket, window), 0) > 0:
            self._s.counters[(bucket, window)] -= 1


class FakeLeases:
    def __init__(self, state: FakeState) -> None:
        self._s = state

    async def acquire(self, name: str, holder: str, now: datetime, ttl: timedelta) -> bool:
        current = self._s.leases.get(name)
        if current is not None and current[0] != holder and current[1] > now:
            return False
        self._s.leases[name] = (holder, now + ttl)
        return True
