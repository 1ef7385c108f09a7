"""mozilla-django-oidc: a Django relying party (tests/interop/rp_site, under gunicorn) signs a user in.

Scenario: the `default` server, a confidential web client (`django-rp`, client_secret_post, code + PKCE,
scopes openid email profile). The RP builds the request, checks state and nonce, redeems the code,
verifies the ID token against our JWKS (RS256), calls userinfo and opens its own Django session.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from tests.support.oauth import Browser


def test_the_rp_signs_the_user_in_through_our_pages(idp, rp_site):
    browser = Browser(idp.base_url)
    assert browser.http.get(f"{rp_site}/whoami", timeout=10).json() == {"authenticated": False}

    to_callback = browser.authorize(f"{rp_site}/oidc/authenticate/", password=idp.password)

    callback = to_callback.headers["Location"]
    assert callback.startswith(f"{rp_site}/oidc/callback/?")
    assert parse_qs(urlsplit(callback).query)["iss"] == [idp.issuer]
    landed = browser.http.get(callback, timeout=10)  # the RP redeems the code, then sends the user on
    assert landed.url == f"{rp_site}/whoami"
    assert landed.json() == {
        "authenticated": True,
        "email": "alice@example.com",
        "first_name": "",  # mozilla-django-oidc creates users from the email claim only
        "last_name": "",
        "has_id_token": True,
    }


def test_the_rp_sent_pkce_and_a_nonce(idp, rp_site):
    browser = Browser(idp.base_url)

    to_idp = browser.get(f"{rp_site}/oidc/authenticate/")

    request = parse_qs(urlsplit(to_idp.headers["Location"]).query)
    assert to_idp.headers["Location"].startswith(idp.endpoint("authorize") + "?")
    assert request["code_challenge_method"] == ["S256"]
    assert request.keys() >= {"state", "nonce", "code_challenge"}
    assert request["client_id"] == [idp.clients["django-rp"].client_id]
