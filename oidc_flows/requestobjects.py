"""Request objects (RFC 9101, JAR): an authorization request as a JWT the client signed.

By value (``request``) or by reference (``request_uri``, an https URL the application registered,
fetched like its ``jwks_uri``: short timeout, size limit, no redirects). Verified with the
application's registered public keys (oidc_flows.clientkeys), with an asymmetric algorithm of
``policy.REQUEST_OBJECT_ALGS`` only: never ``none``, never an HMAC (RFC 9101 §10.2, RFC 8725 §3.1).
The object's claims, less the JWT's own (``iss``, ``aud``, ``exp``...), are the request's parameters.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Final

from jwcrypto import jws
from jwcrypto.common import JWException

from . import clientkeys, policy, redirects
from .models import Application, AuthorizationServer


#: JWT claims that describe the object itself, not the authorization request (RFC 7519 §4.1).
JWT_CLAIMS: Final = frozenset({"iss", "aud", "exp", "nbf", "iat", "jti", "sub"})
#: ``typ`` values we accept: RFC 9101 §10.8's explicit type, plain JWT, or none at all.
TYPES: Final = frozenset({"jwt", "oauth-authz-req+jwt", "application/oauth-authz-req+jwt"})
#: Key types each algorithm verifies with.
KEY_TYPES: Final = MappingProxyType({"RS256": "RSA", "PS256": "RSA", "ES256": "EC"})
MAX_CHARS: Final = 32_768
#: Seconds of clock difference tolerated on ``exp``, ``nbf`` and ``iat``.
CLOCK_SKEW_SECONDS: Final = 30
#: How old ``nbf`` (or ``iat``) may be, and the longest ``exp - nbf`` (FAPI 2.0 Message Signing §5.3.1: 60 min).
MAX_AGE_SECONDS: Final = 3600
#: Fetching a registered request_uri (RFC 9101 §5.2.3).
FETCH_TIMEOUT_SECONDS: Final = 3.0
FETCH_MAX_BYTES: Final = 32 * 1024
#: RFC 9101 §5.2: "The entire Request URI SHOULD NOT exceed 512 ASCII characters."
MAX_REQUEST_URI_CHARS: Final = 512


class RequestObjectError(Exception):
    """The request object (or its URI) is unusable; ``error`` is its RFC 9101 §6.2 code, the message safe to show."""

    def __init__(self, error: str, description: str) -> None:
        self.error = error
        self.description = description
        super().__init__(f"{error}: {description}")


@dataclass(frozen=True, slots=True)
class TimeRules:
    """Which time claims a request object must carry on a server, for an application."""

    exp_required: bool
    nbf_required: bool


def time_rules(server: AuthorizationServer, client: Application) -> TimeRules:
    """FAPI 2.0 wants ``exp`` and ``nbf``; a server or application requiring signed objects wants ``exp``."""
    fapi = server.profile is not None
    return TimeRules(exp_required=fapi or client.requires_signed_request_object(server), nbf_required=fapi)


def digest(value: str) -> str:
    """A short stable name for a request object or URI (continuations are keyed by it, never by the value)."""
    return hashlib.sha256(value.encode()).hexdigest()[:32]


# -- by reference ------------------------------------------------------------------------------------


#: Path pieces that could climb out of a registered prefix once a server decodes or normalises them.
_ESCAPES: Final = ("\\", "/../", "/./", "%2e", "%2f", "%5c")


def is_registered(client: Application, uri: str) -> bool:
    """Whether ``uri`` is one of the application's request URIs: exact, or under a prefix ending in "/"."""
    lowered = uri.lower()
    if len(uri) > MAX_REQUEST_URI_CHARS or any(part in lowered for part in _ESCAPES) or lowered.endswith("/.."):
        return False  # a path that a server could read as outside the registered prefix
    if redirects.classify(uri) not in (policy.Redirect.HTTPS, policy.Redirect.LOOPBACK):
        return False
    return any(uri == r or (r.endswith("/") and uri.startswith(r)) for r in client.request_uris.split())


def fetch(client: Application, uri: str) -> str:
    """The request object a registered ``request_uri`` serves (raises ``RequestObjectError``)."""
    if not is_registered(client, uri):
        # RFC 9101 §10.4.1: only URLs the application registered are fetched (no server-side request forgery).
        raise RequestObjectError("invalid_request_uri", "request_uri is not registered for this application.")
    request = urllib.request.Request(uri, headers={"Accept": "application/oauth-authz-req+jwt, application/jwt"})
    try:
        with clientkeys.opener.open(
            request, timeout=FETCH_TIMEOUT_SECONDS
        ) as response:  # https or loopback, checked above
            body = response.read(FETCH_MAX_BYTES + 1)
    except (OSError, ValueError):
        raise RequestObjectError("invalid_request_uri", "request_uri could not be fetched.") from None
    if len(body) > FETCH_MAX_BYTES:
        raise RequestObjectError("invalid_request_uri", "request_uri answered too large a document.")
    try:
        return body.decode("ascii").strip()
    except UnicodeDecodeError:
        raise RequestObjectError("invalid_request_uri", "request_uri did not answer a request object.") from None


# -- verification ------------------------------------------------------------------------------------


def _invalid(description: str) -> RequestObjectError:
    return RequestObjectError("invalid_request_object", description)


def _header(raw: str) -> dict[str, Any]:
    if not isinstance(raw, str) or len(raw) > MAX_CHARS:
        raise _invalid("The request object is too large.")
    if raw.count(".") == 4:
        raise _invalid("Encrypted request objects are not supported; sign it.")
    if raw.count(".") != 2:
        raise _invalid("The request object is not a signed JWT.")
    segment = raw.split(".", 1)[0]
    try:
        header = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    except (binascii.Error, ValueError):
        raise _invalid("The request object's header cannot be read.") from None
    if not isinstance(header, dict):
        raise _invalid("The request object's header cannot be read.")
    return header


def _verified_payload(raw: str, client: Application, header: dict[str, Any]) -> dict[str, Any]:
    alg = header.get("alg")
    if alg not in policy.REQUEST_OBJECT_ALGS:
        allowed = ", ".join(policy.REQUEST_OBJECT_ALGS)
        raise _invalid(f"The request object must be signed with one of {allowed}.")
    if str(header.get("typ", "jwt")).lower() not in TYPES:
        raise _invalid("The request object's typ is not a request object's.")
    if "crit" in header:
        raise _invalid("The request object's header has critical extensions we do not support.")
    kid = header.get("kid") if isinstance(header.get("kid"), str) else None
    try:
        key_set = clientkeys.key_set(client, kid=kid)
    except clientkeys.ClientKeysError as exc:
        raise _invalid(str(exc)) from None
    candidates = [
        key
        for key in key_set["keys"]
        if key.get("kty") == KEY_TYPES.get(alg)
        and key.get("use", "sig") == "sig"
        and (kid is None or key.get("kid") == kid)
        and key.get("alg", alg) == alg
    ]
    token = jws.JWS()
    try:
        token.deserialize(raw)
    except (JWException, ValueError, TypeError):
        raise _invalid("The request object cannot be read.") from None
    token.allowed_algs = [alg]
    for key in candidates:
        try:
            token.verify(key, alg=alg)
        except (JWException, ValueError, TypeError):
            continue
        break
    else:
        raise _invalid("The request object's signature does not verify with the application's registered keys.")
    try:
        payload = json.loads(token.payload)
    except (ValueError, TypeError):
        raise _invalid("The request object's claims are not JSON.") from None
    if not isinstance(payload, dict):
        raise _invalid("The request object's claims are not a JSON object.")
    return payload


def _check_claims(payload: dict[str, Any], client: Application, server: AuthorizationServer) -> None:
    if payload.get("iss") != client.client_id:
        raise _invalid("The request object's iss must be the client_id.")
    aud = payload.get("aud")
    audiences = aud if isinstance(aud, list) else [aud]
    if server.issuer not in audiences:
        raise _invalid("The request object's aud must be this authorization server's issuer.")
    if "client_id" in payload and payload["client_id"] != client.client_id:
        raise _invalid("The request object's client_id is not the request's.")
    now, rules = time.time(), time_rules(server, client)
    times = {name: payload.get(name) for name in ("exp", "nbf", "iat")}
    for name, value in times.items():
        if value is not None and (not isinstance(value, int | float) or isinstance(value, bool)):
            raise _invalid(f"The request object's {name} must be a number.")
    exp, nbf, iat = times["exp"], times["nbf"], times["iat"]
    if exp is None and rules.exp_required:
        raise _invalid("The request object must carry exp.")
    if nbf is None and rules.nbf_required:
        raise _invalid("The request object must carry nbf.")
    if exp is not None and exp <= now - CLOCK_SKEW_SECONDS:
        raise _invalid("The request object has expired.")
    for name, value in (("nbf", nbf), ("iat", iat)):
        if value is not None and value > now + CLOCK_SKEW_SECONDS:
            raise _invalid(f"The request object's {name} lies in the future.")
        if value is not None and value < now - MAX_AGE_SECONDS:
            raise _invalid(f"The request object's {name} is more than {MAX_AGE_SECONDS // 60} minutes old.")
    if rules.nbf_required and exp - nbf > MAX_AGE_SECONDS:
        raise _invalid(f"The request object may live {MAX_AGE_SECONDS // 60} minutes at most (exp - nbf).")


def _as_parameters(payload: dict[str, Any]) -> dict[str, list[str]]:
    """The claims as request parameters: strings as they are, numbers as digits, objects as JSON (``claims``)."""
    params: dict[str, list[str]] = {}
    for name, value in payload.items():
        if name in JWT_CLAIMS:
            continue
        if name in ("request", "request_uri"):
            raise _invalid(f"A request object must not contain {name}.")
        if isinstance(value, list) and name in policy.REPEATABLE_PARAMETERS and all(isinstance(v, str) for v in value):
            params[name] = list(value)
        elif isinstance(value, str):
            params[name] = [value]
        elif isinstance(value, bool) or value is None:
            raise _invalid(f"The request object's {name[:40]} has a value no parameter can have.")
        elif isinstance(value, int | float):
            params[name] = [str(value)]
        elif isinstance(value, dict):
            params[name] = [json.dumps(value, separators=(",", ":"))]
        else:
            raise _invalid(f"The request object's {name[:40]} has a value no parameter can have.")
    return params


def verify(raw: str, client: Application, server: AuthorizationServer) -> dict[str, list[str]]:
    """Verify ``raw``, a request object of ``client`` for ``server``; return its authorization request parameters.

    Raises ``RequestObjectError`` (``invalid_request_object``) on a bad signature, an unregistered
    key, ``none`` or an HMAC, another audience or issuer, or an expired or stale object.
    """
    header = _header(raw)
    payload = _verified_payload(raw, client, header)
    _check_claims(payload, client, server)
    params = _as_parameters(payload)
    params["client_id"] = [client.client_id]
    return params


def conflicts(outer: dict[str, list[str]], inner: dict[str, list[str]]) -> str | None:
    """The first parameter sent both beside and inside the request object with another value (RFC 9101 §5)."""
    for name, values in outer.items():
        if name in ("request", "request_uri") or name not in inner:
            continue
        if values != inner[name]:
            return name
    return None
