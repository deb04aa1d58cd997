"""Signing keys: created in dev, required in prod, rotated with the old public key kept published."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from app.config import ConfigError
from app.security.jose import ECARD_TYP, STATUS_LIST_TYP, JwsError, Signer, verify
from app.security.keys import KeyStore, load_key_store, thumbprint

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
LIFETIME = timedelta(days=30)


def test_first_start_outside_prod_creates_a_key(tmp_path: Path) -> None:
    store = load_key_store(tmp_path, create=True, now=NOW)
    key = store.active()
    assert key.kid == thumbprint(key.private_key.public_key())
    pem = tmp_path / "signing" / f"{key.kid}.pem"
    assert pem.stat().st_mode & 0o777 == 0o600


def test_prod_refuses_to_start_without_keys(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="keys rotate"):
        load_key_store(tmp_path, create=False, now=NOW)


def test_reopening_keeps_the_same_key(tmp_path: Path) -> None:
    first = load_key_store(tmp_path, create=True, now=NOW).active().kid
    assert load_key_store(tmp_path, create=False, now=NOW).active().kid == first


def test_jwks_lists_public_es256_keys_only(tmp_path: Path) -> None:
    store = load_key_store(tmp_path, create=True, now=NOW)
    (jwk,) = store.jwks(NOW, LIFETIME)["keys"]
    assert (jwk["kty"], jwk["crv"], jwk["alg"], jwk["use"]) == ("EC", "P-256", "ES256", "sig")
    assert jwk["kid"] == store.active().kid
    assert "d" not in jwk


def test_rotation_signs_with_the_new_key_and_keeps_the_old_one_published(tmp_path: Path) -> None:
    store = load_key_store(tmp_path, create=True, now=NOW)
    old = store.active().kid
    new = store.rotate(NOW + timedelta(days=1)).kid
    assert new != old
    assert store.active().kid == new
    published = [k["kid"] for k in store.jwks(NOW + timedelta(days=2), LIFETIME)["keys"]]
    assert published == [new, old]
    later = NOW + timedelta(days=1) + LIFETIME + timedelta(seconds=1)
    assert [k["kid"] for k in store.jwks(later, LIFETIME)["keys"]] == [new]
    index = json.loads((tmp_path / "signing" / "index.json").read_text())
    assert [k["retired_at"] is None for k in index["keys"]] == [False, True]


def test_a_running_store_sees_a_rotation_made_by_another_process(tmp_path: Path) -> None:
    server = load_key_store(tmp_path, create=True, now=NOW)
    before = server.active().kid
    operator = KeyStore(tmp_path)  # what `ecard keys rotate` opens
    rotated = operator.rotate(NOW).kid
    assert server.active().kid == rotated != before


def test_a_token_signed_before_rotation_still_verifies(tmp_path: Path) -> None:
    store = load_key_store(tmp_path, create=True, now=NOW)
    token = Signer(store).sign({"iat": int(NOW.timestamp()), "exp": int((NOW + LIFETIME).timestamp())},
                               typ=ECARD_TYP)
    store.rotate(NOW + timedelta(hours=1))
    claims = verify(token, typ=ECARD_TYP, keys=store, now=NOW + timedelta(days=2),
                    max_token_lifetime=LIFETIME)
    assert claims["iat"] == int(NOW.timestamp())


@pytest.fixture
def store(tmp_path: Path) -> KeyStore:
    return load_key_store(tmp_path, create=True, now=NOW)


def _claims() -> dict[str, int]:
    return {"iat": int(NOW.timestamp()), "exp": int((NOW + timedelta(hours=1)).timestamp())}


def test_verify_refuses_another_typ(store: KeyStore) -> None:
    token = Signer(store).sign(_claims(), typ=STATUS_LIST_TYP)
    with pytest.raises(JwsError, match="type"):
        verify(token, typ=ECARD_TYP, keys=store, now=NOW, max_token_lifetime=LIFETIME)


def hs256_forgery(claims: dict[str, object], secret: bytes, header: dict[str, object]) -> str:
    """A JWS signed with HMAC-SHA256, built by hand (PyJWT itself refuses key-confusion secrets)."""
    def b64(raw: bytes) -> str:
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    protected = b64(json.dumps({"alg": "HS256", **header}).encode())
    signing_input = f"{protected}.{b64(json.dumps(claims).encode())}"
    mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(mac)}"


def test_verify_refuses_hs256_signed_with_the_public_key(store: KeyStore) -> None:
    active = store.active()
    public_pem = active.private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    forged = hs256_forgery(_claims(), public_pem, {"kid": active.kid, "typ": ECARD_TYP})
    with pytest.raises(JwsError, match="algorithm"):
        verify(forged, typ=ECARD_TYP, keys=store, now=NOW, max_token_lifetime=LIFETIME)


def test_verify_refuses_alg_none(store: KeyStore) -> None:
    unsigned = jwt.encode(_claims(), None, algorithm="none", headers={"typ": ECARD_TYP})
    with pytest.raises(JwsError, match="algorithm"):
        verify(unsigned, typ=ECARD_TYP, keys=store, now=NOW, max_token_lifetime=LIFETIME)


def test_verify_refuses_a_key_of_another_store(store: KeyStore, tmp_path: Path) -> None:
    stranger = load_key_store(tmp_path / "other", create=True, now=NOW)
    token = Signer(stranger).sign(_claims(), typ=ECARD_TYP)
    with pytest.raises(JwsError, match="unknown key"):
        verify(token, typ=ECARD_TYP, keys=store, now=NOW, max_token_lifetime=LIFETIME)


def test_verify_refuses_a_tampered_payload(store: KeyStore) -> None:
    token = Signer(store).sign({**_claims(), "sign_level": 1}, typ=ECARD_TYP)
    header, _, signature = token.split(".")
    other = Signer(store).sign({**_claims(), "sign_level": 2}, typ=ECARD_TYP).split(".")[1]
    with pytest.raises(JwsError, match="signature"):
        verify(f"{header}.{other}.{signature}", typ=ECARD_TYP, keys=store, now=NOW,
               max_token_lifetime=LIFETIME)


def test_verify_refuses_an_expired_token(store: KeyStore) -> None:
    token = Signer(store).sign(_claims(), typ=ECARD_TYP)
    with pytest.raises(JwsError, match="expired"):
        verify(token, typ=ECARD_TYP, keys=store, now=NOW + timedelta(hours=2),
               max_token_lifetime=LIFETIME)
