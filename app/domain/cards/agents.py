"""Delegated handling (委托办理): an agent acts with their own ID, the holder's ID and a power of attorney."""

from __future__ import annotations

from datetime import date

from app.domain.cards.model import Agent
from app.domain.idnumber import IdNumber, mask_id_number, parse_id_number
from app.errors import InvalidInput
from app.security.vault import Vault

ADULT_AGE = 18  # an agent must have full civil capacity
_MAX_NAME = 50
_MAX_REF = 64


def _age_on(birth: date, day: date) -> int:
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def validate_agent(agent: Agent, *, holder_digest: str, vault: Vault, today: date) -> IdNumber:
    """Check the agent's name, ID number (GB 11643, like the holder's) and power of attorney.

    The holder cannot be their own agent, and the agent must be an adult.
    """
    name = agent.name.strip()
    if not name or len(name) > _MAX_NAME:
        raise InvalidInput(
            f"agent.name: 1-{_MAX_NAME} characters", code="invalid_agent", field="agent.name"
        )
    ref = agent.power_of_attorney_ref.strip()
    if not ref or len(ref) > _MAX_REF:
        raise InvalidInput(
            f"agent.power_of_attorney_ref: 1-{_MAX_REF} characters", code="invalid_agent",
            field="agent.power_of_attorney_ref",
        )
    parsed = parse_id_number(agent.id_number, today=today, field="agent.id_number")
    if vault.index(parsed.value) == holder_digest:
        raise InvalidInput(
            "the agent is the holder; omit agent when the holder is present", code="agent_is_holder",
            field="agent.id_number",
        )
    if _age_on(parsed.birth_date, today) < ADULT_AGE:
        raise InvalidInput(
            f"an agent must be at least {ADULT_AGE} years old", code="agent_not_adult",
            field="agent.id_number",
        )
    return parsed


def agent_record(agent: Agent, parsed: IdNumber, vault: Vault) -> dict[str, str]:
    """What the history keeps about an agent: never the ID number in clear."""
    return {
        "name": agent.name.strip(),
        "id_masked": mask_id_number(parsed.value),
        "id_digest": vault.index(parsed.value),
        "power_of_attorney_ref": agent.power_of_attorney_ref.strip(),
    }
