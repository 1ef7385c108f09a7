"""Forged and misplaced tokens (RFC 8725 §2.1, §3.1; RFC 9700 §4.10; RFC 6750 §3.1): `alg: none`,
HS256 signed with the public key, edited payloads and signatures, and tokens of another server.

Scenario: alice's real tokens from ``default`` (code flow with PKCE: a JWT access token and an ID
token), each forged five ways and presented where that kind of token is accepted: userinfo,
introspection, ``id_token_hint`` at /authorize and at logout, and the resource package (the demo
API at /api/demo/, which verifies JWTs with ``oidc_flows.resource``). A second server,
``payments``, issues the tokens that must not work at ``default``, and the other way round.
"""

from __future__ import annotations

import pytest
import requests

from tests.security.attacker import assert_json_error, forgeries
from tests.security.conftest import client_credentials, tokens_for
from tests.support.oauth import AuthorizationRequest, location_params


@pytest.fixture
def alice_tokens(signed_in, default_server, web) -> dict:
    return tokens_for(signed_in, web, default_server)


def userinfo(server, token: str) -> requests.Response:
    return requests.get(server.endpoint_url("userinfo"), headers={"Authorization": f"Bearer {token}"}, timeout=10)


def introspect(server, client, token: str) -> requests.Response:
    return requests.post(
        server.endpoint_url("introspect"), data={"token": token}, auth=(client.client_id, client.secret), timeout=10
    )


def demo_api(base_url: str, token: str) -> requests.Response:
    return requests.get(f"{base_url}/api/demo/whoami", headers={"Authorization": f"Bearer {token}"}, timeout=10)


def assert_invalid_bearer(response: requests.Response, forgery: str = "") -> None:
    # RFC 6750 §3.1: 401 invalid_token, told in the WWW-Authenticate challenge.
    assert response.status_code == 401, (forgery, response.status_code, response.text[:300])
    challenge = response.headers.get("WWW-Authenticate", "")
    assert challenge.startswith("Bearer") and 'error="invalid_token"' in challenge, (forgery, challenge)
    assert response.json()["error"] == "invalid_token", forgery


# -- forged tokens: each test tries every forgery (one live-server set-up instead of five) -------------------


def test_forged_access_tokens_are_refused_at_userinfo(default_server, alice_tokens):
    assert userinfo(default_server, alice_tokens["access_token"]).status_code == 200  # the real one works

    for forgery, forged in forgeries(alice_tokens["access_token"], default_server).items():
        response = userinfo(default_server, forged)
        assert_invalid_bearer(response, forgery)


def test_forged_access_tokens_introspect_as_inactive(default_server, web, alice_tokens):
    assert introspect(default_server, web, alice_tokens["access_token"]).json()["active"] is True

    for forgery, forged in forgeries(alice_tokens["access_token"], default_server).items():
        response = introspect(default_server, web, forged)
        assert response.status_code == 200 and response.json() == {"active": False}, forgery


def test_forged_access_tokens_are_refused_by_the_resource_package(
    base_url, default_server, service, fresh_resource_keys
):
    token = client_credentials(default_server, service).json()["access_token"]
    assert demo_api(base_url, token).status_code == 200  # the real one works

    for forgery, forged in forgeries(token, default_server).items():
        response = demo_api(base_url, forged)
        assert_invalid_bearer(response, forgery)


def test_forged_id_token_hints_are_refused_at_authorize(signed_in, default_server, web, alice_tokens):
    for forgery, forged in forgeries(alice_tokens["id_token"], default_server).items():
        auth = AuthorizationRequest(web, default_server, extra={"id_token_hint": forged, "prompt": "none"})
        params = location_params(signed_in.get(auth.url))
        assert params.get("error") == "invalid_request" and "code" not in params, (forgery, params)


def test_forged_id_token_hints_are_refused_at_logout(signed_in, default_server, alice_tokens):
    for forgery, forged in forgeries(alice_tokens["id_token"], default_server).items():
        response = signed_in.http.get(
            default_server.endpoint_url("logout"), params={"id_token_hint": forged}, allow_redirects=False, timeout=10
        )
        assert response.status_code == 400 and "Location" not in response.headers, forgery
        assert "could not be verified" in response.text, forgery


# -- tokens of another server -----------------------------------------------------------------------------


def test_an_access_token_of_another_server_is_refused_at_userinfo(default_server, org_server, payments, alice_tokens):
    assert_invalid_bearer(userinfo(payments, alice_tokens["access_token"]))
    assert_invalid_bearer(userinfo(org_server, alice_tokens["access_token"]))


def test_an_access_token_of_another_server_introspects_as_inactive(default_server, payments, service, web):
    token = client_credentials(payments, service).json()["access_token"]

    assert introspect(default_server, web, token).json() == {"active": False}


def test_an_access_token_of_another_server_is_refused_by_the_resource_package(
    base_url, payments, service, fresh_resource_keys
):
    token = client_credentials(payments, service).json()["access_token"]  # signed by payments, aud api://payments

    assert_invalid_bearer(demo_api(base_url, token))


def test_an_id_token_of_another_server_is_refused_as_id_token_hint(signed_in, payments, web, alice_tokens):
    auth = AuthorizationRequest(web, payments, extra={"id_token_hint": alice_tokens["id_token"]})

    params = location_params(signed_in.get(auth.url))

    assert params.get("error") == "invalid_request" and "code" not in params, params


def test_a_refresh_token_of_another_server_is_refused(payments, web, alice_tokens):
    response = requests.post(
        payments.endpoint_url("token"),
        data={"grant_type": "refresh_token", "refresh_token": alice_tokens["refresh_token"]},
        auth=(web.client_id, web.secret),
        timeout=10,
    )

    assert_json_error(response, "invalid_grant")


def test_an_access_token_is_not_an_id_token_hint(signed_in, default_server, web, alice_tokens):
    # Both are JWTs signed with the same keys; the access token's typ (at+jwt, RFC 9068 §4) tells them apart.
    auth = AuthorizationRequest(web, default_server, extra={"id_token_hint": alice_tokens["access_token"]})

    params = location_params(signed_in.get(auth.url))

    assert params.get("error") == "invalid_request" and "code" not in params, params
