"""The request class: a JSON body that cannot be decoded is the client's error, whatever the reason.

msgspec reports most malformed JSON as a decode error, which Litestar turns into a 400; but a body
that is not UTF-8 raises `UnicodeDecodeError`, and one nested deeper than msgspec's limit
(~1,000 levels) raises `RecursionError`, which would reach the 500 handler.

A JSON endpoint also takes nothing but JSON: a body sent as `text/plain` (or any other media type)
is `415 unsupported_media_type`, not read as JSON anyway.
"""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.exceptions import ClientException, HTTPException
from litestar.status_codes import HTTP_415_UNSUPPORTED_MEDIA_TYPE


def is_json(media_type: str) -> bool:
    kind = media_type.split(";", maxsplit=1)[0].strip().lower()
    return kind == "application/json" or (kind.startswith("application/") and kind.endswith("+json"))


class EcardRequest(Request[Any, Any, Any]):
    async def json(self) -> Any:
        if await self.body() and not is_json(self.headers.get("content-type", "")):
            raise HTTPException(
                status_code=HTTP_415_UNSUPPORTED_MEDIA_TYPE, detail="send the body as application/json"
            )
        try:
            return await super().json()
        except UnicodeDecodeError:
            raise ClientException("JSON is malformed: the body is not UTF-8") from None
        except RecursionError:
            raise ClientException("JSON is malformed: nested too deeply") from None
