"""The hosted sign-in and consent pages at /authorize (OIDC Core §3.1.2.1-§3.1.2.4, §3.1.2.6).

Scenario: the ``default`` server, a web client asking for ``openid profile email``, alice in a real
browser session (cookies) over HTTP. ``prompt`` and ``max_age`` decide whether she must sign in
again or consent again; remembered consent lets her go straight back to the client.
"""

from __future__ import annotations

import time

import pytest
import requests

from tests.factories import PASSWORD, make_client
from tests.support.jose import verify_jwt
from tests.support.oauth import AuthorizationRequest, Browser, is_sign_in_form, location_params


SCENARIO = {"server": "default", "scopes": "openid profile email"}


@pytest.fixture
def web(user):
    return make_client(app_type="web")


@pytest.fixture
def signed_in(browser) -> Browser:
    response = browser.sign_in()
    assert response.status_code == 302, "alice could not sign in"
    return browser


@pytest.fixture
def consented(signed_in, default_server, web) -> Browser:
    """alice, signed in, who has already allowed ``web`` the scenario's scopes."""
    auth = AuthorizationRequest(web, default_server, scope=SCENARIO["scopes"])
    assert "code" in location_params(signed_in.authorize(auth.url))
    return signed_in


def request_for(client, server, scope: str = SCENARIO["scopes"], **extra) -> AuthorizationRequest:
    return AuthorizationRequest(client, server, scope=scope, extra=extra)


def is_consent_page(response: requests.Response) -> bool:
    return response.status_code == 200 and 'name="decision"' in response.text


def assert_back_at_client(response: requests.Response, auth: AuthorizationRequest, **expected: str) -> dict:
    assert response.status_code == 302, (response.status_code, response.text[:300])
    assert response.headers["Location"].startswith(auth.redirect_uri)
    params = location_params(response)
    assert params.get("state") == auth.state
    for name, value in expected.items():
        assert params.get(name) == value, params
    return params


# -- consent ------------------------------------------------------------------------------------------


def test_remembered_consent_goes_straight_back_with_a_code(consented, default_server, web):
    auth = request_for(web, default_server)

    response = consented.get(auth.url)

    assert "code" in assert_back_at_client(response, auth)


def test_an_additional_scope_asks_for_consent_again(consented, default_server, web):
    auth = request_for(web, default_server, scope=SCENARIO["scopes"] + " phone")

    page = consented.follow(auth.url)

    assert is_consent_page(page)
    assert "See your phone number" in page.text


def test_prompt_consent_asks_for_consent_again(consented, default_server, web):
    auth = request_for(web, default_server, prompt="consent")

    assert is_consent_page(consented.follow(auth.url))


def test_remembered_consent_is_per_client(consented, default_server):
    other = make_client(app_type="web")
    auth = request_for(other, default_server)

    assert is_consent_page(consented.follow(auth.url))


def test_denying_consent_sends_access_denied_to_the_client(browser, default_server, web):
    auth = request_for(web, default_server)

    response = browser.authorize(auth.url, consent="deny")

    params = assert_back_at_client(response, auth, error="access_denied")
    assert "code" not in params


def test_after_denying_consent_is_asked_again(browser, default_server, web):
    browser.authorize(request_for(web, default_server).url, consent="deny")

    assert is_consent_page(browser.follow(request_for(web, default_server).url))


#: Hand-written from the seeds' scope descriptions, not read from policy.py.
SCOPE_DESCRIPTIONS = {
    "email": "See your email address",
    "profile": "See your name",
    "address": "See your postal address",
    "phone": "See your phone number",
    "offline_access": "Keep access while you are not using the application",
}


@pytest.mark.parametrize(("scope", "description"), SCOPE_DESCRIPTIONS.items())
def test_the_consent_page_describes_each_requested_scope(browser, default_server, web, scope, description):
    page = browser.authorize(request_for(web, default_server, scope=f"openid {scope}").url, consent=None)

    assert is_consent_page(page)
    assert description in page.text
    assert web.name in page.text


def test_the_consent_page_lists_only_the_requested_scopes(browser, default_server, web):
    page = browser.authorize(request_for(web, default_server, scope="openid email").url, consent=None)

    assert is_consent_page(page)
    assert "See your email address" in page.text
    assert "See your phone number" not in page.text
    assert "See your postal address" not in page.text


# -- prompt=none ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("session", "error"),
    [
        (None, "login_required"),
        ("signed_in", "consent_required"),
    ],
    ids=["nobody signed in", "signed in without consent"],
)
def test_prompt_none_answers_with_an_error_instead_of_a_page(request, browser, default_server, web, session, error):
    if session:
        request.getfixturevalue(session)
    auth = request_for(web, default_server, prompt="none")

    params = assert_back_at_client(browser.get(auth.url), auth, error=error)

    assert "code" not in params


def test_prompt_none_with_a_session_and_consent_returns_a_code(consented, default_server, web):
    auth = request_for(web, default_server, prompt="none")

    assert "code" in assert_back_at_client(consented.get(auth.url), auth)


# -- signing in again: prompt=login and max_age --------------------------------------------------------


def test_prompt_login_shows_the_sign_in_form_despite_a_session(consented, default_server, web):
    auth = request_for(web, default_server, prompt="login")

    assert is_sign_in_form(consented.follow(auth.url))


def test_signing_in_again_satisfies_prompt_login(consented, default_server, web):
    auth = request_for(web, default_server, prompt="login")

    response = consented.authorize(auth.url)

    assert any(is_sign_in_form(page) for page in consented.pages)
    assert "code" in assert_back_at_client(response, auth)


def test_max_age_0_with_an_older_session_shows_the_sign_in_form(consented, default_server, web):
    time.sleep(1.1)  # auth_time has a resolution of one second
    auth = request_for(web, default_server, max_age="0")

    assert is_sign_in_form(consented.follow(auth.url))


def test_max_age_longer_than_the_session_needs_no_sign_in(consented, default_server, web):
    auth = request_for(web, default_server, max_age="3600")

    assert "code" in assert_back_at_client(consented.get(auth.url), auth)


def test_signing_in_again_satisfies_max_age_0(consented, default_server, web):
    time.sleep(1.1)
    auth = request_for(web, default_server, max_age="0")

    response = consented.authorize(auth.url)

    # OIDC Core §3.1.2.1: max_age=0 is prompt=login; a fresh sign-in satisfies it.
    assert "code" in assert_back_at_client(response, auth)


def test_the_id_token_auth_time_is_when_alice_signed_in(browser, default_server, web):
    signed_in_at = time.time()
    browser.sign_in()
    auth = request_for(web, default_server)

    token = auth.exchange(browser.authorize(auth.url))

    claims = verify_jwt(
        token["id_token"],
        jwks_url=default_server.endpoint_url("keys"),
        issuer=default_server.issuer,
        audience=web.client_id,
    )
    assert abs(claims["auth_time"] - signed_in_at) <= 5


# -- the sign-in page ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("username", "password"),
    [
        ("alice", PASSWORD + "!"),
        ("alice", PASSWORD.upper()),
        ("mallory", PASSWORD),
    ],
)
def test_wrong_credentials_show_the_form_again_and_open_no_session(browser, default_server, web, username, password):
    response = browser.sign_in(username=username, password=password)

    assert is_sign_in_form(response)
    assert 'role="alert"' in response.text
    assert "correct username and password" in response.text
    assert is_sign_in_form(browser.follow(request_for(web, default_server).url))


def test_the_sign_in_page_brings_alice_back_to_the_authorization_request(browser, default_server, web):
    auth = request_for(web, default_server)

    response = browser.authorize(auth.url)

    assert any(is_sign_in_form(page) for page in browser.pages)
    assert "code" in assert_back_at_client(response, auth)


def sign_in_page(browser: Browser, default_server, web) -> requests.Response:
    return browser.get(f"{browser.base_url}/login/")


def consent_page(browser: Browser, default_server, web) -> requests.Response:
    return browser.authorize(request_for(web, default_server).url, consent=None)


@pytest.mark.parametrize("page", [sign_in_page, consent_page], ids=["sign-in", "consent"])
def test_the_pages_cannot_be_framed(browser, default_server, web, page):
    response = page(browser, default_server, web)

    assert response.status_code == 200
    assert response.headers.get("X-Frame-Options") == "DENY"
