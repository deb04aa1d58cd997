"""The problem responses every endpoint may give, for the OpenAPI document."""

from __future__ import annotations

from litestar.datastructures import ResponseHeader
from litestar.openapi import ResponseSpec

from models.base import Problem


def _problem(description: str) -> ResponseSpec:
    return ResponseSpec(Problem, description=description, media_type="application/problem+json",
                        generate_examples=False)


PROBLEMS: dict[int, ResponseSpec] = {
    400: _problem("Malformed JSON (`malformed_json`) or a field that fails validation (`invalid_request`, "
                  "with `fields`); OAuth errors also carry `error`"),
    401: _problem("Missing, unknown, expired or revoked token (`missing_token`, `invalid_token`)"),
    403: _problem("The token lacks the scope (`insufficient_scope`) or is of the wrong kind"),
    404: _problem("No such resource, or not this caller's"),
    409: _problem("The state forbids it; the code names why (e.g. `card_not_usable`, `session_used`)"),
    422: _problem("A value the domain refuses (e.g. `invalid_id_number`, `biometric_consent_required`)"),
    429: _problem("Rate limited (`rate_limited`, or `pin_busy` while other PIN entries are checked); "
                  "see Retry-After"),
    503: _problem("The database cannot be used at the moment (`database_unavailable`); retry"),
}

UPLOAD_PROBLEMS: dict[int, ResponseSpec] = {
    **PROBLEMS,
    413: _problem("A frame over 2 MB (`frame_too_large`) or over the pixel limit (`image_too_large`)"),
    415: _problem("Not multipart, or a frame that is not JPEG/PNG (`unsupported_image_type`)"),
    503: _problem("A face worker failed (`face_engine_unavailable`) or the database cannot be used "
                  "(`database_unavailable`); retry"),
}


# Responses that carry credentials or a code (tokens, a QR code) must not be kept by any cache.
NO_STORE_HEADERS = [
    ResponseHeader(name="Cache-Control", value="no-store", description="credentials: never cached"),
    ResponseHeader(name="Pragma", value="no-cache", description="for HTTP/1.0 caches"),
]
