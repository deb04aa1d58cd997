"""Errors as values with a stable machine-readable code.

Domain code raises `DomainError` (or a subclass) and never thinks about HTTP; the HTTP layer maps
every error once, in `app.http.problems`, to an RFC 9457 problem document.
"""

from __future__ import annotations

from typing import Any, ClassVar


class DomainError(Exception):
    """A refusal the client can understand: `code` is stable, `detail` is for people."""

    status: ClassVar[int] = 400
    default_code: ClassVar[str] = "bad_request"

    def __init__(self, detail: str, *, code: str | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.code = code or self.default_code
        self.detail = detail
        self.extra = extra


class InvalidInput(DomainError):
    status = 422
    default_code = "invalid_request"


class Unauthenticated(DomainError):
    status = 401
    default_code = "invalid_token"


class Forbidden(DomainError):
    status = 403
    default_code = "forbidden"


class InsufficientScope(Forbidden):
    default_code = "insufficient_scope"


class NotFound(DomainError):
    status = 404
    default_code = "not_found"


class Conflict(DomainError):
    status = 409
    default_code = "conflict"


class Gone(DomainError):
    status = 410
    default_code = "gone"


class PayloadTooLarge(DomainError):
    status = 413
    default_code = "payload_too_large"


class UnsupportedMedia(DomainError):
    status = 415
    default_code = "unsupported_media_type"


class RateLimited(DomainError):
    status = 429
    default_code = "rate_limited"

    def __init__(self, detail: str, *, retry_after: int, code: str | None = None) -> None:
        super().__init__(detail, code=code, retry_after=retry_after)
        self.retry_after = retry_after


class Unavailable(DomainError):
    status = 503
    default_code = "service_unavailable"
