"""Resource Owner Password (RFC 6749 §4.3) and Client Credentials (§4.4), driven by Authlib.

Scenario: a trusted web client (the administrator enabled the password grant) and a service.
"""

from __future__ import annotations

import pytest
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.requests_client import OAuth2Session

from tests.factories import PASSWORD, make_client
from tests.support.jose import verify_jwt


@pytest.fixture
def trusted_web(transactional_db):
    return make_client(app_type="web", grant_types=["authorization_code", "password", "refresh_token"])


def test_password_grant_returns_the_tokens_its_scopes_ask_for(user, default_server, trusted_web):
    session = OAuth2Session(trusted_web.client_id, trusted_web.secret, scope="openid email offline_access")

    token = session.fetch_token(default_server.endpoint_url("token"), username="alice", password=PASSWORD)

    claims = verify_jwt(
        token["id_token"],
        jwks_url=default_server.endpoint_url("keys"),
        issuer=default_server.issuer,
        audience=trusted_web.client_id,
    )
    assert claims["email"] == "alice@example.com" and "nonce" not in claims
    assert "refresh_token" in token
    refreshed = session.refresh_token(default_server.endpoint_url("token"), refresh_token=token["refresh_token"])
    assert refreshed["refresh_token"] != token["refresh_token"]


def test_password_grant_with_a_wrong_password_is_invalid_grant(user, default_server, trusted_web):
    session = OAuth2Session(trusted_web.client_id, trusted_web.secret, scope="openid")

    with pytest.raises(OAuthError) as error:
        session.fetch_token(default_server.endpoint_url("token"), username="alice", password="wrong")

    assert error.value.error == "invalid_grant"


def test_client_credentials_gives_an_access_token_only(default_server, transactional_db):
    service = make_client(app_type="service")
    session = OAuth2Session(service.client_id, service.secret)

    token = session.fetch_token(default_server.endpoint_url("token"), grant_type="client_credentials")

    assert set(token) >= {"access_token", "expires_in", "token_type"}
    assert "refresh_token" not in token and "id_token" not in token
    claims = verify_jwt(
        token["access_token"],
        jwks_url=default_server.endpoint_url("keys"),
        issuer=default_server.issuer,
        audience="api://default",
        typ="at+jwt",
    )
    assert claims["sub"] == service.client_id and "uid" not in claims


@pytest.mark.parametrize("scope", ["openid", "offline_access", "profile email"])
def test_client_credentials_cannot_ask_for_user_scopes(default_server, transactional_db, scope):
    service = make_client(app_type="service")
    session = OAuth2Session(service.client_id, service.secret, scope=scope)

    with pytest.raises(OAuthError) as error:
        session.fetch_token(default_server.endpoint_url("token"), grant_type="client_credentials")

    assert error.value.error == "invalid_scope"
