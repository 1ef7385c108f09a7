"""Refresh Token grant (RFC 6749 §6): rotation, reuse detection (RFC 9700 §4.14.2), downscoping."""

from __future__ import annotations

import pytest
import requests

from tests.factories import make_client
from tests.support.oauth import AuthorizationRequest, location_params


SCOPE = "openid profile offline_access"


@pytest.fixture(params=["web", "spa"])
def client(request, transactional_db):
    return make_client(app_type=request.param)


@pytest.fixture
def first_tokens(browser, default_server, client) -> dict:
    auth = AuthorizationRequest(client, default_server, scope=SCOPE)
    response = auth.token_request(location_params(browser.authorize(auth.url))["code"])
    assert response.status_code == 200, response.text
    return response.json()


def refresh(server, client, refresh_token: str, **extra) -> requests.Response:
    data = {"grant_type": "refresh_token", "refresh_token": refresh_token, **extra}
    auth = (client.client_id, client.secret) if client.secret else None
    if auth is None:
        data["client_id"] = client.client_id
    return requests.post(server.endpoint_url("token"), data=data, auth=auth, timeout=10)


def userinfo_status(server, access_token: str) -> int:
    headers = {"Authorization": f"Bearer {access_token}"}
    return requests.get(server.endpoint_url("userinfo"), headers=headers, timeout=10).status_code


def test_refresh_rotates_the_refresh_token(default_server, client, first_tokens):
    response = refresh(default_server, client, first_tokens["refresh_token"])

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["refresh_token"] != first_tokens["refresh_token"]
    assert set(body["scope"].split()) == set(SCOPE.split())
    assert "id_token" in body
    assert userinfo_status(default_server, body["access_token"]) == 200


def test_reusing_a_rotated_refresh_token_revokes_the_family(default_server, client, first_tokens):
    second = refresh(default_server, client, first_tokens["refresh_token"]).json()

    replay = refresh(default_server, client, first_tokens["refresh_token"])

    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"
    assert refresh(default_server, client, second["refresh_token"]).json()["error"] == "invalid_grant"
    assert userinfo_status(default_server, second["access_token"]) == 401


def test_refresh_can_narrow_the_scopes(default_server, client, first_tokens):
    body = refresh(default_server, client, first_tokens["refresh_token"], scope="profile offline_access").json()

    assert body["scope"].split() == ["profile", "offline_access"]
    assert "id_token" not in body  # openid was left out
    assert "refresh_token" in body


def test_refresh_cannot_add_a_scope_it_never_had(default_server, client, first_tokens):
    response = refresh(default_server, client, first_tokens["refresh_token"], scope="openid email offline_access")

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_scope"


def test_dropping_offline_access_spends_the_refresh_token(default_server, client, first_tokens):
    body = refresh(default_server, client, first_tokens["refresh_token"], scope="openid").json()

    assert "refresh_token" not in body and "access_token" in body
    assert refresh(default_server, client, first_tokens["refresh_token"]).json()["error"] == "invalid_grant"


def test_refresh_token_is_bound_to_its_server(org_server, client, first_tokens):
    response = refresh(org_server, client, first_tokens["refresh_token"])

    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"


def test_refresh_token_is_bound_to_its_client(default_server, first_tokens, client):
    other = make_client(app_type=client.application_type)

    response = refresh(default_server, other, first_tokens["refresh_token"])

    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"


def introspect(server, client, token: str) -> dict:
    data = {"token": token}
    auth = (client.client_id, client.secret) if client.secret else None
    if auth is None:
        data["client_id"] = client.client_id
    response = requests.post(server.endpoint_url("introspect"), data=data, auth=auth, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def revoke(server, client, token: str) -> None:
    data = {"token": token}
    auth = (client.client_id, client.secret) if client.secret else None
    if auth is None:
        data["client_id"] = client.client_id
    assert requests.post(server.endpoint_url("revoke"), data=data, auth=auth, timeout=10).status_code == 200


@pytest.mark.parametrize("server_fixture", ["default_server", "org_server"])
def test_previous_access_tokens_outlive_refreshes_until_the_family_is_revoked(request, browser, client, server_fixture):
    # Seed 001: access tokens "can be reused until they expire"; DOT deleted the previous one on every refresh.
    server = request.getfixturevalue(server_fixture)
    auth = AuthorizationRequest(client, server, scope=SCOPE)
    first = auth.token_request(location_params(browser.authorize(auth.url))["code"]).json()
    second = refresh(server, client, first["refresh_token"]).json()
    third = refresh(server, client, second["refresh_token"]).json()
    issued = [first["access_token"], second["access_token"], third["access_token"]]

    assert [introspect(server, client, token)["active"] for token in issued] == [True, True, True]
    assert [userinfo_status(server, token) for token in issued] == [200, 200, 200]

    revoke(server, client, third["refresh_token"])  # RFC 7009 §2.1: the whole grant goes

    assert [introspect(server, client, token) for token in issued] == [{"active": False}] * 3
    assert [userinfo_status(server, token) for token in issued] == [401, 401, 401]
    assert refresh(server, client, third["refresh_token"]).json()["error"] == "invalid_grant"


def test_jwt_access_tokens_are_not_stored(default_server, client, first_tokens):
    from oidc_flows.models import AccessToken

    second = refresh(default_server, client, first_tokens["refresh_token"]).json()

    assert AccessToken.objects.filter(server=default_server).count() == 0  # a JWT proves itself
    assert introspect(default_server, client, second["access_token"])["active"] is True
