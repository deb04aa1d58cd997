"""The base of every wire Struct: unknown fields are refused, defaults are left out."""

from __future__ import annotations

from typing import Annotated, Final, Literal

import msgspec

BEARER: Final[Literal["Bearer"]] = "Bearer"  # RFC 6750 token type, always sent


class Wire(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True, kw_only=True):
    pass


Phone = Annotated[str, msgspec.Meta(min_length=11, max_length=16, description="mobile number")]
Password = Annotated[str, msgspec.Meta(min_length=1, max_length=128)]
SmsCodeText = Annotated[str, msgspec.Meta(pattern=r"^\s*[0-9０-９]{6}\s*$",
                                            description="six-digit SMS code (full-width digits are read as ASCII)")]
IdNumberText = Annotated[str, msgspec.Meta(min_length=1, max_length=32,
                                           description="18-character citizen ID number")]
NameText = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
Token = Annotated[str, msgspec.Meta(min_length=1, max_length=512)]


class Problem(Wire):
    """An RFC 9457 problem document; `code` is the stable machine-readable error."""

    type: str
    title: str
    status: int
    code: str
    detail: str
