"""Authorization code attacks (RFC 6749 §4.1.2, §4.1.3; RFC 9700 §4.5): a code works once, for its
client, at its server, with its redirect_uri.

Scenario: ``default`` server, alice signed in, a confidential web client that skips consent. The
20-concurrent-redemptions race on PostgreSQL is tests/production/test_concurrency.py.
"""

from __future__ import annotations

import requests

from tests.factories import make_client
from tests.security.attacker import assert_json_error
from tests.security.conftest import SCOPE, code_of
from tests.support.oauth import AuthorizationRequest


def userinfo(server, access_token: str) -> requests.Response:
    return requests.get(server.endpoint_url("userinfo"), headers={"Authorization": f"Bearer {access_token}"})


def refresh(server, client, refresh_token: str) -> requests.Response:
    data = {"grant_type": "refresh_token", "refresh_token": refresh_token}
    return requests.post(server.endpoint_url("token"), data=data, auth=(client.client_id, client.secret))


def test_a_replayed_code_is_refused(signed_in, default_server, web):
    auth = AuthorizationRequest(web, default_server, scope=SCOPE)
    code = code_of(signed_in, auth)
    assert auth.token_request(code).status_code == 200

    assert_json_error(auth.token_request(code), "invalid_grant")


def test_a_replayed_code_revokes_the_tokens_of_its_first_use(signed_in, default_server, web):
    # RFC 6749 §4.1.2: "SHOULD revoke (when possible) all tokens previously issued based on that code".
    auth = AuthorizationRequest(web, default_server, scope=SCOPE)
    code = code_of(signed_in, auth)
    first = auth.token_request(code).json()
    assert userinfo(default_server, first["access_token"]).status_code == 200

    auth.token_request(code)

    assert userinfo(default_server, first["access_token"]).status_code == 401
    assert_json_error(refresh(default_server, web, first["refresh_token"]), "invalid_grant")


def test_a_code_of_another_client_is_refused(signed_in, default_server, web):
    thief = make_client(app_type="web")
    auth = AuthorizationRequest(web, default_server)
    code = code_of(signed_in, auth)

    response = auth.token_request(code, auth=(thief.client_id, thief.secret))

    assert_json_error(response, "invalid_grant")
    assert auth.token_request(code).status_code == 200  # the thief's attempt did not spend it


def test_a_code_of_another_server_is_refused(signed_in, default_server, payments, web):
    auth = AuthorizationRequest(web, default_server)
    code = code_of(signed_in, auth)

    response = requests.post(
        payments.endpoint_url("token"),
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": auth.redirect_uri,
            "code_verifier": auth.code_verifier,
        },
        auth=(web.client_id, web.secret),
    )

    assert_json_error(response, "invalid_grant")


def test_a_made_up_code_is_refused(web, default_server):
    auth = AuthorizationRequest(web, default_server)

    assert_json_error(auth.token_request("x" * 30), "invalid_grant")


def test_a_code_with_the_wrong_client_secret_is_refused(signed_in, default_server, web):
    auth = AuthorizationRequest(web, default_server)
    code = code_of(signed_in, auth)

    response = auth.token_request(code, auth=(web.client_id, web.secret + "x"))

    assert_json_error(response, "invalid_client", status=401)
    assert response.headers["WWW-Authenticate"].startswith("Basic")
