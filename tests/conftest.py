from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

import httpx
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from app.asgi import create_app
from app.clock import FrozenClock
from app.config import Settings
from app.face.pool import ProcessPoolFaceEngine
from app.services import Services

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(START)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(database_url=f"sqlite:///{tmp_path / 'ecard.db'}", env="dev",
                    keys_dir=tmp_path / "keys", issuer="https://ecard.test", face_workers=1)


@pytest.fixture(scope="session")
def face_engine() -> Iterator[ProcessPoolFaceEngine]:
    """One real face engine (one worker process) shared by the whole run: models load once."""
    engine = ProcessPoolFaceEngine(workers=1)
    yield engine
    asyncio.run(engine.aclose())


@pytest.fixture
def app(settings: Settings, clock: FrozenClock, face_engine: ProcessPoolFaceEngine) -> Litestar:
    return create_app(settings, clock=clock, face_engine=face_engine)


@pytest.fixture
async def client(app: Litestar) -> AsyncIterator[AsyncTestClient[Any]]:
    async with AsyncTestClient(app) as test_client:
        yield test_client


@pytest.fixture
def services(app: Litestar, client: AsyncTestClient[Any]) -> Services:
    """The running app's services (for set-up that has no HTTP endpoint, like the CLI's)."""
    found: Services = app.state.services
    return found


@asynccontextmanager
async def serving(*apps: Litestar) -> AsyncIterator[list[httpx.AsyncClient]]:
    """The apps started in this event loop, with clients whose requests run concurrently.

    The apps' lifespans run in a task of their own: they hold cancel scopes, which must be left
    in the task that entered them, and pytest finishes async fixtures in another task."""
    started, stop = asyncio.Event(), asyncio.Event()

    async def run() -> None:
        async with AsyncExitStack() as stack:
            for app in apps:
                await stack.enter_async_context(app.lifespan())
            started.set()
            await stop.wait()

    task = asyncio.create_task(run())
    waiter = asyncio.create_task(started.wait())
    await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
    if task.done():
        waiter.cancel()
        task.result()  # the start-up failed: raise its error
    clients = [httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")
               for app in apps]
    try:
        yield clients
    finally:
        for http in clients:
            await http.aclose()
        stop.set()
        await task


class Servers(NamedTuple):
    one: httpx.AsyncClient
    two: httpx.AsyncClient
    services: Services


@pytest.fixture
async def servers(settings: Settings, clock: FrozenClock, face_engine: ProcessPoolFaceEngine) -> AsyncIterator[Servers]:
    """Two servers on one database file, each with its own connection (as two processes have),
    answering requests truly concurrently: race tests use these. `AsyncTestClient` hands every
    request to a portal thread one at a time, so requests sent through it never overlap."""
    first = create_app(settings, clock=clock, face_engine=face_engine)
    second = create_app(settings, clock=clock, face_engine=face_engine)
    async with serving(first, second) as (one, two):
        yield Servers(one, two, first.state.services)
