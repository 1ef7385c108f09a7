"""A token request's own parameters cannot pose as what the server decided (auth_time, acr, grant, ...).

oauthlib exposes every request parameter as an attribute of its request object, so a parameter named
like the state the validator keeps there (``acr``, ``auth_time``, ``grant``, ``dpop_proof``...) would
be read in its place. Scenario: a trusted web client (password grant, refresh tokens) and a service
send such parameters; the tokens carry the server's values and nothing fails.
"""

from __future__ import annotations

import pytest
import requests

from tests.factories import PASSWORD, make_client
from tests.support.dpop import claims_of


STATE_NAMES = (
    "user",
    "token_family",
    "auth_time",
    "amr",
    "acr",
    "grant",
    "access_decision",
    "access_token_payload",
    "refresh_token_instance",
    "reused_token_family",
    "dpop_proof",
)


@pytest.fixture
def portal(user):
    return make_client(app_type="web", grant_types=["authorization_code", "password", "refresh_token"])


@pytest.mark.parametrize("server_fixture", ["default_server", "org_server"])
def test_state_named_parameters_are_ignored_by_client_credentials(request, server_fixture, transactional_db):
    server = request.getfixturevalue(server_fixture)
    service = make_client(app_type="service")
    forged = dict.fromkeys(STATE_NAMES, "1")

    response = requests.post(
        server.endpoint_url("token"),
        data={"grant_type": "client_credentials", **forged},
        auth=(service.client_id, service.secret),
        timeout=10,
    )

    assert response.status_code == 200, response.text
    assert response.json()["token_type"] == "Bearer"
    if server.issues_jwt_access_tokens:
        claims = claims_of(response.json()["access_token"])
        assert claims["sub"] == service.client_id and "auth_time" not in claims and "uid" not in claims


def test_a_refresh_cannot_set_acr_or_auth_time(default_server, portal):
    url = default_server.endpoint_url("token")
    auth = (portal.client_id, portal.secret)
    data = {"grant_type": "password", "username": "alice", "password": PASSWORD, "scope": "openid offline_access"}
    first = requests.post(url, data=data, auth=auth, timeout=10).json()
    signed_in_at = claims_of(first["id_token"])["auth_time"]

    forged = {"acr": "urn:forged", "amr": "hwk", "auth_time": "1", "grant": "1", "token_family": "1"}
    response = requests.post(
        url,
        data={"grant_type": "refresh_token", "refresh_token": first["refresh_token"], **forged},
        auth=auth,
        timeout=10,
    )

    assert response.status_code == 200, response.text
    id_token = claims_of(response.json()["id_token"])
    assert abs(id_token["auth_time"] - signed_in_at) <= 2  # the sign-in's (to the second), not the body's 1
    assert id_token["acr"] != "urn:forged" and id_token["amr"] == ["pwd"]
    assert claims_of(response.json()["access_token"]).get("auth_time") != 1
