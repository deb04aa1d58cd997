"""What relying parties fetch to check e-cards offline: the signing keys and the status lists."""

from __future__ import annotations

from typing import Annotated

from litestar import Response, get
from litestar.params import PathParameter

from app.domain.status_list import TTL
from app.http.deps import ServicesDep
from app.http.openapi import PROBLEMS

STATUS_LIST_MEDIA_TYPE = "application/statuslist+jwt"


@get("/.well-known/jwks.json", tags=["discovery"], responses=PROBLEMS)
async def jwks(services: ServicesDep) -> Response[dict[str, object]]:
    """The public ES256 keys; a retired key stays while tokens it signed may still be valid."""
    return Response(services.issuance.jwks(services.clock),
                    headers={"Cache-Control": "public, max-age=300"})


@get("/v1/status-lists/{list_id:int}", tags=["discovery"], media_type=STATUS_LIST_MEDIA_TYPE,
     responses=PROBLEMS)
async def status_list(
    list_id: Annotated[int, PathParameter(ge=1, le=2**31 - 1)], services: ServicesDep
) -> Response[str]:
    """The signed status list token (`typ` statuslist+jwt): 2 bits per e-card, 0 valid,
    1 invalid, 2 suspended."""
    token = await services.issuance.status_lists.token(list_id)
    return Response(token, media_type=STATUS_LIST_MEDIA_TYPE,
                    headers={"Cache-Control": f"public, max-age={int(TTL.total_seconds())}"})
