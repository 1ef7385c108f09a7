"""PKCE downgrade attacks (RFC 7636; RFC 9700 §2.1.1, §4.8.2): S256 only, and a verifier only
for a code that was bound to a challenge.

Scenario: ``default`` server, alice signed in; a public SPA client (PKCE required) and a
confidential web client (PKCE optional), both skipping consent.
"""

from __future__ import annotations

import pytest
from authlib.common.security import generate_token
from authlib.oauth2.rfc7636 import create_s256_code_challenge

from oidc_flows.models import Grant
from tests.security.attacker import assert_json_error
from tests.security.conftest import code_of
from tests.support.oauth import AuthorizationRequest, location_params


def assert_refused_at_client(response, auth: AuthorizationRequest, error: str = "invalid_request") -> None:
    assert response.status_code == 302, (response.status_code, response.text[:300])
    assert response.headers["Location"].startswith(auth.redirect_uri)
    params = location_params(response)
    assert params.get("error") == error and "code" not in params, params
    assert params.get("state") == auth.state


@pytest.mark.parametrize("client", ["spa", "web"])
def test_the_plain_method_is_refused(request, signed_in, default_server, client):
    client = request.getfixturevalue(client)
    verifier = generate_token(48)
    challenge = {"code_challenge": verifier, "code_challenge_method": "plain"}
    auth = AuthorizationRequest(client, default_server, pkce=False, extra=challenge)

    assert_refused_at_client(signed_in.get(auth.url), auth)
    assert not Grant.objects.exists()


def test_a_challenge_without_a_method_is_refused(signed_in, default_server, spa):
    # RFC 7636 §4.3: no method means "plain", which we do not accept.
    auth = AuthorizationRequest(spa, default_server, pkce=False, extra={"code_challenge": generate_token(48)})

    assert_refused_at_client(signed_in.get(auth.url), auth)


def test_a_public_client_without_a_challenge_is_refused(signed_in, default_server, spa):
    auth = AuthorizationRequest(spa, default_server, pkce=False)

    assert_refused_at_client(signed_in.get(auth.url), auth)
    assert not Grant.objects.exists()


@pytest.mark.parametrize("client", ["spa", "web"])
def test_a_missing_verifier_is_refused(request, signed_in, default_server, client):
    client = request.getfixturevalue(client)
    auth = AuthorizationRequest(client, default_server)
    code = code_of(signed_in, auth)
    auth.code_verifier = None

    assert_json_error(auth.token_request(code), "invalid_request")


@pytest.mark.parametrize("client", ["spa", "web"])
def test_a_wrong_verifier_is_refused(request, signed_in, default_server, client):
    client = request.getfixturevalue(client)
    auth = AuthorizationRequest(client, default_server)
    code = code_of(signed_in, auth)

    assert_json_error(auth.token_request(code, code_verifier=generate_token(48)), "invalid_grant")


def test_the_challenge_itself_is_not_a_verifier(signed_in, default_server, spa):
    auth = AuthorizationRequest(spa, default_server)
    code = code_of(signed_in, auth)

    response = auth.token_request(code, code_verifier=create_s256_code_challenge(auth.code_verifier))

    assert_json_error(response, "invalid_grant")


def test_a_verifier_for_a_code_without_a_challenge_is_refused(signed_in, default_server, web):
    # RFC 9700 §4.8.2: a code_verifier for a code issued without code_challenge is the PKCE downgrade attack.
    auth = AuthorizationRequest(web, default_server, pkce=False)
    code = code_of(signed_in, auth)

    assert_json_error(auth.token_request(code, code_verifier=generate_token(48)), "invalid_grant")


def test_a_code_without_a_challenge_works_for_a_web_client_without_a_verifier(signed_in, default_server, web):
    auth = AuthorizationRequest(web, default_server, pkce=False)

    assert auth.token_request(code_of(signed_in, auth)).status_code == 200
