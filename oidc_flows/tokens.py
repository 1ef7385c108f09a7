"""Build and sign JWTs: ID tokens (OIDC Core §2) and JWT access tokens (RFC 9068).

The only module that signs: private keys are read here and nowhere else.
"""

from __future__ import annotations

import json
import secrets
import time
import uuid
from collections.abc import Callable
from typing import Any

from jwcrypto import jwk
from jwcrypto.common import base64url_encode
from jwcrypto.jwa import JWA
from oauthlib.common import Request as OAuthRequest

from . import claims, keys
from .models import AuthorizationServer, SigningKey
from .settings import flows_settings


def opaque_token(request: OAuthRequest | None = None) -> str:
    """A random bearer value with 256 bits of entropy (RFC 6750 §5.2, RFC 9700 §4.13)."""
    return secrets.token_urlsafe(32)


#: Parsed private keys of this process, by (pk, kid). A kid is the key's thumbprint, so an entry can never
#: stand for other key material; unsealing and parsing (with RSA's consistency check, ~40 ms) happen once.
_private_keys: dict[tuple[int, str], jwk.JWK] = {}


def _private_key(key: SigningKey) -> jwk.JWK:
    cache_key = (key.pk, key.kid)
    found = _private_keys.get(cache_key)
    if found is None:
        found = key.private_key()
        if len(_private_keys) >= 64:
            _private_keys.clear()  # keys rotated away over a long life; never more than a few are live
        _private_keys[cache_key] = found
    return found


def sign(server: AuthorizationServer, payload: dict[str, Any], *, typ: str = "JWT") -> str:
    """Sign ``payload`` with the server's active key; the header names the key (kid).

    A JWS compact serialization (RFC 7515 §3.1) with jwcrypto's JWA signer: jwcrypto's JWT object
    deep-copies its input and costs about as much as the RSA signature itself.
    """
    key = keys.signing_key(server)
    header = _b64json({"alg": key.alg, "kid": key.kid, "typ": typ})
    signing_input = f"{header}.{_b64json(payload)}"
    signature = JWA.signing_alg(key.alg).sign(_private_key(key), signing_input.encode())
    return f"{signing_input}.{base64url_encode(signature)}"


def _b64json(value: dict[str, Any]) -> str:
    return base64url_encode(json.dumps(value, separators=(",", ":"), default=str))


def build_access_token_claims(server: AuthorizationServer, request: OAuthRequest) -> dict[str, Any]:
    """RFC 9068 §2.2 claims, plus Okta's ``cid``/``uid``/``scp`` so Okta-minded verifiers work too."""
    now = int(time.time())
    user = getattr(request, "user", None)
    client_id = request.client.client_id
    scopes = list(request.scopes or [])
    payload: dict[str, Any] = {
        "iss": server.issuer,
        "sub": claims.adapter().subject(user) if user is not None else client_id,
        "aud": server.effective_audience,
        "exp": now + int(request.expires_in),
        "iat": now,
        "jti": uuid.uuid4().hex,
        "client_id": client_id,
        "cid": client_id,
        "scope": " ".join(scopes),
        "scp": scopes,
    }
    if user is not None:
        payload["uid"] = str(user.pk)
        if auth_time := getattr(request, "auth_time", None):
            payload["auth_time"] = int(auth_time)
    # Custom claims first: the protocol's own claims always win (Claim.clean refuses reserved names).
    return claims.custom_claims(server, user, frozenset(scopes), for_id_token=False) | payload


def access_token_generator(server: AuthorizationServer) -> Callable[[OAuthRequest], str]:
    """oauthlib's ``token_generator`` for ``server``: a JWT from custom servers, opaque from the org server."""

    def generate(request: OAuthRequest) -> str:
        if not server.issues_jwt_access_tokens:
            return opaque_token()
        payload = build_access_token_claims(server, request)
        request.access_token_jti = payload["jti"]  # stored on the AccessToken row
        return sign(server, payload, typ="at+jwt")  # RFC 9068 §2.1

    return generate


def id_token_lifetime() -> int:
    return flows_settings().ID_TOKEN_SECONDS
