"""`FaceEngine` running the worker functions in a thread of this process.

For tests and tools that want the real engine without worker processes. The event loop still
never runs face code, but the work competes with the server for the GIL: production uses
`app.face.pool.ProcessPoolFaceEngine`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar

from app.face.engine import EngineHealth
from app.face.images import DEFAULT_LIMITS, ImageLimits
from app.face.runner import WorkerFunctionsEngine

T = TypeVar("T")


class InlineFaceEngine(WorkerFunctionsEngine):
    def __init__(self, *, limits: ImageLimits = DEFAULT_LIMITS) -> None:
        self.limits = limits

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.to_thread(fn, *args)

    async def health(self) -> EngineHealth:
        return EngineHealth(ok=True, workers=1)

    async def aclose(self) -> None:
        return None
