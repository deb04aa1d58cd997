"""The people, moments and card the unit tests share."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from app.domain.cards.model import CardRecord
from app.domain.idnumber import make_id_number, mask_id_number, parse_id_number
from app.security.vault import Vault

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
HOLDER_ID = make_id_number("370202", date(1988, 5, 17), 123)
OTHER_ID = make_id_number("440305", date(1979, 1, 2), 456)
AGENT_ID = make_id_number("370203", date(1990, 7, 1), 321)
VAULT = Vault(b"k" * 32)


def card(card_no: str = "A12345678", *, id_number: str = HOLDER_ID, **changes: Any) -> CardRecord:
    """A collected card in Qingdao (370200), social security active, financial not yet."""
    fields: dict[str, Any] = {
        "card_no": card_no, "aab301": "370200", "name": "张三", "id_digest": VAULT.index(id_number),
        "id_sealed": VAULT.seal(id_number.encode(), context=card_no.encode()),
        "id_masked": mask_id_number(id_number), "birth_date": parse_id_number(id_number).birth_date,
        "gender": parse_id_number(id_number).gender, "ss_state": "active", "fin_state": "inactive",
        "collected_on": date(2026, 1, 5), "bank": "Bank of Qingdao",
    }
    fields.update(changes)
    return CardRecord(**fields)
