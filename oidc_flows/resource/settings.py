"""Settings of a resource server, read from ``settings.OIDC_RESOURCE``; cached until they change.

Example (a custom authorization server ``default``)::

    OIDC_RESOURCE = {
        "ISSUER": "https://login.example.com/oauth2/default",
        "AUDIENCE": "api://default",
    }

Endpoints left empty come from the issuer's discovery document (OIDC Discovery §4), or, if it
cannot be fetched, from the custom-server URL scheme (``<issuer>/v1/keys``, ``<issuer>/v1/introspect``).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, fields
from typing import Any, Final

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.dispatch import receiver

from ..policy import DPOP_ALGS


MODES: Final = ("jwt", "introspection")
#: Asymmetric JWS algorithms (RFC 7518 §3.1) a resource server may accept. Never "none" (RFC 8725
#: §3.1) and never HS*: the JWKS is public, so a key confusion would let anyone sign.
ASYMMETRIC_ALGORITHMS: Final = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)


@dataclass(frozen=True, slots=True)
class ResourceSettings:
    #: The ``iss`` our tokens must carry, exactly (e.g. ``https://login.example.com/oauth2/default``).
    ISSUER: str = ""
    #: The ``aud`` this API answers to (a custom server's default: ``api://<server_id>``).
    AUDIENCE: str = ""
    #: "jwt": verify signatures locally (fast; a revoked token works until it expires).
    #: "introspection": ask the IdP about every token (RFC 7662; sees revocation at once).
    MODE: str = "jwt"
    #: JWKS URL; empty: ``jwks_uri`` from discovery.
    JWKS_URL: str = ""
    #: Accepted JWS algorithms (RFC 8725 §3.1: an explicit list): those an authorization server of ours signs with.
    ALGORITHMS: tuple[str, ...] = ("RS256", "PS256", "ES256")
    #: Clock skew allowed on ``exp``, ``nbf`` and ``iat``, in seconds.
    LEEWAY: int = 30
    #: How long a fetched JWKS (and discovery document) is used before it is fetched again.
    JWKS_CACHE_SECONDS: int = 300
    #: A token signed with an unknown ``kid`` refetches the JWKS at most this often (a key rotation
    #: is picked up at once; a flood of forged kids cannot make us hammer the IdP).
    JWKS_MIN_REFETCH_SECONDS: int = 60
    #: Introspection endpoint; empty: ``introspection_endpoint`` from discovery.
    INTROSPECTION_URL: str = ""
    #: This API's own client credentials at the IdP, for introspection (client_secret_basic).
    CLIENT_ID: str = ""
    CLIENT_SECRET: str = ""
    #: How long an *active* introspection result is reused (never beyond the token's ``exp``);
    #: a revoked token can be accepted for up to this long. 0 disables the cache.
    INTROSPECTION_CACHE_SECONDS: int = 10
    #: Django cache for introspection results (keyed by a hash of the token, never the token).
    CACHE_ALIAS: str = "default"
    #: Timeout of every request to the IdP, in seconds.
    HTTP_TIMEOUT: float = 5.0
    #: Algorithms accepted in DPoP proofs (RFC 9449); empty: DPoP-bound tokens are refused, and
    #: challenges name the Bearer scheme only.
    DPOP_ALGORITHMS: tuple[str, ...] = DPOP_ALGS
    #: The API's public origin (``https://api.example.com``), for checking a DPoP proof's ``htu``. Empty:
    #: the request's own (``request.build_absolute_uri``: the Host header, as ALLOWED_HOSTS admits it,
    #: and the scheme; behind a proxy set USE_X_FORWARDED_HOST / SECURE_PROXY_SSL_HEADER, or this).
    PUBLIC_URL: str = ""

    @classmethod
    def build(cls, given: dict[str, Any]) -> ResourceSettings:
        """Validated settings from a dict shaped like ``OIDC_RESOURCE``."""
        unknown = given.keys() - {f.name for f in fields(cls)}
        if unknown:
            raise ImproperlyConfigured(f"Unknown OIDC_RESOURCE keys: {', '.join(sorted(unknown))}")
        for name in ("ALGORITHMS", "DPOP_ALGORITHMS"):
            if name in given:
                given = {**given, name: tuple(given[name])}
        values = cls(**given)
        values.check()
        return values

    def check(self) -> None:
        if not self.ISSUER or not self.AUDIENCE:
            raise ImproperlyConfigured("OIDC_RESOURCE needs ISSUER and AUDIENCE.")
        if self.MODE not in MODES:
            raise ImproperlyConfigured(f"OIDC_RESOURCE['MODE'] must be one of {', '.join(MODES)}.")
        if not self.ALGORITHMS or not set(self.ALGORITHMS) <= ASYMMETRIC_ALGORITHMS:
            raise ImproperlyConfigured(
                "OIDC_RESOURCE['ALGORITHMS'] must name asymmetric algorithms only (never 'none' or HS*)."
            )
        if not set(self.DPOP_ALGORITHMS) <= ASYMMETRIC_ALGORITHMS:
            raise ImproperlyConfigured("OIDC_RESOURCE['DPOP_ALGORITHMS'] must name asymmetric algorithms only.")
        if self.MODE == "introspection" and not (self.CLIENT_ID and self.CLIENT_SECRET):
            raise ImproperlyConfigured("OIDC_RESOURCE MODE 'introspection' needs CLIENT_ID and CLIENT_SECRET.")

    def __repr__(self) -> str:  # never print the secret
        secret = "***" if self.CLIENT_SECRET else ""
        return f"ResourceSettings(ISSUER={self.ISSUER!r}, AUDIENCE={self.AUDIENCE!r}, MODE={self.MODE!r}, {secret=})"


@functools.cache
def resource_settings() -> ResourceSettings:
    """The project's ``OIDC_RESOURCE``; cached until it changes."""
    return ResourceSettings.build(dict(getattr(settings, "OIDC_RESOURCE", {})))


@receiver(setting_changed)
def _forget_settings(*, setting: str, **kwargs: object) -> None:
    if setting == "OIDC_RESOURCE":
        resource_settings.cache_clear()
