"""Verify tokens as a relying party would: fetch the JWKS over HTTP and check with joserfc,
a library we do not sign with."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import requests
from joserfc import jwt
from joserfc.jwk import KeySet


def fetch_jwks(jwks_url: str) -> KeySet:
    response = requests.get(jwks_url, timeout=10)
    response.raise_for_status()
    return KeySet.import_key_set(response.json())


def verify_jwt(token: str, *, jwks_url: str, issuer: str, audience: str, typ: str | None = None) -> dict[str, Any]:
    """Return the claims of a JWT whose signature, iss, aud and exp check out; raise otherwise."""
    decoded = jwt.decode(token, fetch_jwks(jwks_url), algorithms=["RS256", "PS256", "ES256"])
    registry = jwt.JWTClaimsRegistry(
        iss={"essential": True, "value": issuer},
        aud={"essential": True, "value": audience},
        exp={"essential": True},
        iat={"essential": True},
    )
    registry.validate(decoded.claims)
    if typ is not None:
        assert decoded.header.get("typ") == typ, decoded.header
    assert "kid" in decoded.header
    return decoded.claims


def half_hash(value: str) -> str:
    """OIDC Core §3.1.3.6 at_hash / §3.3.2.11 c_hash for RS256/PS256/ES256 (SHA-256)."""
    digest = hashlib.sha256(value.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest[: len(digest) // 2]).rstrip(b"=").decode()
