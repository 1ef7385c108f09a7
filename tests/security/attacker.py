"""What an attacker sends, and what the IdP must answer: forged JWTs and standard error assertions."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from urllib.parse import urlsplit

import requests
from cryptography.hazmat.primitives import serialization
from joserfc.jwk import KeySet

from oidc_flows.models import AuthorizationServer


ATTACKER = "https://attacker.example"
#: RFC 6749 §5.1: token responses "MUST" carry both (RFC 9111 keeps Pragma for HTTP/1.0 caches).
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


# -- assertions -----------------------------------------------------------------------------------------


def assert_json_error(response: requests.Response, error: str, status: int = 400, case: object = "") -> dict:
    """A standard RFC 6749 §5.2 / RFC 6750 §3.1 error body with the expected code and status."""
    assert response.status_code == status, (case, response.status_code, response.text[:300])
    assert response.headers.get("Content-Type", "").startswith("application/json"), (case, response.headers)
    body = response.json()
    assert body.get("error") == error, (case, body)
    assert set(body) <= {"error", "error_description", "error_uri", "state"}, (case, body)
    return body


def assert_error_page(response: requests.Response, status: int = 400) -> None:
    """RFC 6749 §4.1.2.1 / RFC 9700 §4.11.1: an unverified redirect_uri gets our page, never a redirect."""
    assert response.status_code == status, (response.status_code, response.headers.get("Location"))
    assert "Location" not in response.headers
    assert response.headers["Content-Type"].startswith("text/html")


def assert_not_cached(response: requests.Response) -> None:
    for name, value in NO_STORE.items():
        assert response.headers.get(name) == value, (name, response.status_code, dict(response.headers))


def assert_not_framable(response: requests.Response) -> None:
    csp = response.headers.get("Content-Security-Policy", "")
    assert response.headers.get("X-Frame-Options") == "DENY" or "frame-ancestors 'none'" in csp, response.headers


def redirected_off_idp(response: requests.Response, base_url: str) -> bool:
    location = response.headers.get("Location")
    return (
        response.status_code in (301, 302, 303, 307, 308)
        and bool(location)
        and not location.startswith((base_url, "/"))
    )


# -- forged JWTs --------------------------------------------------------------------------------------


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def parts(token: str) -> tuple[dict, dict, str]:
    header, payload, signature = token.split(".")
    return json.loads(unb64url(header)), json.loads(unb64url(payload)), signature


def encode(header: dict, payload: dict) -> str:
    return f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(payload).encode())}"


def alg_none(token: str) -> str:
    """The token's claims under ``alg: none`` and an empty signature (RFC 7519 §6, "unsecured JWT")."""
    header, payload, _ = parts(token)
    return encode(header | {"alg": "none"}, payload) + "."


def hs256_with_public_key(token: str, server: AuthorizationServer) -> str:
    """The algorithm-confusion attack: HMAC-sign with the server's *public* RSA key (PEM) as the secret."""
    header, payload, _ = parts(token)
    key_set = KeySet.import_key_set(requests.get(server.endpoint_url("keys"), timeout=10).json())
    public = key_set.get_by_kid(header["kid"]).public_key
    pem = public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    signing_input = encode(header | {"alg": "HS256"}, payload)
    return f"{signing_input}.{b64url(hmac.new(pem, signing_input.encode(), hashlib.sha256).digest())}"


def tampered_payload(token: str, **claims) -> str:
    """Other claims under the original signature."""
    header, payload, signature = parts(token)
    return f"{encode(header, payload | claims)}.{signature}"


def tampered_signature(token: str) -> str:
    signing_input, signature = token.rsplit(".", 1)
    raw = bytearray(unb64url(signature))
    raw[len(raw) // 2] ^= 0x01
    return f"{signing_input}.{b64url(bytes(raw))}"


def forgeries(token: str, server: AuthorizationServer) -> dict[str, str]:
    """Every forgery of ``token`` an attacker would try, by name."""
    _, payload, _ = parts(token)
    return {
        "alg none": alg_none(token),
        "HS256 with the public key": hs256_with_public_key(token, server),
        "tampered payload": tampered_payload(token, sub="admin", scope="openid admin", exp=payload["exp"] + 86400),
        "tampered signature": tampered_signature(token),
        "signature stripped": token.rsplit(".", 1)[0] + ".",
    }


def host_of(url: str) -> str:
    return urlsplit(url).hostname or ""
