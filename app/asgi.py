"""create_app(): the composition root of the HTTP service."""

from __future__ import annotations

import logging
import os
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from litestar import Litestar
from litestar.exceptions import HTTPException
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import ScalarRenderPlugin, SwaggerRenderPlugin

from app import lifeline
from app.clock import Clock
from app.composition import open_services
from app.config import Settings, load_settings
from app.domain.cards.periodic import periodic_sweep
from app.errors import DomainError
from app.face.engine import FaceEngine
from app.http import (
    accounts,
    admin,
    cards,
    dev,
    discovery,
    ecards,
    face,
    family,
    h5,
    health,
    oauth,
    qrcodes,
    realname,
    records,
)
from app.http.allow import allow_every_method
from app.http.deps import DEPENDENCIES
from app.http.openapi_document import refine
from app.http.problems import domain_error_handler, http_error_handler, unhandled_error_handler
from app.http.requests import EcardRequest

VERSION = "1.0.0"


def create_app(
    settings: Settings | None = None, *, clock: Clock | None = None, face_engine: FaceEngine | None = None
) -> Litestar:
    """Build the service; storage and workers open in the lifespan and close with it."""
    settings = settings or load_settings()
    settings.check()

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        async with (open_services(settings, clock=clock, face_engine=face_engine,
                                  start_face_workers=face_engine is None) as services,
                    periodic_sweep(services.cards, services.storage, services.clock,
                                   settings.sweep_interval_seconds)):
            app.state.services = services
            yield

    handlers: list[Any] = [
        health.health,
        accounts.AccountController,
        oauth.OAuthController,
        realname.RealnameController,
        admin.AdminController,
        discovery.jwks, discovery.status_list, ecards.EcardController, qrcodes.QrCodeController,
        family.FamilyController,
        cards.CardController,
        records.RecordController,
        face.FaceController,
        h5.page, h5.asset,  # the reference H5 client (not API operations: outside the OpenAPI document)
    ]
    if settings.is_dev:
        handlers.append(dev.outbox)

    app = Litestar(
        route_handlers=handlers,
        dependencies=DEPENDENCIES,
        lifespan=[lifespan],
        request_class=EcardRequest,
        before_send=[allow_every_method],
        exception_handlers={
            DomainError: domain_error_handler,
            HTTPException: http_error_handler,
            Exception: unhandled_error_handler,
        },
        openapi_config=OpenAPIConfig(
            title="ecard — electronic social security card service",
            version=VERSION,
            path="/schema",
            render_plugins=[SwaggerRenderPlugin(), ScalarRenderPlugin()],
        ),
        debug=False,
        logging_config=None,
    )
    refine(app.openapi_schema)
    return app


def app_from_env() -> Litestar:
    """ASGI factory for `uvicorn --factory app.asgi:app_from_env`.

    With several server processes (`ecard serve --workers N`) each one is a child of uvicorn's
    supervisor; it shuts down cleanly (closing its face workers) when the supervisor is gone,
    however the supervisor ended."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = load_settings()
    if settings.server_workers > 1:
        lifeline.watch(os.getppid(), lambda: os.kill(os.getpid(), signal.SIGTERM))
    return create_app(settings)
