"""CORS at /token and /userinfo, over HTTP, as a browser would ask (oidc_flows/views/cors.py).

Scenario: the `spa` application registered its origin (the SPA's, http on 127.0.0.1); the other clients
registered none. A grant names the origin (never ``*``), only for the application the request concerns.
"""

from __future__ import annotations

import pytest
import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session

from oidc_flows.models import Application
from tests.support.oauth import Browser


FOREIGN = "https://evil.example"


@pytest.fixture(scope="module")
def spa_origin(idp) -> str:
    return idp.clients["spa"].redirect_uri.rsplit("/", 1)[0]


@pytest.fixture(scope="module")
def spa_access_token(idp) -> str:
    client = idp.clients["spa"]
    session = OAuth2Session(
        client.client_id,
        scope="openid email",
        redirect_uri=client.redirect_uri,
        code_challenge_method="S256",
        token_endpoint_auth_method="none",
    )
    with session:
        verifier = generate_token(48)
        url, state = session.create_authorization_url(
            idp.endpoint("authorize"), code_verifier=verifier, nonce=generate_token(20)
        )
        redirect = Browser(idp.base_url).authorize(url, password=idp.password)
        token = session.fetch_token(
            idp.endpoint("token"),
            authorization_response=redirect.headers["Location"],
            state=state,
            code_verifier=verifier,
            grant_type="authorization_code",
        )
    return token["access_token"]


@pytest.fixture(scope="module")
def service_access_token(idp) -> str:
    client = idp.clients["service"]
    with OAuth2Session(client.client_id, client.secret) as session:
        return session.fetch_token(idp.endpoint("token"), grant_type="client_credentials")["access_token"]


def preflight(url: str, origin: str, headers: str = "authorization") -> requests.Response:
    return requests.options(
        url,
        headers={"Origin": origin, "Access-Control-Request-Method": "GET", "Access-Control-Request-Headers": headers},
        timeout=10,
    )


def test_userinfo_preflight_allows_the_authorization_header_for_a_registered_origin(idp, spa_origin):
    response = preflight(idp.endpoint("userinfo"), spa_origin)

    assert response.status_code == 204
    assert response.headers["Access-Control-Allow-Origin"] == spa_origin
    assert "authorization" in response.headers["Access-Control-Allow-Headers"].lower()
    assert "GET" in response.headers["Access-Control-Allow-Methods"]
    assert "origin" in response.headers["Vary"].lower()


@pytest.mark.parametrize("origin", [FOREIGN, "null", "http://127.0.0.1"])
def test_preflight_from_an_unregistered_origin_is_not_granted(idp, origin):
    for endpoint in ("userinfo", "token"):
        response = preflight(idp.endpoint(endpoint), origin)

        assert response.status_code == 204
        assert "Access-Control-Allow-Origin" not in response.headers
        assert "Access-Control-Allow-Headers" not in response.headers


def test_userinfo_answers_the_spa_origin_by_name(idp, spa_origin, spa_access_token):
    response = requests.get(
        idp.endpoint("userinfo"),
        headers={"Origin": spa_origin, "Authorization": f"Bearer {spa_access_token}"},
        timeout=10,
    )

    assert response.status_code == 200
    assert response.json()["email"] == "alice@example.com"
    assert response.headers["Access-Control-Allow-Origin"] == spa_origin
    assert "origin" in response.headers["Vary"].lower()


def test_userinfo_grants_nothing_to_a_foreign_origin(idp, spa_access_token):
    response = requests.get(
        idp.endpoint("userinfo"), headers={"Origin": FOREIGN, "Authorization": f"Bearer {spa_access_token}"}, timeout=10
    )

    assert response.status_code == 200  # CORS is the browser's lock: the page just cannot read this
    assert "Access-Control-Allow-Origin" not in response.headers


def test_another_applications_token_gets_no_grant_for_the_spa_origin(idp, spa_origin, service_access_token):
    response = requests.get(
        idp.endpoint("userinfo"),
        headers={"Origin": spa_origin, "Authorization": f"Bearer {service_access_token}"},
        timeout=10,
    )

    assert response.status_code in (401, 403)
    assert "Access-Control-Allow-Origin" not in response.headers


def test_token_errors_are_readable_by_the_registered_origin(idp, spa_origin):
    data = {"grant_type": "authorization_code", "code": "no-such-code", "client_id": "spa", "code_verifier": "x" * 43}
    response = requests.post(idp.endpoint("token"), data=data, headers={"Origin": spa_origin}, timeout=10)

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"
    assert response.headers["Access-Control-Allow-Origin"] == spa_origin


def test_malformed_token_requests_are_answered_readably_to_the_registered_origin(idp, spa_origin):
    """Errors raised before the grant logic (a repeated parameter, RFC 6749 §3.1) reach the SPA's script too."""
    body = "grant_type=authorization_code&code=a&code=b&client_id=spa"
    headers = {"Origin": spa_origin, "Content-Type": "application/x-www-form-urlencoded"}
    response = requests.post(idp.endpoint("token"), data=body, headers=headers, timeout=10)

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    assert response.headers["Access-Control-Allow-Origin"] == spa_origin


def test_token_grants_nothing_to_a_foreign_origin(idp):
    data = {"grant_type": "authorization_code", "code": "no-such-code", "client_id": "spa", "code_verifier": "x" * 43}
    response = requests.post(idp.endpoint("token"), data=data, headers={"Origin": FOREIGN}, timeout=10)

    assert response.status_code == 400
    assert "Access-Control-Allow-Origin" not in response.headers


def test_a_client_that_registered_no_origin_gets_no_grant(idp, spa_origin):
    client = idp.clients["service"]
    response = requests.post(
        idp.endpoint("token"),
        data={"grant_type": "client_credentials"},
        auth=(client.client_id, client.secret),
        headers={"Origin": spa_origin},
        timeout=10,
    )

    assert response.status_code == 200
    assert "Access-Control-Allow-Origin" not in response.headers


@pytest.mark.parametrize(
    ("origin", "allowed"),
    [
        ("https://app.example", True),
        ("http://127.0.0.1:3000", True),
        ("http://app.example", False),  # registered, but plain http off loopback is never trusted
        ("https://app.example:8443", False),  # another port is another origin
        ("https://app.example.evil", False),
        ("null", False),
    ],
)
def test_application_origin_allowed(origin, allowed):
    client = Application(allowed_origins="https://app.example http://127.0.0.1:3000 http://app.example")

    assert client.origin_allowed(origin) is allowed
