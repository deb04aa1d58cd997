from __future__ import annotations

from typing import Literal

from models.base import Wire


class FaceWorkers(Wire):
    status: Literal["ok", "down"]
    workers: int
    busy: int
    restarts: int


class Health(Wire):
    status: Literal["ok", "degraded"]
    database: Literal["ok", "down"]
    face: FaceWorkers
