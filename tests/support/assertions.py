"""Client assertions (RFC 7523) as clients make them: Authlib's auth classes, and hand-made JWTs for the
negative cases (signed with joserfc, a library the IdP does not use, or by hand where no library would)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from typing import Any

from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.rfc7523 import ClientSecretJWT as AuthlibClientSecretJWT
from authlib.oauth2.rfc7523 import PrivateKeyJWT as AuthlibPrivateKeyJWT
from joserfc import jwt
from joserfc.jwk import ECKey, OctKey, RSAKey


ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


class _ShortLived:
    """Authlib's assertions live an hour (exp = iat + 3600); the IdP takes five minutes at most."""

    seconds = 60

    def sign(self, auth, token_endpoint):
        now = int(time.time())
        self.claims = {"iat": now, "exp": now + self.seconds}  # a new dict each time: Authlib adds its jti to it
        return super().sign(auth, token_endpoint)


class PrivateKeyJWT(_ShortLived, AuthlibPrivateKeyJWT):
    pass


class ClientSecretJWT(_ShortLived, AuthlibClientSecretJWT):
    pass


def session(client_id: str, key: Any, method: str, *, alg: str | None = None, **kwargs: Any) -> OAuth2Session:
    """An Authlib session that authenticates with ``method`` (private_key_jwt: ``key`` is a joserfc private
    key; client_secret_jwt: the secret); each request's assertion is made for the URL it is sent to."""
    auth_class = PrivateKeyJWT if method == "private_key_jwt" else ClientSecretJWT
    client = OAuth2Session(client_id, key, token_endpoint_auth_method=method, **kwargs)
    client.register_client_auth_method(auth_class(alg=alg))
    return client


def public_jwks(*keys: RSAKey | ECKey) -> dict[str, Any]:
    """The JWK Set an application registers: public parts only, each with its kid."""
    return {"keys": [key.as_dict(private=False) | {"kid": key.thumbprint()} for key in keys]}


def claims_for(client_id: str, audience: str | list[str], **overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    claims = {"iss": client_id, "sub": client_id, "aud": audience, "iat": now, "exp": now + 60, "jti": uuid.uuid4().hex}
    return {k: v for k, v in (claims | overrides).items() if v is not None}


def signed(claims: dict[str, Any], key: RSAKey | ECKey | OctKey, alg: str, **header: Any) -> str:
    """``claims`` signed with joserfc."""
    if not isinstance(key, OctKey):
        header.setdefault("kid", key.thumbprint())
    return jwt.encode({"alg": alg, **header}, claims, key, algorithms=[alg])


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hand_signed(claims: dict[str, Any], *, alg: str, hmac_key: bytes | None = None) -> str:
    """A JWT no careful library would make: ``alg: none`` (no signature), or an HMAC over any bytes
    (e.g. a public key, the classic algorithm-confusion attack)."""
    signing_input = f"{b64url(json.dumps({'alg': alg}).encode())}.{b64url(json.dumps(claims).encode())}"
    if hmac_key is None:
        return signing_input + "."
    digest = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}[alg]
    return f"{signing_input}.{b64url(hmac.new(hmac_key, signing_input.encode(), digest).digest())}"


def assertion_form(assertion: str, **extra: str) -> dict[str, str]:
    return {"client_assertion_type": ASSERTION_TYPE, "client_assertion": assertion, **extra}
