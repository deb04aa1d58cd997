"""The append-only audit log: every decision, who took it, about what."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

import msgspec


class AuditEntry(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    at: datetime
    action: str
    actor: str
    subject: str | None
    detail: dict[str, Any]


class AuditRepository(Protocol):
    async def record(
        self, at: datetime, action: str, *, actor: str, subject: str | None = None,
        detail: dict[str, Any] | None = None,
    ) -> None: ...

    async def entries(self, *, subject: str | None = None, action_prefix: str = "") -> list[AuditEntry]:
        """Entries in the order they were written, optionally about one subject."""
        ...
