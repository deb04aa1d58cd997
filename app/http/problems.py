"""Every error leaves the service as an RFC 9457 problem document with a stable `code`."""

from __future__ import annotations

import logging
import re
from typing import Any

from litestar import Request, Response
from litestar.exceptions import (
    HTTPException,
    MethodNotAllowedException,
    NotAuthorizedException,
    NotFoundException,
    PermissionDeniedException,
    ValidationException,
)
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR

from app.errors import DomainError, RateLimited

log = logging.getLogger("ecard.errors")

PROBLEM_JSON = "application/problem+json"
_UNKNOWN_FIELD = re.compile(r"unknown field `([^`]+)`")
_MISSING_FIELD = re.compile(r"missing required field `([^`]+)`")
_MISSING_PARAMETER = re.compile(r"Missing required \w+ parameter '([^']+)'")
# What Litestar reports for a request without the JSON body the operation takes, and the name it
# gives the body as a whole.
_NO_BODY = "'data'"
_BODY = "data"

_HTTP_CODES = {
    400: "bad_request",
    401: "invalid_token",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
    503: "service_unavailable",
}


def problem(
    status: int, code: str, detail: str, *, headers: dict[str, str] | None = None, **extra: Any
) -> Response[dict[str, Any]]:
    body: dict[str, Any] = {
        "type": f"https://ecard.example/problems/{code}",
        "title": code.replace("_", " "),
        "status": status,
        "code": code,
        "detail": detail,
    }
    body.update(extra)
    return Response(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def domain_error_handler(_: Request[Any, Any, Any], exc: DomainError) -> Response[dict[str, Any]]:
    headers = {}
    if isinstance(exc, RateLimited):
        headers["Retry-After"] = str(exc.retry_after)
    if exc.status == 401:
        headers["WWW-Authenticate"] = f'Bearer error="{exc.code}"'
    return problem(exc.status, exc.code, exc.detail, headers=headers or None, **exc.extra)


NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def token_error_handler(request: Request[Any, Any, Any], exc: DomainError) -> Response[dict[str, Any]]:
    """Errors of the token endpoint as RFC 6749 §5.2 wants them: `application/json` with `error`,
    never cached, and a failed client authentication answered with a Basic challenge."""
    response = domain_error_handler(request, exc)
    body = dict(response.content)
    body.setdefault("error", exc.code)
    body.setdefault("error_description", exc.detail)
    headers = {k: v for k, v in response.headers.items() if k.lower() != "www-authenticate"}
    headers.update(NO_STORE)
    if exc.status == 401:
        headers["WWW-Authenticate"] = 'Basic realm="ecard", charset="UTF-8"'
    return Response(body, status_code=exc.status, media_type="application/json", headers=headers)


def http_error_handler(_: Request[Any, Any, Any], exc: HTTPException) -> Response[dict[str, Any]]:
    status = exc.status_code
    if isinstance(exc, ValidationException):
        return _validation_problem(exc)
    if isinstance(exc, NotFoundException):
        return problem(404, "not_found", "no such resource")
    if isinstance(exc, MethodNotAllowedException):
        return problem(405, "method_not_allowed", exc.detail, headers=exc.headers)
    if isinstance(exc, NotAuthorizedException):
        return problem(401, "invalid_token", exc.detail)
    if isinstance(exc, PermissionDeniedException):
        return problem(403, "forbidden", exc.detail)
    if status == 400 and _is_json_syntax_error(exc.detail):
        return problem(400, "malformed_json", "the request body is not valid JSON")
    if status >= HTTP_500_INTERNAL_SERVER_ERROR:
        log.error("server error: %s", exc)
        return problem(status, "internal_error", "internal error")
    return problem(status, _HTTP_CODES.get(status, "bad_request"), exc.detail)


def _validation_problem(exc: ValidationException) -> Response[dict[str, Any]]:
    errors = exc.extra if isinstance(exc.extra, list) else []
    detail = exc.detail
    messages = [str(e.get("message")) for e in errors if isinstance(e, dict) and e.get("message")]
    if messages:
        detail = "; ".join(messages)
    fields = []
    for e in errors:
        if not isinstance(e, dict):
            continue
        message = str(e.get("message", ""))
        if message == _NO_BODY:
            return problem(400, "invalid_request", "this operation takes a JSON body", fields=[])
        named = _UNKNOWN_FIELD.search(message) or _MISSING_FIELD.search(message)
        key = named.group(1) if named else e.get("key")
        if key and key != _BODY:  # the body as a whole (`null`, a list): no field to name
            fields.append(key)
    parameter = _MISSING_PARAMETER.search(detail)
    if parameter:
        fields.append(parameter.group(1))
    if _is_json_syntax_error(detail):
        return problem(400, "malformed_json", "the request body is not valid JSON")
    return problem(400, "invalid_request", detail, fields=fields)


def _is_json_syntax_error(detail: str) -> bool:
    # msgspec's decode errors, as Litestar passes them on: "JSON is malformed: …", "Input data was
    # truncated", "Invalid JSON …".
    lowered = detail.lower()
    return any(mark in lowered for mark in ("malformed", "truncated", "invalid json"))


def unhandled_error_handler(_: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    log.exception("unhandled error", exc_info=exc)
    return problem(500, "internal_error", "internal error")
