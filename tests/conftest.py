from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

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
