"""state and nonce (RFC 6749 §4.1.2, §10.12; RFC 9700 §4.7; OIDC Core §3.1.2.1, §3.2.2.1, §3.1.3.7):
state comes back exactly, on success and on error; the ID token carries the request's nonce; an ID
token from /authorize is never issued without one.

Scenario: ``default`` server, alice signed in; a web client that skips consent, allowed the
implicit grant for the hybrid and implicit cases.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest

from oidc_flows.models import Grant
from tests.factories import make_client
from tests.security.conftest import code_of
from tests.support.jose import verify_jwt
from tests.support.oauth import AuthorizationRequest, location_params


STATES = ["a b&c=d/e?f#g", "ünïcode-☃", "x" * 512]


def without(url: str, name: str) -> str:
    parts = urlsplit(url)
    return parts._replace(query=urlencode([(k, v) for k, v in parse_qsl(parts.query) if k != name])).geturl()


@pytest.fixture
def implicit_web(user):
    return make_client(app_type="web", grant_types=["authorization_code", "implicit"], skip_consent=True)


def test_state_comes_back_exactly_with_the_code(signed_in, default_server, web):
    for state in STATES:
        auth = AuthorizationRequest(web, default_server, extra={"state": state})
        params = location_params(signed_in.get(auth.url))
        assert "code" in params and params["state"] == state, state


def test_state_comes_back_exactly_with_an_error(signed_in, default_server, web):
    auth = AuthorizationRequest(web, default_server, scope="openid bogus", extra={"state": STATES[0]})

    params = location_params(signed_in.get(auth.url))

    assert params["error"] == "invalid_scope" and params["state"] == STATES[0]


def test_the_id_token_carries_the_nonce_of_the_request(signed_in, default_server, web):
    auth = AuthorizationRequest(web, default_server)
    token = auth.token_request(code_of(signed_in, auth)).json()

    claims = verify_jwt(
        token["id_token"],
        jwks_url=default_server.endpoint_url("keys"),
        issuer=default_server.issuer,
        audience=web.client_id,
    )

    assert claims["nonce"] == auth.nonce


def test_a_code_flow_without_nonce_gets_an_id_token_without_nonce(signed_in, default_server, web):
    auth = AuthorizationRequest(web, default_server)
    params = location_params(signed_in.get(without(auth.url, "nonce")))

    token = auth.token_request(params["code"]).json()

    claims = verify_jwt(
        token["id_token"],
        jwks_url=default_server.endpoint_url("keys"),
        issuer=default_server.issuer,
        audience=web.client_id,
    )
    assert "nonce" not in claims  # nothing for an attacker to replay as someone else's


def test_an_id_token_from_authorize_requires_a_nonce(signed_in, default_server, implicit_web):
    for response_type in ("id_token", "id_token token", "code id_token", "code id_token token"):
        auth = AuthorizationRequest(implicit_web, default_server, response_type=response_type)
        params = location_params(signed_in.get(without(auth.url, "nonce")))
        assert params.get("error") == "invalid_request", (response_type, params)
        assert "nonce" in params["error_description"] and params.get("state") == auth.state
        assert not params.keys() & {"code", "id_token", "access_token"}, response_type
    assert not Grant.objects.exists()


@pytest.mark.parametrize("response_type", ["id_token", "code id_token"])
def test_an_id_token_from_authorize_carries_the_nonce(signed_in, default_server, implicit_web, response_type):
    auth = AuthorizationRequest(implicit_web, default_server, response_type=response_type)

    params = location_params(signed_in.get(auth.url))

    claims = verify_jwt(
        params["id_token"],
        jwks_url=default_server.endpoint_url("keys"),
        issuer=default_server.issuer,
        audience=implicit_web.client_id,
    )
    assert claims["nonce"] == auth.nonce and params["state"] == auth.state
