"""The card holder's personal data at rest: sealed, never in plaintext columns.

Nothing looks a holder up by name, phone or address (lookups go by card number or by the keyed
digest of the ID number), so all of it is sealed together in `cards.holder_sealed`: name, birth
date, gender, ethnicity, phone, address and postcode. The seal is bound to the person (the ID
number's keyed digest), so a replacement card carries the same sealed holder, and a sealed value
moved to another person's row does not open. An agent's record in a card's history (name, masked
ID number, power of attorney) is sealed too, bound to the card. The masked ID number shown to clients is computed
from the sealed ID number when a card is read.
"""

from __future__ import annotations

import base64
import json
from datetime import date

import msgspec

from app.domain.idnumber import mask_id_number
from app.security.vault import Vault
from app.storage.database import Database


class Holder(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    birth_date: date
    gender: str
    ethnicity: str | None = None
    phone: str | None = None
    address: str | None = None
    postcode: str | None = None


class HolderSeal:
    def __init__(self, vault: Vault) -> None:
        self._vault = vault

    def seal(self, id_digest: str, holder: Holder) -> bytes:
        return self._vault.seal(msgspec.json.encode(holder), context=_context(id_digest))

    def unseal(self, id_digest: str, sealed: bytes) -> Holder:
        return msgspec.json.decode(self._vault.unseal(sealed, context=_context(id_digest)), type=Holder)

    def masked_id(self, card_no: str, id_sealed: bytes) -> str:
        """`440305********0248`, computed from the sealed ID number; never stored."""
        return mask_id_number(self._vault.unseal(id_sealed, context=card_no.encode()).decode())


    def seal_agent(self, card_no: str, agent: dict[str, str]) -> str:
        """An agent's record in a card's history (name, masked ID, power of attorney) as text:
        `sealed:` and the sealed JSON in base64."""
        sealed = self._vault.seal(json.dumps(agent, ensure_ascii=False).encode(), context=_agent_context(card_no))
        return AGENT_PREFIX + base64.b64encode(sealed).decode()

    def unseal_agent(self, card_no: str, text: str) -> dict[str, str]:
        if not text.startswith(AGENT_PREFIX):  # written by version 1; the history is append-only
            found: dict[str, str] = json.loads(text)
            return found
        plain = self._vault.unseal(base64.b64decode(text[len(AGENT_PREFIX):]), context=_agent_context(card_no))
        agent: dict[str, str] = json.loads(plain)
        return agent


AGENT_PREFIX = "sealed:"


def _agent_context(card_no: str) -> bytes:
    return b"agent:" + card_no.encode()


def _context(id_digest: str) -> bytes:
    return b"holder:" + id_digest.encode()


async def seal_legacy_holders(database: Database, seal: HolderSeal) -> int:
    """Seal the plaintext that migration 0007 set aside, then drop it; the number of cards sealed.

    Runs at every start and does nothing once `cards_holder_legacy` is gone. One transaction: a
    crash leaves the plaintext where it was, to be sealed at the next start."""
    async with database.transaction() as conn:
        cursor = await conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'cards_holder_legacy'")
        if await cursor.fetchone() is None:
            return 0
        cursor = await conn.execute(
            "SELECT card_no, id_digest, name, birth_date, gender, ethnicity, phone, address, postcode"
            " FROM cards_holder_legacy")
        rows = list(await cursor.fetchall())
        await conn.executemany(
            "UPDATE cards SET holder_sealed = ? WHERE card_no = ?",
            [
                (seal.seal(row["id_digest"], Holder(
                    name=row["name"], birth_date=date.fromisoformat(row["birth_date"][:10]),
                    gender=row["gender"], ethnicity=row["ethnicity"], phone=row["phone"],
                    address=row["address"], postcode=row["postcode"])), row["card_no"])
                for row in rows
            ],
        )
        await conn.execute("DROP TABLE cards_holder_legacy")
    return len(rows)
