"""Face verification (人脸核验): the liveness challenge, frame uploads, the verdict."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, post
from litestar.datastructures import UploadFile
from litestar.exceptions import ClientException
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_413_REQUEST_ENTITY_TOO_LARGE

from app.domain.face_sessions import MAX_FRAMES
from app.errors import DomainError, InvalidInput, PayloadTooLarge, UnsupportedMedia
from app.face.images import DEFAULT_LIMITS
from app.http.deps import PrincipalDep, ServicesDep
from app.http.openapi import UPLOAD_PROBLEMS
from models.face import (
    FaceChallenge,
    FaceResult,
    FaceSessionRequest,
    FrameFeedback,
    FramesReceived,
    Hint,
    LightColor,
)

# The face check proves a claim (ecard:claim) or one of the holder's own acts (ecard:manage).
SCOPES = ("ecard:claim", "ecard:manage")
# One request may carry several frames (an app) or one (a mini-program); a bound on the body keeps
# a single upload from holding the server's memory.
MAX_UPLOAD_BYTES = 12 * DEFAULT_LIMITS.max_bytes
# Light sessions: with each frame part, a text part of this name (ms since the first colour).
TIME_PART = "captured_at_ms"
FIRST_PART = "first_index"


class FaceController(Controller):
    path = "/v1/face/sessions"
    tags = ("real-name and face",)

    @post("/", status_code=201, responses=UPLOAD_PROBLEMS)
    async def start(self, data: JSONBody[FaceSessionRequest], services: ServicesDep,
                    principal: PrincipalDep) -> Response[FaceChallenge]:
        """Start a liveness session on a real-name check; needs `biometric_consent: true`.

        201 with a new challenge; 200 with the same session while the check's session is open.
        """
        account_id, client_id = principal.acting_for_user_with_any(*SCOPES)
        started = await services.face.start(account_id, client_id, data.realname_id, data.biometric_consent)
        session = started.session
        challenge = FaceChallenge(
            session_id=session.id, actions=list(session.actions),
            light=[LightColor(color=step.color, ms=step.ms) for step in session.light], nonce=session.nonce,
            expires_in=started.expires_in, max_frames=MAX_FRAMES, max_frame_bytes=DEFAULT_LIMITS.max_bytes,
        )
        return Response(challenge, status_code=200 if started.resumed else 201)

    @post("/{session_id:str}/frames", status_code=202, request_max_body_size=MAX_UPLOAD_BYTES,
          responses=UPLOAD_PROBLEMS)
    async def frames(self, session_id: FromPath[str], request: Request[Any, Any, Any],
                     services: ServicesDep, principal: PrincipalDep) -> FramesReceived:
        """Upload JPEG/PNG frames in capture order, each a multipart part named `frame`."""
        account_id, client_id = principal.acting_for_user_with_any(*SCOPES)
        if not request.headers.get("content-type", "").lower().startswith("multipart/form-data"):
            raise UnsupportedMedia("send frames as multipart/form-data parts named 'frame'",
                                   code="multipart_required")
        try:
            form = await request.form()
        except ClientException as exc:
            if exc.status_code == HTTP_413_REQUEST_ENTITY_TOO_LARGE:
                raise PayloadTooLarge(f"an upload is at most {MAX_UPLOAD_BYTES} bytes; send fewer frames "
                                      "per request", code="payload_too_large") from None
            raise InvalidInput(f"the multipart body cannot be read: {exc.detail}",
                               code="malformed_multipart") from None
        except UnicodeDecodeError:  # a text part that is not UTF-8
            raise InvalidInput("the multipart body cannot be read: a text part is not UTF-8",
                               code="malformed_multipart") from None
        try:
            images = []
            for part in form.getall("frame") if "frame" in form else []:
                if not isinstance(part, UploadFile):
                    raise InvalidInput("each 'frame' part must be a file", code="invalid_frame", field="frame")
                images.append(await part.read())
            times = [_milliseconds(part) for part in (form.getall(TIME_PART) if TIME_PART in form else [])]
            first_index = _first_index(form.getall(FIRST_PART)) if FIRST_PART in form else None
        finally:
            for _, value in form.multi_items():  # every file part, read or not, is a temporary file
                if isinstance(value, UploadFile):
                    await value.close()
        upload = await services.face.add_frames(session_id, account_id, client_id, images, times, first_index)
        return FramesReceived(
            session_id=session_id, received=upload.received, total=upload.total,
            feedback=[FrameFeedback(index=f.index, face=f.face, guidance=f.guidance) for f in upload.feedback],
        )

    @post("/{session_id:str}/complete", status_code=200, responses=UPLOAD_PROBLEMS)
    async def complete(self, session_id: FromPath[str], services: ServicesDep,
                       principal: PrincipalDep) -> FaceResult:
        """The verdict: `passed`, or `failed` with a reason code; the session cannot be reused."""
        account_id, client_id = principal.acting_for_user_with_any(*SCOPES)
        verdict = await services.face.complete(session_id, account_id, client_id)
        hint = None if verdict.hint is None else Hint(zh=verdict.hint.zh, en=verdict.hint.en)
        return FaceResult(session_id=verdict.session_id, status=verdict.status, reason=verdict.reason, hint=hint)


def _first_index(parts: list[object]) -> int:
    """The one `first_index` text part: where the client expects its first frame to go."""
    text = parts[0].strip() if len(parts) == 1 and isinstance(parts[0], str) else ""
    if not text.isascii() or not text.isdigit() or len(text) > 3:
        raise DomainError("send at most one first_index part: the index the first frame gets",
                          code="invalid_request", field=FIRST_PART)
    return int(text)


def _milliseconds(part: object) -> int:
    """A `captured_at_ms` text part as an integer."""
    text = part if isinstance(part, str) else ""
    if not text.strip().isascii() or not text.strip().isdigit() or len(text.strip()) > 9:
        raise DomainError("each captured_at_ms part must be whole milliseconds", code="invalid_request",
                          field=TIME_PART)
    return int(text.strip())
