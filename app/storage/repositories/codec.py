"""Conversions between domain values and SQLite columns."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any


def ts(moment: datetime) -> str:
    """UTC text that sorts in time order."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def from_ts(text: str) -> datetime:
    return datetime.fromisoformat(text)


def opt_ts(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def opt_date(text: str | None) -> date | None:
    return None if text is None else date.fromisoformat(text)


def iso_date(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def loads_tuple(text: str) -> tuple[str, ...]:
    return tuple(json.loads(text))
