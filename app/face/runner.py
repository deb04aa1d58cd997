"""The engine methods both implementations share: header checks here, the work where `run` puts it."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from app.face import worker
from app.face.engine import Action, CardTemplate, FaceVerdict, FrameAnalysis, LightResponse
from app.face.images import ImageLimits, inspect_image

T = TypeVar("T")


class WorkerFunctionsEngine:
    """A `FaceEngine` made of the functions in `app.face.worker`, run by a subclass's `run`."""

    limits: ImageLimits

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """Run `fn(*args)` off the event loop."""
        raise NotImplementedError

    async def enroll(self, photo: bytes) -> CardTemplate:
        inspect_image(photo, self.limits)  # microseconds, and refuses bombs before any decoding
        return await self.run(worker.enroll, photo, self.limits)

    async def analyse_frame(self, frame: bytes, *, light: bool = False) -> FrameAnalysis:
        inspect_image(frame, self.limits)
        return await self.run(worker.analyse_frame, frame, self.limits, light)

    async def decide(
        self,
        challenge: Sequence[Action],
        frames: Sequence[FrameAnalysis],
        card: CardTemplate | None,
        threshold: float,
        light: LightResponse | None = None,
    ) -> FaceVerdict:
        return await self.run(worker.decide, list(challenge), list(frames), card, threshold, light)
