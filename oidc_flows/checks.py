"""System checks: configuration mistakes reported by `manage.py check` (ids oidc_flows.E/Wxxx)."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured

from .redirects import LOOPBACK_HOSTS as LOOPBACK
from .settings import flows_settings


REQUIRED_DOT_MODELS = {
    "OAUTH2_PROVIDER_APPLICATION_MODEL": "oidc_flows.Application",
    "OAUTH2_PROVIDER_ACCESS_TOKEN_MODEL": "oidc_flows.AccessToken",
    "OAUTH2_PROVIDER_REFRESH_TOKEN_MODEL": "oidc_flows.RefreshToken",
    "OAUTH2_PROVIDER_ID_TOKEN_MODEL": "oidc_flows.IDToken",
    "OAUTH2_PROVIDER_GRANT_MODEL": "oidc_flows.Grant",
}
CLIENT_SECRET_HASHER = "oidc_flows.hashers.ClientSecretHasher"


@checks.register(checks.Tags.security)
def check_base_url(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    try:
        base_url = flows_settings().BASE_URL
    except ImproperlyConfigured as exc:
        return [checks.Error(str(exc), id="oidc_flows.E001")]
    if not base_url.startswith("https://") and not settings.DEBUG and urlsplit(base_url).hostname not in LOOPBACK:
        return [
            checks.Warning(
                "OIDC_FLOWS['BASE_URL'] is not an https URL.",
                hint="Issuers are derived from it; RFC 8414 §2 requires https issuers in production.",
                id="oidc_flows.W001",
            )
        ]
    return []


@checks.register(checks.Tags.models)
def check_swapped_models(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    return [
        checks.Error(
            f"{name} must be {expected!r}.",
            hint="Set it before the first migrate; DOT's swappable models cannot change later.",
            id="oidc_flows.E002",
        )
        for name, expected in REQUIRED_DOT_MODELS.items()
        if getattr(settings, name, None) != expected
    ]


@checks.register(checks.Tags.security)
def check_secret_hasher(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    hashers = list(getattr(settings, "PASSWORD_HASHERS", []))
    if CLIENT_SECRET_HASHER not in hashers:
        return [
            checks.Error(
                f"PASSWORD_HASHERS must include {CLIENT_SECRET_HASHER!r}.",
                hint="Client secrets are hashed with it: OAUTH2_PROVIDER['CLIENT_SECRET_HASHER'] = 'oidc_hmac_sha256'.",
                id="oidc_flows.E003",
            )
        ]
    if hashers[0] == CLIENT_SECRET_HASHER:
        return [
            checks.Error(
                "The client secret hasher must not be the first PASSWORD_HASHERS entry.",
                hint="User passwords would be stored with a fast hash; put a password hasher (PBKDF2, Argon2) first.",
                id="oidc_flows.E004",
            )
        ]
    return []
