"""Text the databases are given: PostgreSQL cannot hold the NUL character in text, so neither SQL
adapter passes one on; a request carrying U+0000 in an id is answered 400, never a server error."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from app.domain.uow import Storage
from app.errors import DomainError
from tests.contract.conftest import postgres_storage, sqlite_storage
from tests.contract.rows import NOW


@pytest.fixture(params=["sqlite", "postgres"])
async def database(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Storage]:
    opened = sqlite_storage(tmp_path) if request.param == "sqlite" else postgres_storage()
    async with opened as adapter:
        yield adapter


@pytest.mark.parametrize("text", ["\x00", "a\x00b"])
async def test_a_text_with_nul_is_refused_before_the_database_sees_it(database: Storage, text: str) -> None:
    with pytest.raises(DomainError) as refused:
        async with database.unit_of_work() as uow:
            await uow.face_sessions.get(text)
    assert (refused.value.status, refused.value.code) == (400, "invalid_request")
    with pytest.raises(DomainError):
        async with database.unit_of_work() as uow:
            await uow.accounts.add(f"139{text}", "hash", NOW)
    async with database.unit_of_work() as uow:  # the storage is still usable afterwards
        assert await uow.face_sessions.get("no-such-session") is None
