"""Citizen ID numbers (GB 11643-1999): 17 digits and an ISO 7064 MOD 11-2 check character.

Digits 1-6 are the administrative region of household registration, 7-14 the birth date
(YYYYMMDD), 15-17 a sequence number whose last digit is odd for men and even for women.
"""

from __future__ import annotations

import re
from datetime import date

import msgspec

from app.domain.text import ascii_number
from app.errors import InvalidInput

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
_SHAPE = re.compile(r"^[0-9]{17}[0-9X]$")  # ASCII only: `\d` would take any script's digits
# First two digits: province-level divisions (GB/T 2260), with 71/81/82 for Taiwan, Hong Kong, Macao.
PROVINCES = frozenset(
    {11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46,
     50, 51, 52, 53, 54, 61, 62, 63, 64, 65, 71, 81, 82}
)
EARLIEST_BIRTH = date(1900, 1, 1)


class IdNumber(msgspec.Struct, frozen=True):
    value: str
    region: str
    birth_date: date
    gender: str  # "male" | "female"

    @property
    def masked(self) -> str:
        return mask_id_number(self.value)


def check_character(first17: str) -> str:
    total = sum(int(d) * w for d, w in zip(first17, _WEIGHTS, strict=True))
    return _CHECK[total % 11]


def parse_id_number(raw: str, *, today: date | None = None, field: str = "id_number") -> IdNumber:
    """Validate shape, region, birth date and check character; raise `invalid_id_number`."""
    value = ascii_number(raw).upper()

    def refuse(reason: str) -> InvalidInput:
        return InvalidInput(f"{field}: {reason}", code="invalid_id_number", field=field)

    if not _SHAPE.match(value):
        raise refuse("must be 17 digits followed by a digit or X")
    if check_character(value[:17]) != value[17]:
        raise refuse("check character does not match (GB 11643)")
    region = value[:6]
    if int(region[:2]) not in PROVINCES or (region[2:] == "0000" and region[:2] not in {"71", "81", "82"}):
        raise refuse(f"region {region} is not a county-level administrative division code")
    try:
        birth = date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        raise refuse("birth date digits are not a date") from None
    if birth < EARLIEST_BIRTH or birth > (today or date.today()):
        raise refuse("birth date is out of range")
    gender = "male" if int(value[16]) % 2 == 1 else "female"
    return IdNumber(value=value, region=region, birth_date=birth, gender=gender)


def mask_id_number(value: str) -> str:
    """`440305********123X`: region kept, birth date and sequence hidden, last four shown."""
    return value[:6] + "*" * (len(value) - 10) + value[-4:]


def mask_name(name: str) -> str:
    """`张*`, `欧阳**`→`欧**`: the family name's first character, the rest hidden."""
    if not name:
        return name
    return name[0] + "*" * max(1, len(name) - 1)


def make_id_number(region: str, birth: date, sequence: int) -> str:
    """Build a valid ID number (for fixtures, benchmarks and tests)."""
    first17 = f"{region}{birth:%Y%m%d}{sequence:03d}"
    return first17 + check_character(first17)
