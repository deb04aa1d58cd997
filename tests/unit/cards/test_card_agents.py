"""Delegated handling: the agent's ID is validated like the holder's and recorded, never in clear."""

from __future__ import annotations

from datetime import date

import pytest

from app.domain.cards.model import Actor, Agent
from app.domain.idnumber import make_id_number
from app.errors import InvalidInput
from tests.unit.fakes import AGENT_ID, HOLDER_ID, World, card


def agent(**changes: str) -> Agent:
    fields = {"name": "李四", "id_number": AGENT_ID, "power_of_attorney_ref": "POA-2026-0042"}
    fields.update(changes)
    return Agent(**fields)


async def test_agent_acts_for_the_holder_and_is_recorded(w: World) -> None:
    w.put(card())
    await w.service.report_loss("A12345678", "temporary", actor=Actor(channel="bureau", agent=agent()))
    [event] = await w.service.history("A12345678")
    recorded = event.agent
    assert recorded is not None
    assert (recorded["name"], recorded["power_of_attorney_ref"]) == ("李四", "POA-2026-0042")
    assert recorded["id_masked"] == AGENT_ID[:6] + "********" + AGENT_ID[-4:]
    # The audit log names the agent by keyed digest and power of attorney, not by name.
    [entry] = w.audit
    assert entry.detail["agent"] == {"id_digest": recorded["id_digest"], "power_of_attorney_ref": "POA-2026-0042"}
    assert AGENT_ID not in str(entry.detail)
    assert "李四" not in str(entry.detail)


async def test_agent_with_invalid_id_number_is_refused(w: World) -> None:
    w.put(card())
    bad = AGENT_ID[:-1] + ("0" if AGENT_ID[-1] != "0" else "1")
    with pytest.raises(InvalidInput) as refused:
        await w.service.unlock("A12345678", holder_id_number=HOLDER_ID,
                               actor=Actor(channel="bureau", agent=agent(id_number=bad)))
    assert (refused.value.code, refused.value.extra["field"]) == ("invalid_id_number", "agent.id_number")


async def test_agent_without_power_of_attorney_is_refused(w: World) -> None:
    w.put(card())
    with pytest.raises(InvalidInput) as refused:
        await w.service.report_loss("A12345678", "temporary",
                                    actor=Actor(channel="bureau", agent=agent(power_of_attorney_ref=" ")))
    assert refused.value.code == "invalid_agent"
    assert w.get("A12345678").loss_state == "none"


async def test_holder_cannot_be_their_own_agent(w: World) -> None:
    w.put(card())
    with pytest.raises(InvalidInput) as refused:
        await w.service.report_loss("A12345678", "temporary",
                                    actor=Actor(channel="bureau", agent=agent(id_number=HOLDER_ID)))
    assert refused.value.code == "agent_is_holder"


async def test_agent_must_be_an_adult(w: World) -> None:
    w.put(card())
    minor = make_id_number("370202", date(2015, 1, 1), 111)
    with pytest.raises(InvalidInput) as refused:
        await w.service.report_loss("A12345678", "temporary",
                                    actor=Actor(channel="bureau", agent=agent(id_number=minor)))
    assert refused.value.code == "agent_not_adult"
