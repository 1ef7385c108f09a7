"""The API asks the IdP about every token (RFC 7662), so it sees revocation at once.

Scenario: the API authenticates to the IdP as ``reports-api`` (a service client of its own) and
introspects the tokens that the ``reports-job`` service presents.
"""

from __future__ import annotations

import logging

import pytest

from tests.resource.test_jwt_mode import assert_invalid_token, get


pytestmark = pytest.mark.usefixtures("introspection_mode")


@pytest.mark.parametrize("path", ["/api/reports", "/plain/reports"])
def test_an_active_token_is_accepted(client, idp, path):
    response = get(client, path, idp.token("reports:read"))

    assert response.status_code == 200, response.content
    assert response.json()["for"] == idp.job.client_id


def test_the_token_user_comes_from_the_introspection_answer(client, idp):
    response = get(client, "/api/whoami", idp.token("reports:read"))

    assert response.json() == {
        "sub": idp.job.client_id,
        "client_id": idp.job.client_id,
        "scopes": ["reports:read"],
        "auth_iss": idp.issuer(),
    }


@pytest.mark.parametrize("path", ["/api/reports", "/plain/reports"])
def test_a_revoked_token_is_refused_at_once(client, idp, path):
    token = idp.token("reports:read")
    assert get(client, path, token).status_code == 200

    idp.revoke(token)

    response = get(client, path, token)
    assert_invalid_token(response, token)
    assert response.json()["error_description"] == "The access token is not active."


def test_a_missing_scope_is_403(client, idp):
    response = get(client, "/api/reports", idp.token("reports:write"))

    assert response.status_code == 403 and response.json()["error"] == "insufficient_scope"


def test_a_token_of_another_server_is_inactive_here(client, idp):
    token = idp.token("reports:read", server="other")

    assert_invalid_token(get(client, "/api/reports", token), token)


def test_org_server_tokens_with_endpoints_from_discovery(client, idp, settings):
    # The org server's endpoints are not under its issuer: only discovery finds them.
    settings.OIDC_RESOURCE |= {"ISSUER": idp.issuer("org"), "AUDIENCE": idp.issuer("org")}
    token = idp.token(server="org")

    assert get(client, "/api/whoami", token).status_code == 200
    assert_invalid_token(get(client, "/api/whoami", idp.token()), token)  # default's token: not the org's


def test_an_active_answer_is_cached_briefly_and_never_past_exp(client, idp, settings, clock):
    settings.OIDC_RESOURCE |= {"INTROSPECTION_CACHE_SECONDS": 60}
    token = idp.token("reports:read")
    assert get(client, "/api/reports", token).status_code == 200
    idp.revoke(token)

    # The documented trade-off: for up to INTROSPECTION_CACHE_SECONDS a revoked token still works.
    assert get(client, "/api/reports", token).status_code == 200
    clock.advance(3600 + 31)  # past the token's exp (one hour) and the leeway

    assert_invalid_token(get(client, "/api/reports", token), token)


def test_wrong_api_credentials_are_503_and_logged_without_secrets(client, idp, settings, caplog):
    settings.OIDC_RESOURCE |= {"CLIENT_SECRET": "not-the-secret"}
    token = idp.token("reports:read")

    with caplog.at_level(logging.WARNING):
        response = get(client, "/api/reports", token)

    # Not the token's fault: 401 invalid_token would make the client throw a good token away.
    assert response.status_code == 503 and "WWW-Authenticate" not in response
    assert "invalid_client" in caplog.text
    assert token not in caplog.text and "not-the-secret" not in caplog.text and idp.api.secret not in caplog.text


def test_the_idp_unreachable_is_503(client, idp, settings):
    settings.OIDC_RESOURCE |= {"INTROSPECTION_URL": "http://127.0.0.1:9/introspect", "JWKS_URL": "http://127.0.0.1:9/"}

    response = get(client, "/api/reports", idp.token("reports:read"))

    assert response.status_code == 503 and response.json()["error"] == "temporarily_unavailable"
