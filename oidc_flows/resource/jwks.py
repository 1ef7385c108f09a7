"""The IdP's public keys (RFC 7517) and endpoints (OIDC Discovery §4), fetched and cached in-process.

Each process keeps what it fetched for ``JWKS_CACHE_SECONDS``. A token signed with a ``kid`` we do
not hold refetches the JWKS at once (that is how a key rotation reaches us), but at most once per
``JWKS_MIN_REFETCH_SECONDS``, so tokens with made-up kids cannot turn us into a flood on the IdP.
If the IdP cannot be reached, keys already held stay in use.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from jwcrypto import jwk
from jwcrypto.common import JWException

from . import fetch
from .settings import ResourceSettings


log = logging.getLogger(__name__)

Fetcher = Callable[[str], dict[str, Any]]


@dataclass
class _Entry:
    value: Any
    fetched_at: float  # monotonic
    refreshed_at: float = field(default=0.0)  # last attempt, successful or not


class KeyCache:
    """JWK Sets by URL; thread-safe. ``clock`` and ``fetcher`` are seams for tests."""

    def __init__(self, fetcher: Fetcher | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self.fetcher = fetcher
        self.clock = clock
        self.fetches = 0  # how often the network was asked: tests and metrics read it
        self._entries: dict[str, _Entry] = {}
        self._lock = threading.Lock()

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self.fetches = 0

    def key(self, url: str, kid: str | None, conf: ResourceSettings) -> jwk.JWK | None:
        """The key named ``kid`` (or the only key, if the token names none); None if the IdP has no such key.

        Raises ``fetch.FetchError`` only when no keys are held at all and the IdP cannot be reached.
        """
        with self._lock:
            now = self.clock()
            entry = self._entries.get(url)
            if entry is None or now - entry.fetched_at >= conf.JWKS_CACHE_SECONDS:
                entry = self._refresh(url, entry, now, conf)
            found = _find(entry.value, kid)
            if found is None and now - entry.refreshed_at >= conf.JWKS_MIN_REFETCH_SECONDS:
                # An unknown kid: perhaps the IdP rotated its keys since we last looked.
                entry = self._refresh(url, entry, now, conf)
                found = _find(entry.value, kid)
            return found

    def _refresh(self, url: str, entry: _Entry | None, now: float, conf: ResourceSettings) -> _Entry:
        if entry is not None:
            entry.refreshed_at = now
        self.fetches += 1
        try:
            document = self.fetcher(url) if self.fetcher else fetch.get_json(url, timeout=conf.HTTP_TIMEOUT)
            keys = jwk.JWKSet.from_json(_json_text(document))
        except (fetch.FetchError, JWException, ValueError, TypeError) as exc:
            if entry is None:
                raise fetch.FetchError(f"No JWKS from {url}: {exc}") from None
            log.warning("Keeping the JWKS we hold: refetching %s failed (%s)", url, exc)
            return entry
        fresh = _Entry(keys, fetched_at=now, refreshed_at=now)
        self._entries[url] = fresh
        return fresh


def _json_text(document: dict[str, Any]) -> str:
    if not isinstance(document.get("keys"), list):
        raise ValueError("not a JWK Set")
    return json.dumps(document)


def _find(keys: jwk.JWKSet, kid: str | None) -> jwk.JWK | None:
    if kid is not None:
        return keys.get_key(kid)
    only = list(keys["keys"])
    return only[0] if len(only) == 1 else None  # without a kid, only an unambiguous set will do


@dataclass(frozen=True, slots=True)
class Endpoints:
    jwks_url: str
    introspection_url: str


class EndpointCache:
    """The IdP's endpoints from its discovery document, cached like the keys."""

    def __init__(self, fetcher: Fetcher | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self.fetcher = fetcher
        self.clock = clock
        self._entries: dict[str, tuple[Endpoints, float]] = {}  # issuer -> (endpoints, good until)
        self._lock = threading.Lock()

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def endpoints(self, conf: ResourceSettings) -> Endpoints:
        if conf.JWKS_URL and conf.INTROSPECTION_URL:
            return Endpoints(conf.JWKS_URL, conf.INTROSPECTION_URL)
        with self._lock:
            now = self.clock()
            found, until = self._entries.get(conf.ISSUER, (None, 0.0))
            if found is None or now >= until:
                found, discovered = self._discover(conf)
                # A failed discovery is retried sooner than a good document is refreshed.
                ttl = conf.JWKS_CACHE_SECONDS if discovered else conf.JWKS_MIN_REFETCH_SECONDS
                self._entries[conf.ISSUER] = (found, now + ttl)
        return Endpoints(conf.JWKS_URL or found.jwks_url, conf.INTROSPECTION_URL or found.introspection_url)

    def _discover(self, conf: ResourceSettings) -> tuple[Endpoints, bool]:
        # Custom servers' URL scheme; the org server's endpoints are not under its issuer, so its
        # resource servers rely on discovery or set JWKS_URL / INTROSPECTION_URL.
        fallback = Endpoints(f"{conf.ISSUER}/v1/keys", f"{conf.ISSUER}/v1/introspect")
        url = f"{conf.ISSUER}/.well-known/openid-configuration"
        try:
            metadata = self.fetcher(url) if self.fetcher else fetch.get_json(url, timeout=conf.HTTP_TIMEOUT)
        except fetch.FetchError as exc:
            log.warning("Discovery failed (%s); using %s/v1/...", exc, conf.ISSUER)
            return fallback, False
        if metadata.get("issuer") != conf.ISSUER:
            # OIDC Discovery §4.3: the document must name the issuer it was fetched for.
            log.warning("Discovery at %s names another issuer; using %s/v1/...", url, conf.ISSUER)
            return fallback, False
        found = Endpoints(
            str(metadata.get("jwks_uri") or fallback.jwks_url),
            str(metadata.get("introspection_endpoint") or fallback.introspection_url),
        )
        return found, True


#: The process-wide caches.
keys = KeyCache()
endpoints = EndpointCache()
