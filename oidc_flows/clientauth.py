"""Client authentication: one method per request (RFC 6749 §2.3), and JWT client assertions
(RFC 7523 §2.2, §3; OIDC Core §9: ``private_key_jwt`` and ``client_secret_jwt``).

``FlowsValidator.authenticate_client`` asks ``presented_method`` which way a request authenticates,
and hands assertions to ``authenticate_assertion``; every endpoint on the oauthlib core (/token,
/introspect, /revoke, /par) goes through it. The method registered on the application decides: an
application registered for ``private_key_jwt`` cannot fall back to its secret, nor the reverse.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from collections.abc import Callable, Iterable
from typing import Any, Final

from cryptography.fernet import InvalidToken
from jwcrypto import jwk, jws
from oauthlib.common import Request as OAuthRequest
from oauthlib.oauth2.rfc6749 import errors

from . import clientkeys, policy, replay, sealing
from .models import Application, AuthorizationServer


ASSERTION_TYPE: Final = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
#: The registered methods that authenticate with an assertion, and the secret-based ones.
ASSERTION_METHODS: Final = frozenset(policy.CLIENT_ASSERTION_ALGS)
SECRET_METHODS: Final = ("client_secret_basic", "client_secret_post")
#: What ``presented_method`` answers for an assertion (the registration says which kind it must be).
JWT: Final = "jwt"
#: Endpoints that authenticate clients: an assertion's ``aud`` may name the one it is sent to.
AUTHENTICATING_ENDPOINTS: Final = ("token", "introspect", "revoke", "par")
#: Clock skew tolerated on ``iat`` and ``nbf`` (RFC 7519 §4.1.5: "a small leeway").
LEEWAY_SECONDS: Final = 30
#: Longer is no client assertion of ours (an RSA-4096 signature and a few claims take ~1 KiB).
MAX_ASSERTION_CHARS: Final = 8192
MAX_JTI_CHARS: Final = 256


# -- what the request presents ---------------------------------------------------------------------
def presents_assertion(request: OAuthRequest) -> bool:
    """Whether the request carries (part of) a client assertion."""
    return bool(_param(request, "client_assertion") or _param(request, "client_assertion_type"))


def presented_method(request: OAuthRequest, *, basic: bool) -> str | None:
    """How the request authenticates the client: ``client_secret_basic``, ``client_secret_post``, ``JWT``
    (an assertion) or None (``client_id`` alone). ``basic``: it has an ``Authorization: Basic`` header.

    Raises ``invalid_request`` for more than one method (RFC 6749 §2.3: "MUST NOT use more than one").
    """
    used = [
        name
        for name, present in (
            ("client_secret_basic", basic),
            ("client_secret_post", bool(_param(request, "client_secret"))),
            ("client_assertion", presents_assertion(request)),
        )
        if present
    ]
    if len(used) > 1:
        raise errors.InvalidRequestError(
            description=f"Use one client authentication method per request, not {' and '.join(used)}.",
            request=request,
        )
    if not used:
        return None
    if used[0] != "client_assertion":
        return used[0]
    if not (_param(request, "client_assertion") and _param(request, "client_assertion_type")):
        raise errors.InvalidRequestError(
            description="client_assertion and client_assertion_type go together.", request=request
        )
    return JWT


def _param(request: OAuthRequest, name: str) -> str | None:
    return getattr(request, name, None)  # oauthlib's Request raises AttributeError for unknown names


# -- what a server accepts (discovery reads the same) ----------------------------------------------
def auth_methods(server: AuthorizationServer) -> list[str]:
    """The client authentication methods ``server`` offers, in the protocol table's order."""
    profile = server.profile
    return [m for m in policy.TOKEN_ENDPOINT_AUTH_METHODS if profile is None or m in profile.auth_methods]


def assertion_algs(method: str, server: AuthorizationServer) -> tuple[str, ...]:
    """The ``alg`` values ``server`` accepts for ``method``'s assertions (a profile narrows them:
    FAPI 2.0 §5.4.1 allows PS256 and ES256 only)."""
    profile = server.profile
    algs = policy.CLIENT_ASSERTION_ALGS[method]
    return tuple(a for a in algs if profile is None or a in profile.signing_algs)


def metadata(server: AuthorizationServer) -> dict[str, list[str]]:
    """RFC 8414 §2 / OIDC Discovery §3 members on client authentication, for every endpoint that does it."""
    methods = auth_methods(server)
    algs = list(dict.fromkeys(a for m in methods if m in ASSERTION_METHODS for a in assertion_algs(m, server)))
    members: dict[str, list[str]] = {}
    # RFC 9126 §5: /par uses the token endpoint's members; the others have their own (RFC 8414 §2).
    for endpoint in ("token_endpoint", "introspection_endpoint", "revocation_endpoint"):
        members[f"{endpoint}_auth_methods_supported"] = methods
        if algs:  # OIDC Discovery §3: never "none"; absent when no assertion method is offered
            members[f"{endpoint}_auth_signing_alg_values_supported"] = algs
    return members


# -- JWT client assertions (RFC 7523) --------------------------------------------------------------
def authenticate_assertion(
    request: OAuthRequest,
    server: AuthorizationServer,
    *,
    endpoint: str | None,
    load: Callable[[str], Application | None],
) -> Application:
    """Verify the request's client assertion and return the client it proves; raise ``invalid_client``.

    ``endpoint``: the URL name of the endpoint called (its URL is an accepted ``aud``); ``load``: the
    application of a ``client_id``. The ``jti`` is spent last, so a refused assertion spends nothing.
    """

    def refuse(description: str) -> errors.InvalidClientError:
        return errors.InvalidClientError(description=description, request=request)

    if _param(request, "client_assertion_type") != ASSERTION_TYPE:
        raise refuse(f"client_assertion_type must be {ASSERTION_TYPE}.")
    assertion = _param(request, "client_assertion") or ""
    header, claims, token = _parse(assertion)
    if token is None:
        raise refuse("client_assertion is not a signed JWT (JWS compact serialization).")
    client_id = claims.get("sub")
    if not isinstance(client_id, str) or not client_id or claims.get("iss") != client_id:
        raise refuse("The assertion's iss and sub must both be the client_id.")
    # RFC 7521 §4.2: client_id is optional, but when present it identifies the same client.
    if _param(request, "client_id") and _param(request, "client_id") != client_id:
        raise refuse("client_id differs from the assertion's sub.")
    client = load(client_id)
    if client is None:
        raise refuse("Unknown client.")
    method = client.token_endpoint_auth_method
    if method not in ASSERTION_METHODS:
        raise refuse("The application is not registered for a JWT client assertion.")
    alg = header.get("alg")
    allowed = assertion_algs(method, server)
    if alg not in allowed:
        # Never "none", never HS with a public key, never RS/ES/PS with a secret: CLIENT_ASSERTION_ALGS.
        raise refuse(f"The assertion's alg must be one of {', '.join(allowed) or 'none here'} for {method}.")
    if client.token_endpoint_auth_signing_alg and alg != client.token_endpoint_auth_signing_alg:
        raise refuse(f"The application signs its assertions with {client.token_endpoint_auth_signing_alg}.")
    if not _verified(token, alg, _keys(client, method, header.get("kid"), refuse)):
        raise refuse("The assertion's signature does not verify with the application's keys.")
    exp = _check_claims(claims, _audiences(server, endpoint), refuse)
    if not replay.first_use(f"client_assertion:{client.client_id}", claims["jti"], exp):
        raise refuse("The assertion was already used: every assertion needs a new jti.")
    return client


def _parse(assertion: str) -> tuple[dict[str, Any], dict[str, Any], jws.JWS | None]:
    """The header and (unverified) claims of a compact JWS, and the JWS to verify; None if malformed."""
    parts = assertion.split(".")
    if len(assertion) > MAX_ASSERTION_CHARS or len(parts) != 3:
        return {}, {}, None
    try:
        header, claims = (json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4))) for p in parts[:2])
        token = jws.JWS()
        token.deserialize(assertion)
    except (binascii.Error, ValueError, UnicodeDecodeError, RecursionError, jws.InvalidJWSObject):
        return {}, {}, None
    if not isinstance(header, dict) or not isinstance(claims, dict):
        return {}, {}, None
    return header, claims, token


def _keys(client: Application, method: str, kid: Any, refuse: Callable[[str], Exception]) -> list[jwk.JWK]:
    """The keys that may have signed the client's assertion: its public keys, or its sealed secret."""
    if method == "client_secret_jwt":
        try:
            secret = sealing.unseal(client.sealed_client_secret) if client.sealed_client_secret else ""
        except InvalidToken:  # sealed under a SECRET_KEY that is gone from SECRET_KEY_FALLBACKS
            secret = ""
        if not secret:
            raise refuse("The application has no secret to check assertions with: an administrator must rotate it.")
        return [jwk.JWK(kty="oct", k=base64.urlsafe_b64encode(secret.encode()).rstrip(b"=").decode())]
    try:
        keys = clientkeys.key_set(client, kid=kid if isinstance(kid, str) else None)["keys"]
    except clientkeys.ClientKeysError as exc:
        raise refuse(str(exc)) from None
    usable = [k for k in keys if k.get("use") in (None, "sig")]
    if kid is not None:
        usable = [k for k in usable if k.get("kid") == kid]
        if not usable:
            raise refuse("The application has no signing key with the assertion's kid.")
    return usable


def _verified(token: jws.JWS, alg: str, keys: Iterable[jwk.JWK]) -> bool:
    for key in keys:
        if key.get("alg") not in (None, alg):
            continue  # RFC 7517 §4.4: a key that names its algorithm is for that one only
        try:
            token.verify(key, alg=alg)
        except (jws.InvalidJWSSignature, jws.InvalidJWSOperation, ValueError, TypeError):
            continue
        return True
    return False


def _audiences(server: AuthorizationServer, endpoint: str | None) -> set[str]:
    # RFC 7523 §3: the issuer or the token endpoint identify the server; so does the endpoint called.
    accepted = {server.issuer, server.endpoint_url("token")}
    if endpoint in AUTHENTICATING_ENDPOINTS:
        accepted.add(server.endpoint_url(endpoint))
    return accepted


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _check_claims(claims: dict[str, Any], audiences: set[str], refuse: Callable[[str], Exception]) -> float:
    """Check ``aud``, ``exp``, ``iat``, ``nbf`` and ``jti`` (RFC 7523 §3); return ``exp``."""
    aud = claims.get("aud")
    named = [aud] if isinstance(aud, str) else aud if isinstance(aud, list) else []
    if not any(isinstance(a, str) and a in audiences for a in named):
        raise refuse("The assertion's aud must be this server's issuer or the URL of the endpoint called.")
    now = time.time()
    exp, iat, nbf = claims.get("exp"), claims.get("iat"), claims.get("nbf")
    if not _number(exp):
        raise refuse("The assertion has no exp.")
    if exp <= now:
        raise refuse("The assertion has expired.")
    if iat is not None and (not _number(iat) or iat > now + LEEWAY_SECONDS):
        raise refuse("The assertion's iat is not a time in the past.")
    if nbf is not None and (not _number(nbf) or nbf > now + LEEWAY_SECONDS):
        raise refuse("The assertion is not valid yet (nbf).")
    if exp - (iat if iat is not None else now) > policy.CLIENT_ASSERTION_MAX_SECONDS:
        raise refuse(f"The assertion may live {policy.CLIENT_ASSERTION_MAX_SECONDS} seconds at most (exp - iat).")
    jti = claims.get("jti")
    if not isinstance(jti, str) or not jti or len(jti) > MAX_JTI_CHARS:
        raise refuse("The assertion needs a jti (a unique string).")
    return float(exp)
