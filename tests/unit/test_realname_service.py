"""The real-name check on in-memory storage: one spelling of a name, the three failure buckets."""

from __future__ import annotations

import pytest

from app.clock import FrozenClock
from app.domain.cards.model import NewCard
from app.domain.realname import FAILURES_PER_ACCOUNT_AND_ID, RealnameService
from app.errors import NotFound, RateLimited
from tests.unit.fakes import HOLDER_ID, OTHER_ID, START, VAULT, FakeStorage, card


@pytest.fixture
async def service() -> RealnameService:
    storage = FakeStorage()
    async with storage.unit_of_work() as uow:
        await uow.cards.import_batch([NewCard(record=card(name="阿卜杜·热合曼"), photo_sealed=None,
                                              record_digest="d")], START)
    return RealnameService(storage, FrozenClock(START), VAULT)  # type: ignore[arg-type]


async def test_the_name_matches_however_its_dot_is_typed(service: RealnameService) -> None:
    result = await service.check(1, "demo-app", "阿卜杜・热合曼", HOLDER_ID)
    assert result.card.card_no == "A12345678"
    assert result.check.account_id == 1


async def test_three_wrong_names_lock_that_pair_not_the_holder(service: RealnameService) -> None:
    for guess in ("李四", "王五", "赵六", "孙八")[:FAILURES_PER_ACCOUNT_AND_ID]:
        with pytest.raises(NotFound):
            await service.check(2, "demo-app", guess, HOLDER_ID)
    with pytest.raises(RateLimited):
        await service.check(2, "demo-app", "阿卜杜·热合曼", HOLDER_ID)
    # The stranger's account can still try another ID number, and the holder is not locked out.
    with pytest.raises(NotFound):
        await service.check(2, "demo-app", "钱七", OTHER_ID)
    assert (await service.check(1, "demo-app", "阿卜杜·热合曼", HOLDER_ID)).card.card_no == "A12345678"
