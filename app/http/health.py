"""Liveness of the service and of what it depends on."""

from __future__ import annotations

from litestar import Response, get

from app.http.deps import ServicesDep


@get("/health", tags=["discovery"])
async def health(services: ServicesDep) -> Response[dict[str, str]]:
    """200 when the database answers; 503 otherwise."""
    checks = {"database": "ok" if await services.storage.ping() else "down"}
    healthy = all(v == "ok" for v in checks.values())
    return Response({"status": "ok" if healthy else "degraded", **checks}, status_code=200 if healthy else 503)
