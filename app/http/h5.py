"""The reference H5 client (SPEC §8): one page and its static files under /h5/, served by the API.

The files live in `app/h5/` (plain HTML, CSS and JavaScript modules: no build step, no Node.js at
run time) and are read once. Only the files found there are served, by exact name, so no request
path reaches the file system. The page is not an API operation, so it stays out of the OpenAPI
document.

The page asks for the camera and shows a consent prompt, so it gets a strict policy: scripts,
styles and connections from this origin only (no inline script), images also from `data:` URIs
(the QR symbol), no framing by other pages (a consent prompt in a foreign frame is the classic
clickjacking target), the camera for this origin only, no referrer.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from typing import Any

from litestar import Request, Response, get
from litestar.params import FromPath
from litestar.response import Redirect

from app.errors import NotFound

PREFIX = "/h5"
INDEX = "index.html"
# Litestar adds "; charset=utf-8" to text types.
MEDIA_TYPES = {".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml"}
CONTENT_SECURITY_POLICY = "; ".join((
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "media-src 'self' blob: mediastream:",
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
))
_COMMON = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    # Revalidated on every load (cheap with the ETag), so a deployment is picked up at once.
    "Cache-Control": "no-cache",
}
PAGE_HEADERS = {
    **_COMMON,
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "Permissions-Policy": "camera=(self), microphone=(), geolocation=(), payment=()",
    "X-Frame-Options": "DENY",  # for WebViews older than frame-ancestors
}


@dataclass(frozen=True, slots=True)
class Asset:
    body: bytes
    media_type: str
    etag: str


@cache
def assets() -> dict[str, Asset]:
    """Every servable file of app/h5/ by name, read once."""
    found: dict[str, Asset] = {}
    for entry in files("app").joinpath("h5").iterdir():
        suffix = "." + entry.name.rsplit(".", 1)[-1] if "." in entry.name else ""
        if entry.is_file() and suffix in MEDIA_TYPES:
            body = entry.read_bytes()
            found[entry.name] = Asset(body, MEDIA_TYPES[suffix], f'"{hashlib.sha256(body).hexdigest()[:32]}"')
    return found


def _serve(request: Request[Any, Any, Any], name: str) -> Response[bytes]:
    asset = assets().get(name)
    if asset is None:
        raise NotFound(f"no file {name!r} in the H5 client", code="not_found")
    headers = {**(PAGE_HEADERS if name == INDEX else _COMMON), "ETag": asset.etag}
    if request.headers.get("if-none-match") == asset.etag:
        return Response(b"", status_code=304, headers=headers)
    return Response(asset.body, media_type=asset.media_type, headers=headers)


@get(PREFIX, include_in_schema=False, sync_to_thread=False)
def page(request: Request[Any, Any, Any]) -> Response[bytes] | Redirect:
    """The page, at /h5/ (with the slash, so that its files resolve beside it)."""
    # Routing ignores a trailing slash, so the path as sent tells them apart.
    sent = request.scope.get("raw_path", b"/").split(b"?")[0]
    if not sent.endswith(b"/"):
        query = request.url.query
        return Redirect(f"{PREFIX}/" + (f"?{query}" if query else ""), status_code=308)
    return _serve(request, INDEX)


@get(f"{PREFIX}/{{name:str}}", include_in_schema=False, sync_to_thread=False)
def asset(name: FromPath[str], request: Request[Any, Any, Any]) -> Response[bytes]:
    """A file of the page (script module, style sheet, icon)."""
    return _serve(request, name)
