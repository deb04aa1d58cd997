"""Hypothesis at the edges of request bodies: whatever bytes a client sends as JSON or as a
multipart upload, the answer is a 2xx or a 4xx problem document with a stable code, never a 5xx."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from litestar.testing import TestClient

from app.asgi import create_app
from app.clock import FrozenClock
from app.config import DEV_ADMIN_TOKEN, Settings
from app.face.pool import ProcessPoolFaceEngine
from app.qa.fixtures import cards_file
from app.qa.run import HOLDERS, Flow
from tests.conftest import START

JSON_ENDPOINTS = ["/v1/accounts/sms-codes", "/v1/accounts", "/v1/sessions", "/v1/sessions/refresh"]
EXAMPLES = settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))


@pytest.fixture(scope="module")
def http(tmp_path_factory: pytest.TempPathFactory, face_engine: ProcessPoolFaceEngine) -> Iterator[TestClient[Any]]:
    folder = tmp_path_factory.mktemp("edges")
    config = Settings(database_url=f"sqlite:///{folder / 'ecard.db'}", env="dev", keys_dir=folder / "keys",
                      issuer="https://ecard.test", face_workers=1)
    app = create_app(config, clock=FrozenClock(START), face_engine=face_engine)
    with TestClient(app) as client:
        client.blocking_portal.call(app.state.services.registry.import_file, Path(cards_file()))
        yield client


def answered_properly(response: Any) -> None:
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        assert response.headers["content-type"].startswith(("application/problem+json", "application/json"))
        assert isinstance(response.json()["code"], str)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20,
)


def nested(depth: int, opener: str) -> bytes:
    closer = {"[": "]", "{\"a\":": "}"}[opener]
    return (opener * depth + "1" + closer * depth).encode()


bodies = st.one_of(
    st.binary(max_size=512),  # anything, including invalid UTF-8
    json_values.map(lambda v: json.dumps(v).encode()),
    json_values.map(lambda v: json.dumps(v, ensure_ascii=False).encode("utf-16")),
    st.builds(nested, st.integers(min_value=500, max_value=5000), st.sampled_from(["[", "{\"a\":"])),
    st.dictionaries(st.sampled_from(["phone", "password", "sms_code", "refresh_token", "x"]),
                    json_values, max_size=4).map(lambda v: json.dumps(v).encode()),
)


@pytest.mark.face
@EXAMPLES
@given(path=st.sampled_from(JSON_ENDPOINTS), body=bodies,
       content_type=st.sampled_from(["application/json", "application/json; charset=utf-8", "text/plain", ""]))
def test_any_json_body_gets_a_problem_not_a_5xx(http: TestClient[Any], path: str, body: bytes,
                                                content_type: str) -> None:
    headers = {"content-type": content_type} if content_type else {}
    answered_properly(http.post(path, content=body, headers=headers))


@pytest.fixture(scope="module")
def face_session(http: TestClient[Any]) -> tuple[str, str]:
    flow = Flow(http, DEV_ADMIN_TOKEN)
    token = flow.channel_token()
    realname = flow.realname(token, *HOLDERS["astronaut"])
    assert realname.status_code == 201, realname.text
    started = flow.start_face(token, realname.json()["realname_id"])
    assert started.status_code == 201, started.text
    return token, started.json()["session_id"]


def multipart(boundary: str, parts: list[tuple[str, bytes, bool]]) -> bytes:
    out = b""
    for name, payload, as_file in parts:
        disposition = f'form-data; name="{name}"' + ('; filename="f.jpg"' if as_file else "")
        out += f"--{boundary}\r\nContent-Disposition: {disposition}\r\n\r\n".encode() + payload + b"\r\n"
    return out + f"--{boundary}--\r\n".encode()


boundaries = st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126, exclude_characters='"'),
                     min_size=1, max_size=70)
parts = st.lists(st.tuples(st.sampled_from(["frame", "captured_at_ms", "other", ""]),
                           st.binary(max_size=256), st.booleans()), max_size=5)


# When a multipart body breaks off after a file part, Litestar's parser drops the part's temporary
# file without closing it; CPython closes it as soon as it is dropped, with a ResourceWarning.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
@pytest.mark.face
@EXAMPLES
@given(boundary=boundaries, content=parts, garble=st.binary(max_size=64), mode=st.integers(0, 3))
@example(boundary="b", content=[("captured_at_ms", b"\x80", False)], garble=b"", mode=0)  # a 500 once
def test_any_multipart_upload_gets_a_problem_not_a_5xx(http: TestClient[Any], face_session: tuple[str, str],
                                                       boundary: str, content: list[tuple[str, bytes, bool]],
                                                       garble: bytes, mode: int) -> None:
    token, session_id = face_session
    body = multipart(boundary, content)
    declared = boundary
    if mode == 1:  # truncated
        body = body[: len(body) // 2]
    elif mode == 2:  # garbage after a valid start
        body = body[:20] + garble
    elif mode == 3:  # the header names another boundary
        declared = boundary + "x"
    response = http.post(f"/v1/face/sessions/{session_id}/frames", content=body, headers={
        "Authorization": f"Bearer {token}", "content-type": f"multipart/form-data; boundary={declared}"})
    answered_properly(response)
