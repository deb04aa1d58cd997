"""Liveness of the service and of what it depends on: the database and the face workers."""

from __future__ import annotations

from litestar import Response, get

from app.http.deps import ServicesDep
from app.http.openapi import PROBLEMS
from models.health import FaceWorkers, Health


@get("/health", tags=["discovery"], responses=PROBLEMS)
async def health(services: ServicesDep) -> Response[Health]:
    """200 when the database answers and the face engine is open; 503 otherwise.

    Never waits behind face work: the engine reports its state without queueing a task.
    """
    database = await services.storage.ping()
    engine = await services.face_engine.health()
    healthy = database and engine.ok
    body = Health(
        status="ok" if healthy else "degraded",
        database="ok" if database else "down",
        face=FaceWorkers(status="ok" if engine.ok else "down", workers=engine.workers, busy=engine.busy,
                         restarts=engine.restarts),
    )
    return Response(body, status_code=200 if healthy else 503)
