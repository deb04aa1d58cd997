"""What the generated OpenAPI document does not know by itself, added once when the app is built.

Litestar derives paths, parameters and JSON bodies from the handlers. This module adds what lives
outside their signatures: who may call each operation (`securitySchemes` and per-operation
`security`), the bodies read by hand (the token endpoint's form, the frames' multipart), that
request objects refuse unknown fields (`additionalProperties: false`, as msgspec's
`forbid_unknown_fields` does), and the statuses some operations answer besides the common ones.
"""

from __future__ import annotations

from typing import Final

import msgspec
from litestar.openapi.spec import (
    Components,
    OpenAPI,
    OpenAPIMediaType,
    OpenAPIType,
    Operation,
    Reference,
    RequestBody,
    Schema,
    SecurityScheme,
)
from litestar.openapi.spec import OpenAPIResponse as ResponseObject

from models.base import Wire

SCHEMES: Final = {
    "holder": SecurityScheme(
        type="http", scheme="bearer",
        description="A user token (POST /v1/sessions) or a channel token acting for a user "
                    "(authorization code grant); which one each operation takes is in its description.",
    ),
    "channel": SecurityScheme(
        type="http", scheme="bearer",
        description="A channel token of a relying party or counter (client_credentials grant).",
    ),
    "admin": SecurityScheme(type="http", scheme="bearer", description="ECARD_ADMIN_TOKEN"),
    "client": SecurityScheme(
        type="http", scheme="basic",
        description="A confidential channel's client_id and client_secret (or the same as form "
                    "fields); public channels send client_id only.",
    ),
}

# Operations anyone may call; every other one names its scheme below.
PUBLIC: Final = frozenset({
    ("GET", "/health"), ("POST", "/v1/sessions"), ("POST", "/v1/sessions/refresh"),
    ("POST", "/v1/accounts"), ("POST", "/v1/accounts/sms-codes"), ("GET", "/v1/oauth/authorize"),
    ("GET", "/.well-known/jwks.json"), ("GET", "/v1/status-lists/{list_id}"), ("GET", "/v1/dev/outbox"),
})
CHANNEL_ONLY: Final = frozenset({("POST", "/v1/qrcodes/verify")})


def _scheme(method: str, path: str) -> list[dict[str, list[str]]]:
    if (method, path) in PUBLIC:
        return []
    if path == "/v1/oauth/token":
        return [{"client": []}, {}]  # Basic, or client_id (and secret) in the form
    if path.startswith("/v1/admin/"):
        return [{"admin": []}]
    if path.startswith("/v1/cards/") or (method, path) in CHANNEL_ONLY:
        return [{"channel": []}]
    return [{"holder": []}]


def _string(description: str, **extra: object) -> Schema:
    return Schema(type=OpenAPIType.STRING, description=description, **extra)  # type: ignore[arg-type]


TOKEN_FORM: Final = RequestBody(
    required=True,
    description="RFC 6749 token request, form-encoded.",
    content={"application/x-www-form-urlencoded": OpenAPIMediaType(schema=Schema(
        type=OpenAPIType.OBJECT,
        required=["grant_type"],
        properties={
            "grant_type": _string("the grant", enum=["authorization_code", "refresh_token", "client_credentials"]),
            "code": _string("authorization_code: the code from the redirect (single use, 60 s)"),
            "redirect_uri": _string("authorization_code: exactly the URI of the authorization request"),
            "code_verifier": _string("authorization_code: the PKCE verifier, 43-128 unreserved characters",
                                     min_length=43, max_length=128, pattern=r"^[A-Za-z0-9\-._~]+$"),
            "refresh_token": _string("refresh_token: the refresh token (rotated on every use)"),
            "scope": _string("client_credentials: scopes wanted; refresh_token: a subset of the grant"),
            "client_id": _string("the channel, when not sent with HTTP Basic"),
            "client_secret": _string("a confidential channel's secret, when not sent with HTTP Basic"),
        },
    ))},
)

FRAMES_MULTIPART: Final = RequestBody(
    required=True,
    description="Frames in capture order; light sessions add one captured_at_ms part per frame.",
    content={"multipart/form-data": OpenAPIMediaType(schema=Schema(
        type=OpenAPIType.OBJECT,
        required=["frame"],
        properties={
            "frame": Schema(type=OpenAPIType.ARRAY, items=Schema(
                type=OpenAPIType.STRING, format="binary",  # type: ignore[arg-type]
                description="a JPEG or PNG frame, unmirrored, at most 2 MiB")),
            "captured_at_ms": Schema(type=OpenAPIType.ARRAY, items=_string(
                "whole milliseconds since the first colour appeared", pattern=r"^[0-9]{1,9}$")),
            "first_index": _string(
                "the index the first of these frames gets (the session's frames so far): sent again "
                "after a lost answer, the upload is answered as before and kept once; out of turn, "
                "409 frame_index_mismatch", pattern=r"^[0-9]{1,3}$"),
        },
    ))},
)


def _problem(description: str) -> ResponseObject:
    return ResponseObject(description=description, content={
        "application/problem+json": OpenAPIMediaType(schema=Reference(ref="#/components/schemas/Problem"))})


def _oauth_error(description: str) -> ResponseObject:
    return ResponseObject(description=description, content={"application/json": OpenAPIMediaType(schema=Schema(
        type=OpenAPIType.OBJECT, required=["error"],
        properties={"error": _string("the RFC 6749 error code"), "error_description": _string("why"),
                    "code": _string("the same code, as in problem documents")},
    ))})


TOKEN_ERRORS: Final = {
    "400": _oauth_error("RFC 6749 §5.2: invalid_request, invalid_grant, invalid_scope, unsupported_grant_type, "
                        "unauthorized_client; never cached"),
    "401": _oauth_error("Client authentication failed (invalid_client), with `WWW-Authenticate: Basic`"),
}


# Operations that create (201) or answer with what an earlier request created (200, same body).
ALSO_200: Final[dict[tuple[str, str], str]] = {
    ("POST", "/v1/ecards"): "The e-card this channel already holds (a repeated claim)",
    ("POST", "/v1/family/invitations/{code}/accept"):
        "The link this acceptance made before (sent again with the same face session)",
}

# Statuses beyond the common problem set (app/http/openapi.py), by operation.
EXTRA_RESPONSES: Final[dict[tuple[str, str], dict[str, ResponseObject]]] = {
    ("POST", "/v1/qrcodes/verify"): {"410": _problem("The QR code has expired (`qrcode_expired`)")},
    ("POST", "/v1/family/invitations/{code}/accept"): {
        "410": _problem("The invitation has expired (`invitation_expired`)")},
    ("POST", "/v1/cards/{card_no}/pin/verify"): {"423": _problem("The PIN is locked (`pin_locked`)")},
    ("POST", "/v1/cards/{card_no}/pin/change"): {"423": _problem("The PIN is locked (`pin_locked`)")},
}


def _forbidding_unknown_fields() -> set[str]:
    names: set[str] = set()
    pending: list[type] = [Wire]
    while pending:
        kind = pending.pop()
        pending.extend(kind.__subclasses__())
        config = getattr(kind, "__struct_config__", None)
        if isinstance(config, msgspec.structs.StructConfig) and config.forbid_unknown_fields:
            names.add(kind.__name__)
    return names


# The canonical forms of identifying fields in requests. The server also takes surrounding
# spaces, and full-width digits (normalised to ASCII; app/domain/text.py) in phones and ID numbers.
PATTERNS: Final = {
    "phone": (r"^(\+86)?1[3-9][0-9]{9}$", "mainland China mobile number, 11 ASCII digits"),
    "id_number": (r"^[0-9]{17}[0-9Xx]$", "citizen ID number (GB 11643): 17 digits and a check character"),
    "holder_id_number": (r"^[0-9]{17}[0-9Xx]$", "the holder's citizen ID number (GB 11643)"),
    "client_id": (r"^[A-Za-z0-9][A-Za-z0-9._-]{2,63}$", "the channel's client_id"),
}


def _document_patterns(schema: Schema) -> None:
    for name, prop in (schema.properties or {}).items():
        if name not in PATTERNS:
            continue
        pattern, description = PATTERNS[name]
        members = [prop, *(prop.one_of or ())] if isinstance(prop, Schema) else []
        for member in members:
            if isinstance(member, Schema) and member.type == OpenAPIType.STRING:
                member.pattern = pattern
                member.description = member.description or description


def _refs(node: object) -> set[str]:
    """Component names referred to anywhere inside a schema."""
    if isinstance(node, Reference):
        return {node.ref.rsplit("/", 1)[-1]}
    if isinstance(node, Schema):
        found: set[str] = set()
        for child in (*(node.one_of or ()), *(node.any_of or ()), *(node.all_of or ()),
                      *(node.properties or {}).values(), node.items):
            found |= _refs(child)
        return found
    return set()


def _request_models(document: OpenAPI) -> set[str]:
    """Components that request bodies use, directly or nested (responses may carry extensions,
    such as a problem document's `fields`, so only requests are closed)."""
    names: set[str] = set()
    for _, _, operation in _operations(document):
        body = operation.request_body
        if isinstance(body, RequestBody):
            for media in body.content.values():
                names |= _refs(media.schema)
    schemas = document.components.schemas if document.components else {}
    pending = list(names)
    while pending:
        schema = (schemas or {}).get(pending.pop())
        for name in _refs(schema) - names:
            names.add(name)
            pending.append(name)
    return names


def _operations(document: OpenAPI) -> list[tuple[str, str, Operation]]:
    found = []
    for path, item in (document.paths or {}).items():
        for method in ("get", "post", "put", "patch", "delete"):
            operation = getattr(item, method, None)
            if operation is not None:
                found.append((method.upper(), path, operation))
    return found


def refine(document: OpenAPI) -> OpenAPI:
    """Add security, hand-read bodies, unknown-field refusal and extra statuses to `document`."""
    components = document.components or Components()
    components.security_schemes = {**(components.security_schemes or {}), **SCHEMES}
    requests = _request_models(document)
    strict = _forbidding_unknown_fields() & requests
    for name, schema in (components.schemas or {}).items():
        if name in strict and isinstance(schema, Schema):
            schema.additional_properties = False
        if name in requests and isinstance(schema, Schema):
            _document_patterns(schema)
    document.components = components
    for method, path, operation in _operations(document):
        operation.security = _scheme(method, path)
        if path == "/v1/oauth/token":
            operation.request_body = TOKEN_FORM
            operation.responses = {**(operation.responses or {}), **TOKEN_ERRORS}
        if (method, path) in {("POST", "/v1/ecards/me/qrcodes"), ("POST", "/v1/ecards/me/family/{link_id}/qrcodes")} \
                and isinstance(operation.request_body, RequestBody):
            operation.request_body.required = False  # the image format has a default
        created = (operation.responses or {}).get("201")
        if (method, path) in ALSO_200 and isinstance(created, ResponseObject):
            operation.responses = {**(operation.responses or {}), "200": ResponseObject(
                description=ALSO_200[(method, path)], content=created.content)}
        if path == "/v1/face/sessions/{session_id}/frames":
            operation.request_body = FRAMES_MULTIPART
        if operation.request_body is not None and path not in {"/v1/oauth/token",
                                                               "/v1/face/sessions/{session_id}/frames"}:
            operation.responses = {**(operation.responses or {}),
                                   "415": _problem("The body is not application/json (`unsupported_media_type`)")}
        operation.responses = {**(operation.responses or {}), **EXTRA_RESPONSES.get((method, path), {}),
                               "405": _problem("Another method than this path takes (`method_not_allowed`)")}
    return document
