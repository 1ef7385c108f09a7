"""Responses that must not be cached or framed (RFC 6749 §5.1, §5.2; OIDC Core §5.3.2; RFC 9700
§4.16; RFC 7034): ``Cache-Control: no-store`` and ``Pragma: no-cache`` on every token response,
errors included, and on userinfo; the pages a user acts on cannot be framed (clickjacking).

Scenario: ``default`` server, alice signed in, a web client (consent on), a service client.
"""

from __future__ import annotations

import requests

from tests.factories import make_client
from tests.security.attacker import assert_not_cached, assert_not_framable
from tests.security.conftest import client_credentials, code_of
from tests.support.oauth import AuthorizationRequest, Browser


def post_token(server, data: dict, auth=None) -> requests.Response:
    return requests.post(server.endpoint_url("token"), data=data, auth=auth, timeout=10)


def test_a_code_exchange_and_a_refresh_are_not_cached(signed_in, default_server, web):
    auth = AuthorizationRequest(web, default_server, scope="openid offline_access")
    exchanged = auth.token_request(code_of(signed_in, auth))
    refreshed = post_token(
        default_server,
        {"grant_type": "refresh_token", "refresh_token": exchanged.json()["refresh_token"]},
        auth=(web.client_id, web.secret),
    )

    for response in (exchanged, refreshed):
        assert response.status_code == 200
        assert_not_cached(response)


def test_a_client_credentials_token_is_not_cached(default_server, service):
    response = client_credentials(default_server, service)

    assert response.status_code == 200
    assert_not_cached(response)


TOKEN_ERRORS = {
    "invalid_grant": (
        {"grant_type": "authorization_code", "code": "made-up", "redirect_uri": "https://rp.example/cb"},
        True,
    ),
    "invalid_client": ({"grant_type": "client_credentials"}, "wrong secret"),
    "unsupported_grant_type": ({"grant_type": "urn:example:bogus"}, True),
    "invalid_request (no grant_type)": ({"scope": "openid"}, True),
    "invalid_request (NUL byte)": ({"grant_type": "client_credentials", "scope": "a\x00b"}, True),
    "invalid_scope": ({"grant_type": "client_credentials", "scope": "openid"}, True),
}


def test_token_errors_are_not_cached(default_server, service):
    for case, (data, credentials) in TOKEN_ERRORS.items():
        secret = service.secret + "x" if credentials == "wrong secret" else service.secret
        response = post_token(default_server, data, auth=(service.client_id, secret))
        assert 400 <= response.status_code < 500 and response.json()["error"], (case, response.text[:300])
        assert_not_cached(response)


def test_a_token_request_with_credentials_in_the_url_is_refused_and_not_cached(default_server, service):
    # oauthlib refuses it (RFC 6749 §2.3.1) with a body of its own; the headers are still ours.
    url = default_server.endpoint_url("token") + f"?client_secret={service.secret}"

    response = requests.post(url, data={"grant_type": "client_credentials", "client_id": service.client_id}, timeout=10)

    assert response.status_code == 400 and response.json()["error"] == "invalid_request"
    assert_not_cached(response)


def test_userinfo_is_not_cached(signed_in, default_server, web):
    auth = AuthorizationRequest(web, default_server)
    token = auth.token_request(code_of(signed_in, auth)).json()["access_token"]

    for bearer in (token, "made-up"):
        response = requests.get(
            default_server.endpoint_url("userinfo"), headers={"Authorization": f"Bearer {bearer}"}, timeout=10
        )
        assert response.status_code in (200, 401)
        assert_not_cached(response)


def test_introspection_and_revocation_are_not_cached(default_server, service):
    token = client_credentials(default_server, service).json()["access_token"]
    credentials = (service.client_id, service.secret)

    for endpoint in ("introspect", "revoke"):
        response = requests.post(default_server.endpoint_url(endpoint), data={"token": token}, auth=credentials)
        assert response.status_code == 200
        assert_not_cached(response)


# -- frame protection -----------------------------------------------------------------------------------


def sign_in_page(browser, server, client):
    return browser.get(f"{browser.base_url}/login/")


def consent_page(browser, server, client):
    browser.sign_in()
    return browser.get(AuthorizationRequest(client, server).url)


def logout_confirmation(browser, server, client):
    browser.sign_in()
    return browser.get(server.endpoint_url("logout"))


def error_page(browser, server, client):
    return browser.get(AuthorizationRequest(client, server, redirect_uri="https://attacker.example/cb").url)


def account_page(browser, server, client):
    browser.sign_in()
    return browser.get(f"{browser.base_url}/account/")


PAGES = [sign_in_page, consent_page, logout_confirmation, error_page, account_page]


def test_no_page_can_be_framed(base_url, default_server, user):
    client = make_client(app_type="web")

    for page in PAGES:
        response = page(Browser(base_url), default_server, client)
        assert response.status_code in (200, 400), (page.__name__, response.status_code)
        assert_not_framable(response)
