"""Pushed authorization requests (RFC 9126) and request objects (RFC 9101) as a client sends them.

Request objects are signed with jwcrypto and a test key whose public half the application registers
inline (``Application.jwks``).
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import requests
from jwcrypto import jwk, jwt

from oidc_flows.models import Application, AuthorizationServer
from tests.support.oauth import AuthorizationRequest


def query_of(auth: AuthorizationRequest) -> dict[str, str]:
    """The parameters of an authorization request the helper built (state, nonce, PKCE...)."""
    return dict(parse_qsl(urlsplit(auth.url).query))


def push(server: AuthorizationServer, client: Application, data: dict[str, Any], **kwargs: Any) -> requests.Response:
    """POST ``data`` to the server's /par, authenticated as ``client`` (Basic with its secret, or client_id)."""
    data = dict(data)
    secret = getattr(client, "secret", None)
    auth = (client.client_id, secret) if secret else None
    if not secret:
        data.setdefault("client_id", client.client_id)
    auth = kwargs.pop("auth", auth)
    return requests.post(server.endpoint_url("par"), data=data, auth=auth, timeout=10, **kwargs)


def pushed_uri(server: AuthorizationServer, client: Application, data: dict[str, Any]) -> str:
    response = push(server, client, data)
    assert response.status_code == 201, response.text
    return response.json()["request_uri"]


def authorize_url(server: AuthorizationServer, client_id: str, **params: str) -> str:
    return f"{server.endpoint_url('authorize')}?{urlencode({'client_id': client_id, **params})}"


def signing_key(kty: str = "RSA") -> jwk.JWK:
    kid = uuid.uuid4().hex[:12]
    if kty == "RSA":
        return jwk.JWK.generate(kty="RSA", size=2048, kid=kid)
    return jwk.JWK.generate(kty="EC", crv="P-256", kid=kid)


def register_keys(client: Application, *keys: jwk.JWK) -> None:
    """Register the public halves of ``keys`` inline, as the admin would."""
    client.jwks = {"keys": [json.loads(key.export_public()) for key in keys]}
    client.save()


def request_object(
    client: Application,
    server: AuthorizationServer,
    key: jwk.JWK,
    params: dict[str, Any],
    *,
    alg: str = "RS256",
    lifetime: int = 300,
    **claims: Any,
) -> str:
    """A request object (RFC 9101 §4) of ``client`` for ``server`` carrying ``params``; ``claims`` override."""
    now = int(time.time())
    payload = {
        "iss": client.client_id,
        "aud": server.issuer,
        "iat": now,
        "nbf": now,
        "exp": now + lifetime,
        "jti": uuid.uuid4().hex,
        "client_id": client.client_id,
        **params,
        **claims,
    }
    payload = {name: value for name, value in payload.items() if value is not None}
    token = jwt.JWT(header={"alg": alg, "kid": key.get("kid"), "typ": "oauth-authz-req+jwt"}, claims=payload)
    token.make_signed_token(key)
    return token.serialize()


def unsigned(payload: dict[str, Any]) -> str:
    """A JWT with ``alg: none`` (RFC 7519 §6): no signature at all."""
    from jwcrypto.common import base64url_encode

    header = base64url_encode(json.dumps({"alg": "none", "typ": "oauth-authz-req+jwt"}))
    return f"{header}.{base64url_encode(json.dumps(payload))}."
