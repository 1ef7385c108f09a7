"""DPoP proofs (RFC 9449 §4) as a client builds them, with jwcrypto: a key pair and its proofs."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from typing import Any

from jwcrypto import jwk, jws


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class DPoPKey:
    """A client's DPoP key pair; ``proof()`` signs a proof of one request."""

    def __init__(self, kty: str = "EC") -> None:
        if kty == "EC":
            self.key, self.alg = jwk.JWK.generate(kty="EC", crv="P-256"), "ES256"
        elif kty == "OKP":
            self.key, self.alg = jwk.JWK.generate(kty="OKP", crv="Ed25519"), "EdDSA"
        else:
            self.key, self.alg = jwk.JWK.generate(kty="RSA", size=2048), "PS256"

    @property
    def jkt(self) -> str:
        """RFC 7638 thumbprint, computed here by hand (not with the code under test)."""
        public = self.key.export_public(as_dict=True)
        members = {"EC": ("crv", "kty", "x", "y"), "OKP": ("crv", "kty", "x"), "RSA": ("e", "kty", "n")}[public["kty"]]
        canonical = json.dumps({m: public[m] for m in members}, separators=(",", ":"), sort_keys=True)
        return b64(hashlib.sha256(canonical.encode()).digest())

    def proof(
        self,
        method: str,
        url: str,
        *,
        access_token: str | None = None,
        nonce: str | None = None,
        iat: float | None = None,
        iat_offset: float = 0,
        jti: str | None = None,
        header: dict[str, Any] | None = None,
        claims: dict[str, Any] | None = None,
    ) -> str:
        body: dict[str, Any] = {
            "jti": jti or secrets.token_urlsafe(16),
            "htm": method,
            "htu": url,
            "iat": int((time.time() if iat is None else iat) + iat_offset),
        }
        if access_token is not None:
            body["ath"] = b64(hashlib.sha256(access_token.encode()).digest())
        if nonce is not None:
            body["nonce"] = nonce
        body |= claims or {}
        protected = {"typ": "dpop+jwt", "alg": self.alg, "jwk": self.key.export_public(as_dict=True)}
        protected |= header or {}
        if protected["alg"] != self.alg:
            # A forgery: an HMAC keyed with the public key's bytes (the classic algorithm confusion).
            secret = jwk.JWK(kty="oct", k=b64(self.key.export_to_pem()))
            signing_key, alg = secret, protected["alg"]
        else:
            signing_key, alg = self.key, self.alg
        signed = jws.JWS(json.dumps(body).encode())
        signed.add_signature(signing_key, alg=alg, protected=json.dumps(protected))
        return signed.serialize(compact=True)


def claims_of(token: str) -> dict[str, Any]:
    """The payload of a JWT, unverified (the tests verify signatures with tests.support.jose)."""
    part = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
