"""System checks (oidc_flows/checks.py): each unsafe configuration is reported with its id, a safe one is not."""

from __future__ import annotations

import pytest
from django.core import checks as django_checks
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from oidc_flows import checks
from oidc_flows.models import AuthorizationServer, SigningKey


SQLITE = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": "db.sqlite3"}}
POSTGRES = {"default": {"ENGINE": "django.db.backends.postgresql", "NAME": "idp"}}


def ids(messages: list[django_checks.CheckMessage]) -> list[str]:
    return [m.id for m in messages]


@pytest.fixture
def base_url(settings):
    def set_base_url(url: str) -> None:
        settings.OIDC_FLOWS = {**settings.OIDC_FLOWS, "BASE_URL": url}

    return set_base_url


@pytest.mark.parametrize(
    ("url", "debug", "expected"),
    [
        ("http://login.example.com", False, ["oidc_flows.W001"]),
        ("https://login.example.com", False, []),
        ("http://127.0.0.1:8000", False, []),  # loopback: development and tests
        ("http://login.example.com", True, []),
    ],
)
def test_w001_http_issuer_outside_debug(settings, base_url, url, debug, expected):
    settings.DEBUG = debug
    base_url(url)
    assert ids(checks.check_base_url()) == expected


def test_e001_unknown_oidc_flows_setting(settings):
    settings.OIDC_FLOWS = {**settings.OIDC_FLOWS, "BASE_URLS": "https://typo.example"}
    assert ids(checks.check_base_url()) == ["oidc_flows.E001"]


def test_e002_dot_models_not_swapped(settings):
    assert checks.check_swapped_models() == []
    settings.OAUTH2_PROVIDER_GRANT_MODEL = "oauth2_provider.Grant"
    assert ids(checks.check_swapped_models()) == ["oidc_flows.E002"]


@pytest.mark.parametrize(
    ("hashers", "expected"),
    [
        (["django.contrib.auth.hashers.PBKDF2PasswordHasher", checks.CLIENT_SECRET_HASHER], []),
        (["django.contrib.auth.hashers.PBKDF2PasswordHasher"], ["oidc_flows.E003"]),
        ([checks.CLIENT_SECRET_HASHER, "django.contrib.auth.hashers.PBKDF2PasswordHasher"], ["oidc_flows.E004"]),
    ],
)
def test_e003_e004_client_secret_hasher(settings, hashers, expected):
    settings.PASSWORD_HASHERS = hashers
    assert ids(checks.check_secret_hasher()) == expected


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://login.example.com", []),
        ("http://login.example.com", ["oidc_flows.E005"]),
        ("http://127.0.0.1:8000", ["oidc_flows.E005"]),  # the default when IDP_BASE_URL is forgotten
    ],
)
def test_e005_deploy_needs_an_https_issuer(base_url, url, expected):
    base_url(url)
    assert ids(checks.check_https_issuer()) == expected


def test_e005_is_a_deploy_check_only():
    registered = django_checks.registry.registry
    assert checks.check_https_issuer in registered.deployment_checks
    assert checks.check_https_issuer not in registered.registered_checks


@pytest.mark.filterwarnings("ignore:Overriding setting DATABASES")  # only read by the check, never connected
@pytest.mark.parametrize(
    ("url", "databases", "debug", "expected"),
    [
        ("https://login.example.com", SQLITE, True, ["oidc_flows.E006"]),
        ("http://127.0.0.1:8000", POSTGRES, True, ["oidc_flows.W002"]),
        ("https://login.example.com", POSTGRES, True, ["oidc_flows.E006", "oidc_flows.W002"]),
        ("http://127.0.0.1:8000", SQLITE, True, []),  # `make run`
        ("http://idp.lan:8000", SQLITE, True, []),  # development on a LAN or container host name
        ("https://login.example.com", POSTGRES, False, []),  # production
    ],
)
def test_e006_w002_debug_with_a_public_issuer_or_a_server_database(settings, base_url, url, databases, debug, expected):
    settings.DEBUG = debug
    settings.DATABASES = databases
    base_url(url)
    assert ids(checks.check_debug()) == expected


@pytest.mark.django_db
def test_w003_server_without_an_active_key():
    assert ids(checks.check_signing_keys(databases=["default"])) == []
    SigningKey.objects.filter(server__server_id="default", status="active").delete()
    messages = checks.check_signing_keys(databases=["default"])
    assert ids(messages) == ["oidc_flows.W003"]
    assert "'default'" in messages[0].msg


@pytest.mark.django_db
def test_e007_keys_sealed_with_another_secret_key(settings):
    settings.SECRET_KEY = "another-secret-key-" + "x" * 50  # no SECRET_KEY_FALLBACKS: the old one is gone
    messages = checks.check_signing_keys(databases=["default"])
    # Each server's active and next key (retired keys never sign again).
    assert ids(messages) == ["oidc_flows.E007"] * 2 * AuthorizationServer.objects.count()
    assert "SECRET_KEY_FALLBACKS" in messages[0].hint


@pytest.mark.django_db
def test_e007_not_reported_while_the_old_key_is_a_fallback(settings):
    old = settings.SECRET_KEY
    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = "another-secret-key-" + "x" * 50, [old]
    assert checks.check_signing_keys(databases=["default"]) == []


def test_signing_key_checks_run_only_with_a_database():
    assert checks.check_signing_keys(databases=None) == []


def test_check_deploy_fails_for_an_http_issuer(base_url):
    base_url("http://login.example.com")
    with pytest.raises(SystemCheckError, match="oidc_flows.E005"):
        call_command("check", "--deploy", "--fail-level", "ERROR")
