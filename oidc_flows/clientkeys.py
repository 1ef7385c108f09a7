"""An application's public keys: its inline JWKS, or the JWKS it publishes at ``jwks_uri``.

Client assertions (private_key_jwt, RFC 7523) and signed request objects (RFC 9101) are verified
with these. A ``jwks_uri`` is fetched with a short timeout and a size limit, only over https (or
http on a loopback host, for development), and kept in the cache for ``CACHE_SECONDS``; a ``kid``
the cached set lacks fetches it again, at most once per ``REFETCH_SECONDS`` (the client rotated).
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from typing import Any, Final

from django.core.cache import cache
from jwcrypto import jwk

from . import policy, redirects
from .models import Application


TIMEOUT_SECONDS: Final = 3.0
MAX_BYTES: Final = 64 * 1024
CACHE_SECONDS: Final = 300
REFETCH_SECONDS: Final = 30


class ClientKeysError(Exception):
    """The application's keys cannot be had; the message is safe to show the client."""


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # a 3xx becomes an error: the registered URL is the one fetched, no other


#: What fetches a client's documents (its JWKS, its request objects): urllib without redirects.
opener = urllib.request.build_opener(_NoRedirects)


def _fetch(uri: str) -> dict[str, Any]:
    kind = redirects.classify(uri)
    if kind not in (policy.Redirect.HTTPS, policy.Redirect.LOOPBACK):
        raise ClientKeysError("The application's jwks_uri must be https.")
    request = urllib.request.Request(uri, headers={"Accept": "application/json", "User-Agent": "oidc_flows"})
    try:
        with opener.open(request, timeout=TIMEOUT_SECONDS) as response:  # scheme checked above
            body = response.read(MAX_BYTES + 1)
    except (OSError, ValueError):
        raise ClientKeysError("The application's jwks_uri could not be fetched.") from None
    if len(body) > MAX_BYTES:
        raise ClientKeysError("The application's jwks_uri answered too large a document.")
    try:
        data = json.loads(body)
    except ValueError:
        raise ClientKeysError("The application's jwks_uri did not answer JSON.") from None
    if not isinstance(data, dict) or not isinstance(data.get("keys"), list):
        raise ClientKeysError("The application's jwks_uri did not answer a JWK Set.")
    return data


def _cache_key(application: Application) -> str:
    return f"oidc_flows:client-jwks:{application.pk}:{application.jwks_uri}"


def _published(application: Application, *, kid: str | None) -> dict[str, Any]:
    key = _cache_key(application)
    cached = cache.get(key)
    if cached is not None:
        fetched_at, data = cached
        known = {k.get("kid") for k in data.get("keys", []) if isinstance(k, dict)}
        if kid is None or kid in known or time.time() - fetched_at < REFETCH_SECONDS:
            return data
    data = _fetch(application.jwks_uri)
    cache.set(key, (time.time(), data), CACHE_SECONDS)
    return data


def key_set(application: Application, *, kid: str | None = None) -> jwk.JWKSet:
    """The application's public keys (raises ``ClientKeysError``); ``kid``: the key a JWS header names."""
    data = application.jwks if application.jwks else None
    if not data and application.jwks_uri:
        data = _published(application, kid=kid)
    if not data:
        raise ClientKeysError("The application has registered no public keys.")
    try:
        keys = jwk.JWKSet.from_json(json.dumps(data))
    except Exception:  # jwcrypto raises several types for malformed sets
        raise ClientKeysError("The application's public keys are not a valid JWK Set.") from None
    if any(k.has_private for k in keys["keys"]):
        raise ClientKeysError("The application's JWK Set holds a private key.")
    return keys


def validate_jwks(data: Any) -> str | None:
    """Why ``data`` cannot be an application's inline JWKS (admin forms), or None."""
    if data in (None, "", {}):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("keys"), list) or not data["keys"]:
        return 'A JWK Set is an object with a non-empty "keys" list.'
    try:
        keys = jwk.JWKSet.from_json(json.dumps(data))
    except Exception:
        return "The JWK Set cannot be read."
    if any(k.has_private for k in keys["keys"]):
        return "Register public keys only: this set holds private key material."
    if any(k.get("kty") == "oct" for k in keys["keys"]):
        return "Symmetric keys cannot be registered."
    return None
