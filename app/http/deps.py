"""Dependencies every controller may declare: the services and the calling principal."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide

from app.domain.principals import Principal, authenticate
from app.errors import Unauthenticated
from app.services import Services

# Handlers declare what they need by these names: `services: ServicesDep`, `principal: PrincipalDep`.
ServicesDep = NamedDependency[Services]
PrincipalDep = NamedDependency[Principal]


def provide_services(state: State) -> Services:
    services: Services = state.services
    return services


async def provide_principal(request: Request[Any, Any, Any], services: ServicesDep) -> Principal:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("send an access token as 'Authorization: Bearer <token>'",
                              code="missing_token")
    return await authenticate(services.storage, services.clock, token.strip())


DEPENDENCIES = {
    "services": Provide(provide_services, sync_to_thread=False),
    "principal": Provide(provide_principal),
}
