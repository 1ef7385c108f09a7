"""Verify a bearer access token into a ``TokenUser``: locally (RFC 9068 JWT) or by introspection (RFC 7662).

Every failure is a ``BearerError`` whose description says what was wrong with the token, never
what the token was.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import logging
import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from types import MappingProxyType
from typing import Any, ClassVar, Final

from django.core.cache import caches
from django.http import HttpRequest
from jwcrypto import jws
from jwcrypto.common import JWException

from .. import dpop
from . import fetch, jwks
from .errors import BearerError
from .settings import ResourceSettings


log = logging.getLogger(__name__)

#: RFC 6750 §2.1 b64token.
B64TOKEN: Final = re.compile(r"[A-Za-z0-9\-._~+/]+=*")
#: RFC 7515 §7.1 compact serialization: three base64url parts (no JSON serialization, no detached payload).
COMPACT_JWS: Final = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")
#: RFC 9068 §4: "the typ header value is at+jwt or application/at+jwt"; anything else is refused
#: (an ID token, whose typ is JWT, is not an access token).
ACCESS_TOKEN_TYPES: Final = frozenset({"at+jwt", "application/at+jwt"})

#: Wall-clock seconds; a seam for tests of expiry.
clock: Callable[[], float] = time.time


@dataclass(frozen=True, slots=True)
class TokenUser:
    """Who a valid access token speaks for: ``request.user`` on protected views (no database row)."""

    sub: str
    client_id: str
    scopes: frozenset[str]
    claims: Mapping[str, Any] = field(default_factory=dict)

    is_authenticated: ClassVar[bool] = True
    is_anonymous: ClassVar[bool] = False
    is_active: ClassVar[bool] = True
    is_staff: ClassVar[bool] = False
    is_superuser: ClassVar[bool] = False

    @property
    def pk(self) -> str:
        return self.sub

    @property
    def username(self) -> str:
        return str(self.claims.get("username") or self.sub)

    def get_username(self) -> str:
        return self.username

    def has_scopes(self, required: Iterable[str]) -> bool:
        return set(required) <= self.scopes

    def has_perm(self, perm: str, obj: object = None) -> bool:
        return False  # scopes, not Django permissions, say what a token may do

    def has_perms(self, perms: Iterable[str], obj: object = None) -> bool:
        return False

    def has_module_perms(self, app_label: str) -> bool:
        return False

    def __str__(self) -> str:
        return self.sub


def bearer_token(authorization: str) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header (RFC 6750 §2.1); None for other schemes.

    Tokens in the query string (§2.3) are not accepted: they end up in logs (RFC 9700 §4.3.2).
    """
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    token = token.strip()
    if not token or not B64TOKEN.fullmatch(token):
        raise BearerError.invalid_request("The Authorization header is not 'Bearer <token>'.")
    return token


def presented_token(authorization: str, conf: ResourceSettings) -> tuple[str, str] | None:
    """``(scheme, token)`` of an ``Authorization: Bearer|DPoP <token>`` header; None for other schemes."""
    found = dpop.authorization(authorization)
    if found is None or (found[0] == dpop.SCHEME and not conf.DPOP_ALGORITHMS):
        return None
    scheme, token = found
    if not token or not B64TOKEN.fullmatch(token):
        raise BearerError.invalid_request(f"The Authorization header is not '{scheme} <token>'.")
    return scheme, token


def authenticate_request(request: HttpRequest, conf: ResourceSettings) -> TokenUser | None:
    """The ``TokenUser`` of the request's access token; None when it sent none. Raise ``BearerError``.

    A DPoP-bound token (``cnf.jkt``, RFC 9449 §6) is accepted with the DPoP scheme and a proof of this
    request by its key only; as a bearer token it is refused (§7.2), and an unbound token sent with the
    DPoP scheme too.
    """
    presented = presented_token(request.META.get("HTTP_AUTHORIZATION", ""), conf)
    if presented is None:
        return None
    scheme, token = presented
    try:
        user = authenticate(token, conf)
    except BearerError as error:
        if scheme == dpop.SCHEME and error.status == HTTPStatus.UNAUTHORIZED:
            raise _dpop_error(error, conf) from None  # RFC 9449 §7.1: the challenge of the scheme used
        raise
    cnf = user.claims.get("cnf")
    bound = cnf.get("jkt") if isinstance(cnf, Mapping) else None
    if scheme != dpop.SCHEME:
        if bound:
            raise BearerError.invalid_token("This access token is DPoP-bound: send it with the DPoP scheme.")
        return user
    if not bound:
        raise _dpop_error(BearerError.invalid_token("This access token is not DPoP-bound."), conf)
    try:
        proof = dpop.verify(
            request.META.get("HTTP_DPOP"),
            method=request.method or "GET",
            url=request_url(request, conf),
            algs=conf.DPOP_ALGORITHMS,
            first_use=_cache_first_use(conf),
            access_token=token,
            now=clock(),
        )
    except dpop.DPoPError as exc:
        raise BearerError.invalid_dpop_proof(exc.description, conf.DPOP_ALGORITHMS) from None
    if proof.jkt != bound:
        raise _dpop_error(BearerError.invalid_token("The DPoP proof's key is not the access token's."), conf)
    return user


def request_url(request: HttpRequest, conf: ResourceSettings) -> str:
    """The URL a proof's ``htu`` must name: ``PUBLIC_URL`` + path, else the request's absolute URL (no query)."""
    if conf.PUBLIC_URL:
        return conf.PUBLIC_URL.rstrip("/") + request.path
    return request.build_absolute_uri(request.path)


def _dpop_error(error: BearerError, conf: ResourceSettings) -> BearerError:
    error.scheme, error.dpop_algs = dpop.SCHEME, conf.DPOP_ALGORITHMS
    return error


def _cache_first_use(conf: ResourceSettings) -> dpop.FirstUse:
    """Proof ``jti``s recorded in the Django cache ``CACHE_ALIAS`` (``add`` is atomic in shared caches;
    a local-memory cache sees only its own process's proofs)."""
    cache = caches[conf.CACHE_ALIAS]

    def first_use(kind: str, value: str, expires_at: float) -> bool:
        key = "oidc_resource:dpop:" + hashlib.sha256(f"{kind} {value}".encode()).hexdigest()
        return bool(cache.add(key, 1, timeout=max(1, int(expires_at - clock()) + 1)))

    return first_use


def authenticate(token: str, conf: ResourceSettings) -> TokenUser:
    """Verify ``token`` the way ``conf.MODE`` says; raise ``BearerError``."""
    claims = verify_jwt(token, conf) if conf.MODE == "jwt" else introspect(token, conf)
    return TokenUser(
        sub=str(claims.get("sub") or ""),
        client_id=str(claims.get("client_id") or claims.get("cid") or ""),
        scopes=scopes_of(claims),
        claims=MappingProxyType(dict(claims)),
    )


def require_scopes(user: TokenUser, required: Iterable[str]) -> None:
    """RFC 6750 §3.1 insufficient_scope (403) unless the token holds every ``required`` scope."""
    required = tuple(required)
    if not user.has_scopes(required):
        raise BearerError.insufficient_scope(required)


def scopes_of(claims: Mapping[str, Any]) -> frozenset[str]:
    """Okta's ``scp`` list if present, else the RFC 9068 §2.2.3 / RFC 7662 §2.2 ``scope`` string."""
    scp = claims.get("scp")
    if isinstance(scp, list):
        return frozenset(s for s in scp if isinstance(s, str))
    scope = scp if isinstance(scp, str) else claims.get("scope")
    return frozenset(scope.split()) if isinstance(scope, str) else frozenset()


# -- JWT mode (RFC 9068 §4) ----------------------------------------------------------------------
def verify_jwt(token: str, conf: ResourceSettings) -> dict[str, Any]:
    """The claims of a JWT access token whose header, signature, issuer, audience and times check out."""
    header = _header(token)
    alg = header.get("alg")
    if alg not in conf.ALGORITHMS:
        # RFC 8725 §3.1: only the algorithms we chose; this is where "none" and HS256 end.
        raise BearerError.invalid_token("The access token's signing algorithm is not accepted.")
    if str(header.get("typ", "")).lower() not in ACCESS_TOKEN_TYPES:
        raise BearerError.invalid_token("The token is not a JWT access token (typ at+jwt, RFC 9068).")
    if "crit" in header or "b64" in header:
        raise BearerError.invalid_token("The access token uses JWS extensions we do not support.")
    kid = header.get("kid")
    if kid is not None and not isinstance(kid, str):
        raise BearerError.invalid_token("The access token is malformed.")
    try:
        key = jwks.keys.key(conf.JWKS_URL or jwks.endpoints.endpoints(conf).jwks_url, kid, conf)
    except fetch.FetchError as exc:
        log.warning("Cannot verify access tokens: %s", exc)
        raise BearerError.unavailable() from None
    if key is None:
        raise BearerError.invalid_token("The access token was not signed by a key of the issuer.")
    payload = _verified_payload(token, key, alg)
    check_claims(payload, conf)
    return payload


def _b64json(part: str) -> Any:
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def _header(token: str) -> dict[str, Any]:
    if not COMPACT_JWS.fullmatch(token):
        raise BearerError.invalid_token("The access token is not a JWT.")
    try:
        header = _b64json(token.split(".", 1)[0])
    except (binascii.Error, ValueError, UnicodeDecodeError):
        header = None
    if not isinstance(header, dict):
        raise BearerError.invalid_token("The access token is malformed.")
    return header


def _verified_payload(token: str, key: Any, alg: str) -> dict[str, Any]:
    signed = jws.JWS()
    signed.allowed_algs = [alg]  # already checked against ALGORITHMS; jwcrypto checks it again
    try:
        signed.deserialize(token, key=key, alg=alg)
        payload = json.loads(signed.payload)
    except (JWException, ValueError, TypeError, UnicodeDecodeError):
        raise BearerError.invalid_token("The access token's signature is invalid.") from None
    if not isinstance(payload, dict):
        raise BearerError.invalid_token("The access token is malformed.")
    return payload


def check_claims(claims: Mapping[str, Any], conf: ResourceSettings, *, now: float | None = None) -> None:
    """RFC 9068 §4 / RFC 7519 §4.1: issuer, audience and times (with ``LEEWAY``), and a subject."""
    now = clock() if now is None else now
    if claims.get("iss") != conf.ISSUER:
        raise BearerError.invalid_token("The access token was issued by another authorization server.")
    audience = claims.get("aud")
    audiences = audience if isinstance(audience, list) else [audience]
    if conf.AUDIENCE not in audiences:
        raise BearerError.invalid_token("The access token is meant for another audience.")
    exp = claims.get("exp")
    if not _is_number(exp):
        raise BearerError.invalid_token("The access token has no expiry.")
    if now >= exp + conf.LEEWAY:
        raise BearerError.invalid_token("The access token expired.")
    nbf = claims.get("nbf")
    if nbf is not None and (not _is_number(nbf) or now + conf.LEEWAY < nbf):
        raise BearerError.invalid_token("The access token is not valid yet.")
    iat = claims.get("iat")
    if iat is not None and (not _is_number(iat) or now + conf.LEEWAY < iat):
        raise BearerError.invalid_token("The access token was issued in the future.")
    if not isinstance(claims.get("sub"), str):
        raise BearerError.invalid_token("The access token has no subject.")


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


# -- introspection mode (RFC 7662) ---------------------------------------------------------------
def introspect(token: str, conf: ResourceSettings) -> dict[str, Any]:
    """Ask the IdP about ``token``; the claims of an active access token meant for us, else BearerError."""
    cache = caches[conf.CACHE_ALIAS] if conf.INTROSPECTION_CACHE_SECONDS > 0 else None
    cache_key = "oidc_resource:introspect:" + hashlib.sha256(f"{conf.ISSUER} {token}".encode()).hexdigest()
    if cache is not None and (cached := cache.get(cache_key)) is not None:
        check_claims(cached, conf)  # a cached answer is never trusted past the token's exp
        return cached
    url = conf.INTROSPECTION_URL or jwks.endpoints.endpoints(conf).introspection_url
    try:
        status, answer = fetch.post_form(
            url,
            {"token": token, "token_type_hint": "access_token"},
            client_id=conf.CLIENT_ID,
            client_secret=conf.CLIENT_SECRET,
            timeout=conf.HTTP_TIMEOUT,
        )
    except fetch.FetchError as exc:
        log.warning("Cannot introspect access tokens: %s", exc)
        raise BearerError.unavailable() from None
    if status != 200 or not isinstance(answer.get("active"), bool):
        # 401: our CLIENT_ID/CLIENT_SECRET are wrong. Not the token's fault: say so in the log only.
        log.error("The introspection endpoint %s answered %s (%s)", url, status, answer.get("error", "no error code"))
        raise BearerError.unavailable()
    if answer["active"] is not True:
        raise BearerError.invalid_token("The access token is not active.")
    if str(answer.get("token_type", "Bearer")).lower() not in ("bearer", "dpop"):
        raise BearerError.invalid_token("The token is not an access token.")  # e.g. a refresh token
    check_claims(answer, conf)
    if cache is not None:
        ttl = min(conf.INTROSPECTION_CACHE_SECONDS, int(answer["exp"] - clock()))
        if ttl > 0:
            cache.set(cache_key, answer, ttl)
    return answer
