"""Fixtures of the security suite: the attacker's targets on the live IdP.

Scenario: the ``default`` server, alice with a browser session, a confidential web client that
skips consent (so a wrong answer would issue a code at once), a public SPA client, and a service
client whose token request proves the server still serves after an attack.
"""

from __future__ import annotations

import pytest
import requests

from oidc_flows.models import AuthorizationServer
from oidc_flows.resource import jwks as resource_jwks
from tests.factories import make_client, make_server
from tests.support.oauth import AuthorizationRequest, Browser, location_params


SCOPE = "openid profile offline_access"


@pytest.fixture
def web(user):
    return make_client(app_type="web", skip_consent=True)


@pytest.fixture
def spa(user):
    return make_client(app_type="spa", skip_consent=True)


@pytest.fixture
def service(transactional_db):
    return make_client(app_type="service")


@pytest.fixture
def payments(base_url) -> AuthorizationServer:
    return make_server("payments")


@pytest.fixture
def signed_in(browser: Browser) -> Browser:
    """Alice's browser with an IdP session: anything /authorize would issue, it issues at once."""
    response = browser.sign_in()
    assert response.status_code == 302, response.text[:300]
    return browser


@pytest.fixture
def still_serving(default_server, service):
    """Call after an attack: a real token request must still succeed (the server kept serving)."""

    def check() -> None:
        response = requests.post(
            default_server.endpoint_url("token"),
            data={"grant_type": "client_credentials"},
            auth=(service.client_id, service.secret),
            timeout=10,
        )
        assert response.status_code == 200, response.text[:300]
        assert response.json()["access_token"]

    return check


@pytest.fixture
def fresh_resource_keys():
    """The resource package caches JWKS per process; every test's database has new keys."""
    resource_jwks.keys.clear()
    resource_jwks.endpoints.clear()
    yield
    resource_jwks.keys.clear()
    resource_jwks.endpoints.clear()


def code_of(browser: Browser, auth: AuthorizationRequest) -> str:
    """Walk ``auth`` through the browser and return the code it brings back."""
    params = location_params(browser.authorize(auth.url))
    assert "code" in params, params
    return params["code"]


def tokens_for(browser: Browser, client, server: AuthorizationServer, scope: str = SCOPE) -> dict:
    """Tokens of an authorization code flow with PKCE, as a well-behaved client gets them."""
    auth = AuthorizationRequest(client, server, scope=scope)
    response = auth.token_request(code_of(browser, auth))
    assert response.status_code == 200, response.text[:300]
    return response.json()


def client_credentials(server: AuthorizationServer, client, **data) -> requests.Response:
    return requests.post(
        server.endpoint_url("token"),
        data={"grant_type": "client_credentials", **data},
        auth=(client.client_id, client.secret),
        timeout=10,
    )
