"""`FaceEngine` running the worker functions in a thread of this process.

For tests and tools that want the real engine without worker processes. The event loop still
never runs face code, but the work competes with the server for the GIL: production uses
`app.face.pool.ProcessPoolFaceEngine`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from app.face import worker
from app.face.engine import Action, CardTemplate, EngineHealth, FaceVerdict, FrameAnalysis
from app.face.images import DEFAULT_LIMITS, ImageLimits, inspect_image


class InlineFaceEngine:
    def __init__(self, *, limits: ImageLimits = DEFAULT_LIMITS) -> None:
        self.limits = limits

    async def enroll(self, photo: bytes) -> CardTemplate:
        inspect_image(photo, self.limits)
        return await asyncio.to_thread(worker.enroll, photo, self.limits)

    async def analyse_frame(self, frame: bytes) -> FrameAnalysis:
        inspect_image(frame, self.limits)
        return await asyncio.to_thread(worker.analyse_frame, frame, self.limits)

    async def decide(
        self,
        challenge: Sequence[Action],
        frames: Sequence[FrameAnalysis],
        card: CardTemplate | None,
        threshold: float,
    ) -> FaceVerdict:
        return await asyncio.to_thread(worker.decide, challenge, frames, card, threshold)

    async def health(self) -> EngineHealth:
        return EngineHealth(ok=True, workers=1)

    async def aclose(self) -> None:
        return None
