"""What an OpenID Provider conformance run asks of /authorize (OIDC Core §3.1.2.1), over HTTP.

- The authorization endpoint "MUST support the use of the HTTP GET and POST methods": a client's form
  POSTs the request, the user signs in and consents, and the code is redeemed with Authlib.
- The consent form keeps its CSRF protection (tests/security/test_csrf.py, with /authorize CSRF-exempt).
- ``ui_locales`` and ``claims_locales`` are accepted (we ship no translation they could choose).
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urljoin, urlsplit

import pytest
import requests

from tests.factories import make_client
from tests.support.jose import verify_jwt
from tests.support.oauth import AuthorizationRequest, Browser, location_params


def as_form(auth: AuthorizationRequest) -> tuple[str, dict[str, str]]:
    """The endpoint and parameters of ``auth``'s GET URL, to send as a form-encoded POST body."""
    parts = urlsplit(auth.url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}", dict(parse_qsl(parts.query))


def post_request(browser: Browser, auth: AuthorizationRequest) -> requests.Response:
    endpoint, params = as_form(auth)
    # What a relying party's auto-submitting form sends: no CSRF token, no Referer of ours.
    return browser.http.post(endpoint, data=params, allow_redirects=False, timeout=10)


def test_code_flow_with_the_request_posted_to_authorize(base_url, user, default_server):
    client = make_client(app_type="web")
    auth = AuthorizationRequest(client, default_server, scope="openid profile")
    browser = Browser(base_url)

    response = post_request(browser, auth)
    assert response.status_code == 302, response.text[:300]  # to sign in, then back with the request
    assert "/login/" in response.headers["Location"]
    redirect = browser.authorize(urljoin(base_url, response.headers["Location"]))

    params = location_params(redirect)
    assert params["state"] == auth.state
    token = auth.exchange(redirect)
    claims = verify_jwt(
        token["id_token"],
        jwks_url=default_server.endpoint_url("keys"),
        issuer=default_server.issuer,
        audience=client.client_id,
    )
    assert claims["nonce"] == auth.nonce


def test_posted_request_of_a_signed_in_user_is_answered_at_once(browser, default_server):
    client = make_client(app_type="spa", skip_consent=True)
    browser.authorize(AuthorizationRequest(client, default_server).url)  # signs in
    auth = AuthorizationRequest(client, default_server, scope="openid")

    response = post_request(browser, auth)

    assert response.status_code == 302
    params = location_params(response)
    assert params["state"] == auth.state and "code" in params
    assert "id_token" in auth.exchange(response)


def test_posted_request_errors_go_to_the_client(browser, default_server):
    client = make_client(app_type="web")
    auth = AuthorizationRequest(client, default_server, scope="openid unknown-scope")

    response = post_request(browser, auth)

    assert response.status_code == 302
    assert location_params(response)["error"] == "invalid_scope"


@pytest.mark.parametrize(
    "locales", [{"ui_locales": "fr-CA fr en"}, {"claims_locales": "de"}, {"ui_locales": "x-unknown"}]
)
def test_ui_and_claims_locales_are_accepted(browser, default_server, locales):
    client = make_client(app_type="spa")
    auth = AuthorizationRequest(client, default_server, extra=locales)

    redirect = browser.authorize(auth.url)

    params = location_params(redirect)
    assert "error" not in params and params["state"] == auth.state
    assert "access_token" in auth.exchange(redirect)
