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


def _is_loopback(url: str) -> bool:
    return urlsplit(url).hostname in LOOPBACK


@checks.register(checks.Tags.security, deploy=True)
def check_https_issuer(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """`check --deploy`: a deployed IdP's issuers are https URLs, loopback or not."""
    try:
        base_url = flows_settings().BASE_URL
    except ImproperlyConfigured:
        return []  # E001 says why
    if base_url.startswith("https://"):
        return []
    return [
        checks.Error(
            f"OIDC_FLOWS['BASE_URL'] is {base_url!r}, not an https URL.",
            hint="Set IDP_BASE_URL to the public https URL of the IdP (e.g. https://login.example.com); "
            "RFC 8414 §2 and OIDC Discovery §3 require https issuers.",
            id="oidc_flows.E005",
        )
    ]


@checks.register(checks.Tags.security)
def check_debug(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """DEBUG pages show settings, tracebacks and local variables: never for a public issuer or real data."""
    if not settings.DEBUG:
        return []
    messages: list[checks.CheckMessage] = []
    try:
        base_url = flows_settings().BASE_URL
    except ImproperlyConfigured:
        base_url = ""
    # An https issuer on a non-loopback host is a real deployment; http ones (a LAN or container host
    # name in development) are left to check --deploy (E005, Django's W018).
    if base_url.startswith("https://") and not _is_loopback(base_url):
        messages.append(
            checks.Error(
                f"DEBUG is on for the public issuer {base_url!r}.",
                hint="Turn DEBUG off: its error pages would show settings and request data to anyone, "
                "and the keys sealed with this SECRET_KEY sign real tokens.",
                id="oidc_flows.E006",
            )
        )
    engine = settings.DATABASES.get("default", {}).get("ENGINE", "")
    if engine and not engine.endswith("sqlite3"):
        messages.append(
            checks.Warning(
                "DEBUG is on with a server database.",
                hint="If it holds real users or tokens, turn DEBUG off: tracebacks would show their data.",
                id="oidc_flows.W002",
            )
        )
    return messages


@checks.register(checks.Tags.database)
def check_signing_keys(app_configs=None, databases=None, **kwargs) -> list[checks.CheckMessage]:
    """`check --database default`: every active server has an active key, and its keys unseal."""
    if not databases or "default" not in databases:
        return []
    from django.db import DatabaseError

    from .keys import published
    from .models import AuthorizationServer, SigningKey
    from .models.keys import KeyStatus

    try:
        servers = list(AuthorizationServer.objects.active())
        with_keys = set(SigningKey.objects.filter(status=KeyStatus.ACTIVE).values_list("server__server_id", flat=True))
    except DatabaseError:
        return []  # not migrated yet: `migrate` runs database checks before it creates the tables
    messages: list[checks.CheckMessage] = []
    for server in servers:
        if server.server_id not in with_keys:
            messages.append(
                checks.Warning(
                    f"Authorization server {server.server_id!r} has no active signing key.",
                    hint="Its JWKS is empty until the first token generates one; create it now with "
                    f"`manage.py oidc_rotate_keys {server.server_id}`.",
                    id="oidc_flows.W003",
                )
            )
        for key in published(server):
            if key.status == KeyStatus.RETIRED:
                continue  # published for verifiers, never signs again
            try:
                key.private_key()
            except Exception:  # sealing.unseal raises InvalidToken for a foreign SECRET_KEY
                messages.append(
                    checks.Error(
                        f"Signing key {key.kid} of {server.server_id!r} cannot be unsealed with SECRET_KEY.",
                        hint="SECRET_KEY changed: put the previous key in SECRET_KEY_FALLBACKS until the keys "
                        "sealed with it are replaced (`manage.py oidc_rotate_keys --all`, twice).",
                        id="oidc_flows.E007",
                    )
                )
    return messages
