"""Cross-site request forgery on the pages a user acts on (RFC 9700 §4.7, OIDC Core §3.1.2.1;
RP-Initiated Logout §2): sign-in, consent and the sign-out confirmation refuse a POST without our
CSRF token, and a form posted from another site.

Scenario: ``default`` server, alice (signed in for consent and sign-out), a web client that asks
for consent. An attacker's page can make the browser POST (with its cookies), but cannot read our
CSRF token; a browser always says where a cross-site form comes from (``Origin``).
"""

from __future__ import annotations

import pytest
import requests

from oidc_flows.models import Consent, Grant
from tests.factories import PASSWORD, make_client
from tests.security.attacker import ATTACKER
from tests.support.oauth import CSRF, AuthorizationRequest, Browser


@pytest.fixture
def consent_web(user):
    return make_client(app_type="web")


def post(browser: Browser, url: str, data: dict, **headers) -> requests.Response:
    return browser.http.post(url, data=data, headers=headers, allow_redirects=False, timeout=10)


def csrf_token(page: requests.Response) -> str:
    match = CSRF.search(page.text)
    assert match, "no CSRF token on the page"
    return match.group(1)


def assert_refused(response: requests.Response) -> None:
    assert response.status_code == 403, (response.status_code, response.headers.get("Location"))
    assert "Location" not in response.headers


def is_signed_in(browser: Browser) -> bool:
    return browser.get(f"{browser.base_url}/account/").status_code == 200


# -- sign-in ---------------------------------------------------------------------------------------


def sign_in_form(browser: Browser) -> tuple[str, dict]:
    url = f"{browser.base_url}/login/"
    return url, {"username": "alice", "password": PASSWORD, "csrfmiddlewaretoken": csrf_token(browser.get(url))}


def test_sign_in_without_the_csrf_token_is_refused(browser):
    url, data = sign_in_form(browser)
    del data["csrfmiddlewaretoken"]

    assert_refused(post(browser, url, data, Referer=url))
    assert not is_signed_in(browser)


def test_sign_in_posted_from_another_site_is_refused(browser):
    # Login CSRF: signing the victim in to the attacker's account. The token is valid; the origin is not.
    url, data = sign_in_form(browser)

    assert_refused(post(browser, url, data, Origin=ATTACKER, Referer=f"{ATTACKER}/"))
    assert not is_signed_in(browser)


def test_sign_in_with_the_token_from_our_own_page_works(browser):
    url, data = sign_in_form(browser)

    assert post(browser, url, data, Origin=browser.base_url, Referer=url).status_code == 302
    assert is_signed_in(browser)


# -- consent ---------------------------------------------------------------------------------------


def consent_form(browser: Browser, server, client) -> tuple[str, dict]:
    browser.sign_in()
    auth = AuthorizationRequest(client, server)
    page = browser.get(auth.url)
    assert 'name="decision"' in page.text, page.status_code
    return auth.url, {"decision": "allow", "csrfmiddlewaretoken": csrf_token(page)}


def test_consent_without_the_csrf_token_is_refused(browser, default_server, consent_web):
    url, data = consent_form(browser, default_server, consent_web)
    del data["csrfmiddlewaretoken"]

    assert_refused(post(browser, url, data, Referer=url))
    assert not Consent.objects.exists() and not Grant.objects.exists()


def test_consent_posted_from_another_site_is_refused(browser, default_server, consent_web):
    url, data = consent_form(browser, default_server, consent_web)

    assert_refused(post(browser, url, data, Origin=ATTACKER, Referer=f"{ATTACKER}/"))
    assert not Consent.objects.exists() and not Grant.objects.exists()


def test_consent_from_our_own_page_issues_a_code(browser, default_server, consent_web):
    url, data = consent_form(browser, default_server, consent_web)

    response = post(browser, url, data, Origin=browser.base_url, Referer=url)

    assert response.status_code == 302 and "code=" in response.headers["Location"]


# -- sign-out confirmation ---------------------------------------------------------------------------


def logout_confirmation(browser: Browser, server) -> tuple[str, dict]:
    browser.sign_in()
    url = server.endpoint_url("logout")
    page = browser.get(url)
    assert page.status_code == 200 and 'name="confirm"' in page.text
    return url, {"confirm": "yes", "csrfmiddlewaretoken": csrf_token(page)}


def test_sign_out_confirmation_without_the_csrf_token_is_refused(browser, default_server):
    url, data = logout_confirmation(browser, default_server)
    del data["csrfmiddlewaretoken"]

    assert_refused(post(browser, url, data, Referer=url))
    assert is_signed_in(browser)


def test_sign_out_confirmation_posted_from_another_site_is_refused(browser, default_server):
    url, data = logout_confirmation(browser, default_server)

    assert_refused(post(browser, url, data, Origin=ATTACKER, Referer=f"{ATTACKER}/"))
    assert is_signed_in(browser)


def test_sign_out_confirmation_from_our_own_page_signs_out(browser, default_server):
    url, data = logout_confirmation(browser, default_server)

    assert post(browser, url, data, Origin=browser.base_url, Referer=url).status_code == 200
    assert not is_signed_in(browser)
