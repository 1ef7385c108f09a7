"""The ``claims`` request parameter (OIDC Core §5.5), over HTTP against a live server.

Scenario: a client asks, with the ``openid`` scope only, for ``name`` in the ID token (essential), for
``email`` from userinfo and for an ``acr`` level; tokens are verified with joserfc.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import requests

from tests.factories import make_client
from tests.support.jose import verify_jwt
from tests.support.oauth import AuthorizationRequest, location_params


@pytest.fixture
def web(transactional_db):
    return make_client()


@pytest.fixture
def closing() -> Iterator[list]:
    """Client sessions to close before the live server goes (a kept-alive one would outlive the database)."""
    opened: list = []
    yield opened
    for session in opened:
        session.close()


def request_claims(web, server, closing, claims: object, scope: str = "openid offline_access") -> AuthorizationRequest:
    value = claims if isinstance(claims, str) else json.dumps(claims)
    auth = AuthorizationRequest(web, server, scope=scope, extra={"claims": value})
    closing.append(auth.session)
    return auth


def test_requested_claims_come_back_where_asked(browser, default_server, web, closing):
    asked = {
        "id_token": {"name": {"essential": True}, "acr": {"values": ["urn:okta:loa:1fa:any"]}, "nickname": None},
        "userinfo": {"email": None, "bogus_claim": {"essential": True}},
    }
    auth = request_claims(web, default_server, closing, asked)
    token = auth.exchange(browser.authorize(auth.url))
    keys = {"jwks_url": default_server.endpoint_url("keys"), "issuer": default_server.issuer}

    id_claims = verify_jwt(token["id_token"], audience=web.client_id, **keys)
    assert id_claims["name"] == "Alice Liddell"  # beyond what scope=openid releases
    assert id_claims["acr"] == "urn:okta:loa:1fa:any"  # the asked level, which the password sign-in meets
    assert "nickname" not in id_claims and "email" not in id_claims  # alice has none; email was for userinfo
    userinfo = requests.get(
        default_server.endpoint_url("userinfo"),
        headers={"Authorization": f"Bearer {token['access_token']}"},
        timeout=10,
    ).json()
    assert userinfo == {"sub": id_claims["sub"], "email": "alice@example.com"}

    # Every token of the authorization honours it: the refreshed ID token too.
    refreshed = auth.session.refresh_token(default_server.endpoint_url("token"), refresh_token=token["refresh_token"])
    assert verify_jwt(refreshed["id_token"], audience=web.client_id, **keys)["name"] == "Alice Liddell"


@pytest.mark.parametrize(
    "claims",
    [
        "{not json",
        "[]",
        '{"id_token": ["name"]}',
        '{"userinfo": {"email": true}}',
        '{"id_token": {"acr": {"values": "x"}}}',
    ],
)
def test_a_malformed_claims_parameter_is_invalid_request_at_the_redirect_uri(
    base_url, default_server, web, closing, claims
):
    auth = request_claims(web, default_server, closing, claims, scope="openid")

    response = requests.get(auth.url, allow_redirects=False, timeout=10)

    assert response.status_code == 302 and response.headers["Location"].startswith(web.redirect_uris)
    params = location_params(response)
    assert (params["error"], params["state"]) == ("invalid_request", auth.state), params


def test_an_essential_acr_we_cannot_satisfy_is_a_failed_authentication(browser, default_server, web, closing):
    auth = request_claims(web, default_server, closing, {"id_token": {"acr": {"essential": True, "values": ["urn:x"]}}})

    params = location_params(browser.authorize(auth.url))

    assert params["error"] == "access_denied" and params["state"] == auth.state


def test_discovery_advertises_the_claims_parameter_and_both_subject_types(base_url, default_server):
    metadata = requests.get(f"{default_server.issuer}/.well-known/openid-configuration", timeout=10).json()

    assert metadata["claims_parameter_supported"] is True
    assert metadata["subject_types_supported"] == ["public", "pairwise"]
    assert {"name", "email", "acr", "sub"} <= set(metadata["claims_supported"])
