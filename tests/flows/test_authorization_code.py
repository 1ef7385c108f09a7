"""Authorization Code (RFC 6749 §4.1) with and without PKCE (RFC 7636), over HTTP against a live server.

Scenario: alice signs in on the hosted page, consents, and the client redeems the code with Authlib.
Tokens are verified with joserfc against the server's JWKS, as a relying party would.
"""

from __future__ import annotations

import pytest
import requests

from tests.factories import make_client
from tests.support.jose import half_hash, verify_jwt
from tests.support.oauth import AuthorizationRequest, location_params


@pytest.mark.parametrize("app_type", ["spa", "native"])
def test_public_client_with_pkce_gets_verifiable_tokens(browser, default_server, app_type):
    client = make_client(app_type=app_type)
    auth = AuthorizationRequest(client, default_server, scope="openid profile email offline_access")

    redirect = browser.authorize(auth.url)
    params = location_params(redirect)
    assert params["state"] == auth.state
    assert params["iss"] == default_server.issuer  # RFC 9207
    token = auth.exchange(redirect)

    assert token.keys() >= {"access_token", "id_token", "refresh_token", "expires_in", "token_type"}
    id_claims = verify_jwt(
        token["id_token"],
        jwks_url=default_server.endpoint_url("keys"),
        issuer=default_server.issuer,
        audience=client.client_id,
    )
    assert id_claims["nonce"] == auth.nonce
    assert id_claims["at_hash"] == half_hash(token["access_token"])
    assert id_claims["email"] == "alice@example.com"
    access = verify_jwt(
        token["access_token"],
        jwks_url=default_server.endpoint_url("keys"),
        issuer=default_server.issuer,
        audience="api://default",
        typ="at+jwt",
    )
    assert access["client_id"] == client.client_id
    assert access["sub"] == id_claims["sub"]
    assert set(access["scope"].split()) == {"openid", "profile", "email", "offline_access"}


def test_userinfo_returns_claims_of_granted_scopes(browser, default_server):
    client = make_client(app_type="spa")
    auth = AuthorizationRequest(client, default_server, scope="openid profile email")
    token = auth.exchange(browser.authorize(auth.url))

    response = requests.get(
        default_server.endpoint_url("userinfo"),
        headers={"Authorization": f"Bearer {token['access_token']}"},
        timeout=10,
    )

    assert response.status_code == 200, response.text
    claims = response.json()
    assert claims["preferred_username"] == "alice"
    assert claims["email"] == "alice@example.com"
    assert claims["email_verified"] is True
    assert "phone_number" not in claims and "address" not in claims
