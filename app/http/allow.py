"""`Allow` on OPTIONS answers: every method of the path, taken from the application's route map.

Litestar 2 builds a controller's routes one handler at a time, and the OPTIONS handler it adds to a
path answers with the methods the path had when that handler was made: `/v1/ecards/me` (GET, then
DELETE) would answer `Allow: GET, OPTIONS` (litestar-org/litestar#4169, fixed in 3.0). This hook
sets the header from the finished route map instead.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from litestar.datastructures import MutableScopeHeaders

if TYPE_CHECKING:
    from litestar.types import Message, Scope


async def allow_every_method(message: Message, scope: Scope) -> None:
    if message["type"] != "http.response.start" or scope.get("method") != "OPTIONS":
        return
    handler = scope.get("route_handler")
    paths = getattr(handler, "paths", None)
    if not paths:
        return
    methods = scope["app"].route_handler_method_map.get(next(iter(paths)), {})
    if methods:
        MutableScopeHeaders.from_message(message)["allow"] = ", ".join(sorted(methods))
