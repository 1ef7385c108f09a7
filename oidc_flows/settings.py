"""Installation-wide settings of oidc_flows, read from ``settings.OIDC_FLOWS``.

Anything that differs per authorization server (issuer, audience, keys, scopes) lives on its row.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field, fields

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.dispatch import receiver


@dataclass(frozen=True, slots=True)
class FlowsSettings:
    #: Absolute base URL of the IdP; issuers are derived from it, never from the Host header.
    BASE_URL: str = "http://127.0.0.1:8000"
    #: Lifetime of an authorization code in seconds (RFC 6749 §4.1.2: short, single use).
    AUTHORIZATION_CODE_SECONDS: int = 60
    #: Default lifetime of access tokens, in seconds (Okta's default: one hour).
    ACCESS_TOKEN_SECONDS: int = 3600
    #: Lifetime of ID tokens, in seconds.
    ID_TOKEN_SECONDS: int = 3600
    #: Algorithm of a new server's signing keys: "RS256", "PS256" or "ES256" (a server keeps its own on rotation).
    SIGNING_ALG: str = "RS256"
    #: How long a retired key stays in the JWKS, in seconds: longer than any token it signed lives.
    RETIRED_KEY_PUBLISH_SECONDS: int = 7 * 24 * 3600
    #: Dotted path of the class that resolves user claims (the one policy seam).
    CLAIMS_ADAPTER: str = "oidc_flows.claims.DefaultClaimsAdapter"
    #: WebAuthn relying party id (a domain, never an IP address); empty: the host of BASE_URL.
    WEBAUTHN_RP_ID: str = ""
    #: The name authenticators show when a passkey is created.
    WEBAUTHN_RP_NAME: str = "oidc_flows"
    #: Overrides of the sign-in's rate limits (oidc_flows.authn.ratelimit.LIMITS), per bucket:
    #: {"authn": {"username": [10, 60], "address": [60, 60]}} = requests per seconds.
    AUTHN_RATE_LIMITS: dict = field(default_factory=dict, hash=False)
    #: When /token and userinfo demand a server nonce in DPoP proofs (RFC 9449 §8, §9):
    #: "required" (applications that must use DPoP: their own switch or a FAPI 2.0 server),
    #: "always" (every DPoP proof) or "never".
    DPOP_NONCES: str = "required"
    #: Dynamic client registration (RFC 7591) without an initial access token: anyone who can reach
    #: /oauth2/v1/clients may register an application (only with grants a user consents to,
    #: policy.OPEN_REGISTRATION_GRANTS). Off by default; see SECURITY.md before switching it on.
    OPEN_REGISTRATION: bool = False
    #: Back-Channel Logout deliveries (oidc_flows.applogout): seconds to wait after the 1st, 2nd, ...
    #: failed attempt; after the last, the delivery is marked failed (about 16 hours in all).
    LOGOUT_RETRY_SECONDS: tuple = (10, 30, 120, 600, 1800, 3600, 7200, 14400, 28800)
    #: Seconds an application has to answer a logout token (connect and read, each).
    LOGOUT_TIMEOUT_SECONDS: float = 5.0
    #: How often each server process's delivery worker looks for due deliveries, in seconds.
    LOGOUT_SWEEP_SECONDS: float = 15.0
    #: Lifetime of a device authorization's device_code and user_code, in seconds (RFC 8628 §3.2 expires_in).
    DEVICE_CODE_SECONDS: int = 600
    #: Seconds a device waits between polls of /token (RFC 8628 §3.2 interval; 5 when absent).
    DEVICE_CODE_INTERVAL: int = 5
    #: The server-side secret in pairwise subs (OIDC Core §8.1, oidc_flows.subjects); empty: a key derived
    #: from SECRET_KEY. Changing it (or SECRET_KEY while it is empty) changes every pairwise sub.
    PAIRWISE_SALT: str = ""
    #: Days the system log keeps its events (sign-ins, administrative changes, security events); older
    #: ones go at the next ``manage.py oidc_clear_expired``. 90, as Okta's System Log.
    SYSTEM_LOG_RETENTION_DAYS: int = 90
    #: The management API's rate limits per access token (oidc_flows.api.throttling), as Django REST
    #: framework rates ("number/second|minute|hour|day"): "read" for GET/HEAD, "write" for the rest;
    #: a missing key keeps its default, None switches that limit off. Over it: 429 with Retry-After.
    API_RATE_LIMITS: dict = field(default_factory=dict, hash=False)


@functools.cache
def flows_settings() -> FlowsSettings:
    """Return the current settings; cached until ``OIDC_FLOWS`` changes."""
    given: dict = getattr(settings, "OIDC_FLOWS", {})
    unknown = given.keys() - {f.name for f in fields(FlowsSettings)}
    if unknown:
        raise ImproperlyConfigured(f"Unknown OIDC_FLOWS keys: {', '.join(sorted(unknown))}")
    values = FlowsSettings(**given)
    if values.DPOP_NONCES not in ("required", "always", "never"):
        raise ImproperlyConfigured("OIDC_FLOWS['DPOP_NONCES'] must be 'required', 'always' or 'never'.")
    if values.SYSTEM_LOG_RETENTION_DAYS < 1:
        raise ImproperlyConfigured("OIDC_FLOWS['SYSTEM_LOG_RETENTION_DAYS'] must be at least 1.")
    if not values.LOGOUT_RETRY_SECONDS or any(not s > 0 for s in values.LOGOUT_RETRY_SECONDS):
        raise ImproperlyConfigured("OIDC_FLOWS['LOGOUT_RETRY_SECONDS'] must be a non-empty list of positive numbers.")
    return FlowsSettings(
        **{**given, "BASE_URL": values.BASE_URL.rstrip("/"), "LOGOUT_RETRY_SECONDS": tuple(values.LOGOUT_RETRY_SECONDS)}
    )


@receiver(setting_changed)
def _forget_settings(*, setting: str, **kwargs: object) -> None:
    if setting == "OIDC_FLOWS":
        flows_settings.cache_clear()
