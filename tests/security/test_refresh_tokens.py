"""Refresh token attacks (RFC 6749 §6; RFC 9700 §4.14.2): no scope escalation, and a stolen token
replayed after rotation revokes the whole family.

Scenario: ``default`` server, alice signed in, a web client and a SPA (public: rotation is its only
protection) that skip consent; tokens for ``openid profile offline_access``.
"""

from __future__ import annotations

import pytest
import requests

from tests.security.attacker import assert_json_error
from tests.security.conftest import tokens_for


@pytest.fixture(params=["web", "spa"])
def client(request):
    return request.getfixturevalue(request.param)


@pytest.fixture
def first(signed_in, default_server, client) -> dict:
    return tokens_for(signed_in, client, default_server)


def refresh(server, client, refresh_token: str, **extra) -> requests.Response:
    data = {"grant_type": "refresh_token", "refresh_token": refresh_token, **extra}
    if client.secret:
        return requests.post(server.endpoint_url("token"), data=data, auth=(client.client_id, client.secret))
    return requests.post(server.endpoint_url("token"), data=data | {"client_id": client.client_id})


def userinfo_status(server, access_token: str) -> int:
    headers = {"Authorization": f"Bearer {access_token}"}
    return requests.get(server.endpoint_url("userinfo"), headers=headers, timeout=10).status_code


def test_a_refresh_cannot_add_scopes(default_server, client, first):
    # RFC 6749 §6: "MUST NOT include any scope not originally granted by the resource owner".
    for scope in ("openid profile email offline_access", "openid phone", "payments:write"):
        assert_json_error(
            refresh(default_server, client, first["refresh_token"], scope=scope), "invalid_scope", case=scope
        )


def test_a_refused_escalation_does_not_spend_the_refresh_token(default_server, client, first):
    refresh(default_server, client, first["refresh_token"], scope="openid email offline_access")

    assert refresh(default_server, client, first["refresh_token"]).status_code == 200


def test_a_refresh_token_replayed_after_rotation_revokes_the_family(default_server, client, first):
    rotated = refresh(default_server, client, first["refresh_token"]).json()

    replay = refresh(default_server, client, first["refresh_token"])  # the attacker's stolen copy

    assert_json_error(replay, "invalid_grant")
    assert_json_error(refresh(default_server, client, rotated["refresh_token"]), "invalid_grant")
    assert userinfo_status(default_server, rotated["access_token"]) == 401


def test_a_refresh_token_of_another_client_is_refused(default_server, client, first, user):
    from tests.factories import make_client

    thief = make_client(app_type=client.application_type)

    assert_json_error(refresh(default_server, thief, first["refresh_token"]), "invalid_grant")
    assert refresh(default_server, client, first["refresh_token"]).status_code == 200  # not spent by the thief
