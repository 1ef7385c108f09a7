"""Shared fixtures: a live IdP whose BASE_URL is the live server, users, clients and a browser."""

from __future__ import annotations

import pytest

from oidc_flows.models import AuthorizationServer
from tests.factories import make_user
from tests.support.oauth import Browser


@pytest.fixture(autouse=True)
def fast_password_hashing(settings) -> None:
    """PBKDF2 costs ~0.5 s per sign-in here; tests sign in hundreds of times. Client secrets keep their hasher."""
    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.MD5PasswordHasher",
        "oidc_flows.hashers.ClientSecretHasher",
    ]


@pytest.fixture
def base_url(live_server, settings) -> str:
    """The live server's URL, which is also the IdP's BASE_URL (issuers are built from it)."""
    settings.OIDC_FLOWS = {**settings.OIDC_FLOWS, "BASE_URL": live_server.url}
    return live_server.url


@pytest.fixture
def default_server(base_url) -> AuthorizationServer:
    return AuthorizationServer.objects.get(server_id="default")


@pytest.fixture
def org_server(base_url) -> AuthorizationServer:
    return AuthorizationServer.objects.get(is_org=True)


@pytest.fixture
def user(transactional_db):
    return make_user()


@pytest.fixture
def browser(base_url, user) -> Browser:
    return Browser(base_url)
