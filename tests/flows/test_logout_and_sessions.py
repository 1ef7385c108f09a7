"""Sessions, single sign-on and sign-out, against the live server.

OIDC Core §3.1.2.1 (prompt, login_hint, id_token_hint, max_age) and §3.1.2.6 (errors), OpenID
Connect RP-Initiated Logout 1.0, and the end user's /account/ page.

Scenario: alice's browser and two web applications of the ``default`` server, "Mail" (which
registered ``https://rp.example/signed-out`` for after sign-out) and "Calendar"; a second custom
server ``payments``; bob, another user, in his own browser. Expected URLs are written by hand.
"""

from __future__ import annotations

import html
import re
import time
from collections.abc import Callable, Iterator
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests

from oidc_flows import keys, tokens
from oidc_flows.models import BrowserSession, Consent, RefreshToken
from oidc_flows.subjects import public_id
from tests.factories import make_client, make_server, make_user
from tests.support.jose import verify_jwt
from tests.support.oauth import AuthorizationRequest, Browser, is_sign_in_form, location_params


pytestmark = pytest.mark.django_db(transaction=True)

SIGNED_OUT = "https://rp.example/signed-out"
SCOPE = "openid profile email"
HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')
END_SESSION = re.compile(r'action="(/account/sessions/[0-9a-f-]+/end)"')
WITHDRAW = re.compile(r'action="(/account/consents/\d+/withdraw)"')


# -- fixtures and helpers ---------------------------------------------------------------------------


def named_client(name: str, **kwargs):
    client = make_client(app_type="web", **kwargs)
    client.name = name
    client.save(update_fields=["name"])
    return client


@pytest.fixture
def new_browser(base_url) -> Iterator[Callable[[], Browser]]:
    """Browsers that close their keep-alive connections at teardown, while the live server still shares its
    database connection (a request thread closing it later fails with "DatabaseWrapper objects created in a
    thread can only be used in that same thread")."""
    opened: list[Browser] = []

    def open_browser() -> Browser:
        opened.append(Browser(base_url))
        return opened[-1]

    yield open_browser
    for browser in opened:
        browser.http.close()


@pytest.fixture
def browser(new_browser, user) -> Browser:
    return new_browser()


@pytest.fixture
def mail(user):
    return named_client("Mail", post_logout_redirect_uris=(SIGNED_OUT,))


@pytest.fixture
def calendar(user):
    return named_client("Calendar")


@pytest.fixture
def bob(transactional_db):
    return make_user(username="bob")


@pytest.fixture
def bob_browser(new_browser, bob) -> Browser:
    browser = new_browser()
    assert browser.sign_in(username="bob").status_code == 302
    return browser


def sign_in_through(browser: Browser, client, server, scope: str = SCOPE, **extra) -> dict:
    """Authorize ``client`` in ``browser`` (signing in and consenting as needed); return its tokens."""
    auth = AuthorizationRequest(client, server, scope=scope, extra=extra)
    try:
        return auth.exchange(browser.authorize(auth.url))
    finally:
        auth.session.close()  # see new_browser


def id_token_of(browser: Browser, client, server, **kwargs) -> str:
    return sign_in_through(browser, client, server, **kwargs)["id_token"]


def back_at_client(response: requests.Response, auth: AuthorizationRequest) -> dict:
    assert response.status_code == 302, (response.status_code, response.text[:300])
    assert response.headers["Location"].startswith(auth.redirect_uri)
    params = location_params(response)
    assert params.get("state") == auth.state
    return params


def is_signed_in(browser: Browser) -> bool:
    response = browser.get(f"{browser.base_url}/account/")
    assert response.status_code in (200, 302), response.status_code
    return response.status_code == 200


def logout_url(server, **params: str) -> str:
    return f"{server.endpoint_url('logout')}?{urlencode(params)}"


def hidden_fields(page: requests.Response) -> dict[str, str]:
    return {name: html.unescape(value) for name, value in HIDDEN.findall(page.text)}


def confirm(browser: Browser, page: requests.Response) -> requests.Response:
    """Press "Sign out" on the confirmation page."""
    assert 'name="confirm"' in page.text, page.text[:500]
    fields = {k: v for k, v in hidden_fields(page).items() if k != "csrfmiddlewaretoken"}
    return browser.post_form(page.url.split("?")[0], page, fields | {"confirm": "yes"})


def assert_redirected_to_signed_out(response: requests.Response, state: str | None = None) -> None:
    assert response.status_code == 302, (response.status_code, response.text[:300])
    location = urlsplit(response.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == SIGNED_OUT
    assert parse_qs(location.query).get("state") == ([state] if state else None)


def assert_signed_out_page(response: requests.Response, status: int = 200) -> None:
    assert response.status_code == status, (response.status_code, response.text[:300])
    assert "Location" not in response.headers
    assert "You are signed out" in response.text


# -- single sign-on ---------------------------------------------------------------------------------


def test_one_sign_in_serves_every_application_and_server(browser, default_server, mail, calendar):
    payments = make_server("payments")
    first = id_token_of(browser, mail, default_server)
    assert sum(is_sign_in_form(page) for page in browser.pages) == 1
    browser.pages.clear()

    later = [id_token_of(browser, calendar, default_server), id_token_of(browser, mail, payments)]

    assert not any(is_sign_in_form(page) for page in browser.pages), "a second sign-in was asked for"
    auth_times = {
        verify_jwt(token, jwks_url=server.endpoint_url("keys"), issuer=server.issuer, audience=client.client_id)[
            "auth_time"
        ]
        for token, client, server in [
            (first, mail, default_server),
            (later[0], calendar, default_server),
            (later[1], mail, payments),
        ]
    }
    assert len(auth_times) == 1, "one session, one auth_time"


def test_the_account_page_lists_the_applications_of_this_session(browser, default_server, mail, calendar):
    sign_in_through(browser, mail, default_server)
    sign_in_through(browser, calendar, default_server)

    page = browser.get(f"{browser.base_url}/account/")

    assert page.status_code == 200
    assert "This browser" in page.text
    assert "Mail" in page.text and "Calendar" in page.text
    assert page.headers["X-Frame-Options"] == "DENY"
    record = BrowserSession.objects.get()
    assert {row.application.name for row in record.applications.all()} == {"Mail", "Calendar"}
    assert record.session_key not in page.text  # the key is a credential; pages name records by sid


def test_max_age_puts_auth_time_in_the_id_token(browser, default_server, mail):
    browser.sign_in()
    signed_in_at = int(time.time())

    token = id_token_of(browser, mail, default_server, max_age="600")

    claims = verify_jwt(
        token, jwks_url=default_server.endpoint_url("keys"), issuer=default_server.issuer, audience=mail.client_id
    )
    assert abs(claims["auth_time"] - signed_in_at) <= 2  # OIDC Core §3.1.2.1: max_age makes auth_time REQUIRED


# -- prompt -----------------------------------------------------------------------------------------


def test_prompt_select_account_when_signed_in_is_account_selection_required(browser, default_server, mail):
    sign_in_through(browser, mail, default_server)
    auth = AuthorizationRequest(mail, default_server, scope=SCOPE, extra={"prompt": "select_account"})

    params = back_at_client(browser.get(auth.url), auth)

    assert params["error"] == "account_selection_required"  # OIDC Core §3.1.2.6
    assert "code" not in params


def test_prompt_select_account_when_signed_out_shows_sign_in_once(browser, default_server, mail):
    auth = AuthorizationRequest(mail, default_server, scope=SCOPE, extra={"prompt": "select_account"})

    response = browser.authorize(auth.url)

    assert sum(is_sign_in_form(page) for page in browser.pages) == 1
    assert "code" in back_at_client(response, auth)


def test_prompt_select_account_with_login_is_a_fresh_sign_in(browser, default_server, mail):
    sign_in_through(browser, mail, default_server)
    browser.pages.clear()
    auth = AuthorizationRequest(mail, default_server, scope=SCOPE, extra={"prompt": "login select_account"})

    response = browser.authorize(auth.url)

    assert any(is_sign_in_form(page) for page in browser.pages)
    assert "code" in back_at_client(response, auth)


@pytest.mark.parametrize("scope", [SCOPE, "profile"], ids=["openid", "oauth"])
def test_unknown_or_contradictory_prompt_values_are_invalid_request(browser, default_server, mail, scope):
    for prompt in ["bogus", "login bogus", "none login", "none consent"]:
        auth = AuthorizationRequest(mail, default_server, scope=scope, extra={"prompt": prompt})

        params = back_at_client(browser.get(auth.url), auth)

        assert params["error"] == "invalid_request", (prompt, params)


def test_a_repeated_oidc_parameter_is_invalid_request(browser, default_server, mail):
    for name in ["prompt", "max_age", "login_hint", "id_token_hint"]:
        auth = AuthorizationRequest(mail, default_server, scope=SCOPE)

        params = back_at_client(browser.get(f"{auth.url}&{name}=1&{name}=2"), auth)

        assert params["error"] == "invalid_request", (name, params)
        assert name in params["error_description"]


def test_prompt_none_without_openid_shows_no_page(browser, default_server, mail):
    auth = AuthorizationRequest(mail, default_server, scope="profile", extra={"prompt": "none"})

    assert back_at_client(browser.get(auth.url), auth)["error"] == "login_required"


# -- login_hint -------------------------------------------------------------------------------------


def prefilled_username(page: requests.Response) -> str:
    return html.unescape(re.search(r'name="username"[^>]*?value="([^"]*)"', page.text, re.DOTALL).group(1))


def test_login_hint_prefills_the_username(browser, default_server, mail):
    auth = AuthorizationRequest(mail, default_server, scope=SCOPE, extra={"login_hint": "alice"})

    page = browser.follow(auth.url)

    assert is_sign_in_form(page)
    assert prefilled_username(page) == "alice"


def test_login_hint_is_escaped(browser, default_server, mail):
    payload = '"><script>alert(1)</script>'
    auth = AuthorizationRequest(mail, default_server, scope=SCOPE, extra={"login_hint": payload})

    page = browser.follow(auth.url)

    assert is_sign_in_form(page)
    assert "<script>alert(1)</script>" not in page.text
    assert "&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert prefilled_username(page) == payload


def test_login_hint_is_only_a_hint(browser, default_server, mail, bob):
    auth = AuthorizationRequest(mail, default_server, scope=SCOPE, extra={"login_hint": "bob"})

    token = auth.exchange(browser.authorize(auth.url, username="alice"))  # alice overwrites the hint
    auth.session.close()

    claims = verify_jwt(
        token["id_token"],
        jwks_url=default_server.endpoint_url("keys"),
        issuer=default_server.issuer,
        audience=mail.client_id,
    )
    assert claims["sub"] == public_id(BrowserSession.objects.get().user) != public_id(bob)


def test_an_odd_login_hint_is_ignored(browser):
    for hint in ["x" * 300, "bad\x07bell"]:
        page = browser.get(f"{browser.base_url}/login/?{urlencode({'login_hint': hint})}")

        assert is_sign_in_form(page)
        assert prefilled_username(page) == "", hint


# -- id_token_hint at /authorize --------------------------------------------------------------------


def test_id_token_hint_of_the_signed_in_user_passes_prompt_none(browser, default_server, mail):
    hint = id_token_of(browser, mail, default_server)
    auth = AuthorizationRequest(mail, default_server, scope=SCOPE, extra={"prompt": "none", "id_token_hint": hint})

    assert "code" in back_at_client(browser.get(auth.url), auth)


def test_id_token_hint_of_another_user_with_prompt_none_is_login_required(browser, bob_browser, default_server, mail):
    sign_in_through(browser, mail, default_server)
    bobs = id_token_of(bob_browser, mail, default_server)
    auth = AuthorizationRequest(mail, default_server, scope=SCOPE, extra={"prompt": "none", "id_token_hint": bobs})

    params = back_at_client(browser.get(auth.url), auth)

    assert params["error"] == "login_required"
    assert "code" not in params


def test_id_token_hint_of_another_user_shows_the_sign_in_page(browser, bob_browser, default_server, mail, bob):
    sign_in_through(browser, mail, default_server)
    bobs = id_token_of(bob_browser, mail, default_server)
    auth = AuthorizationRequest(mail, default_server, scope=SCOPE, extra={"id_token_hint": bobs})
    browser.pages.clear()

    token = auth.exchange(browser.authorize(auth.url, username="bob"))
    auth.session.close()

    assert any(is_sign_in_form(page) for page in browser.pages)
    claims = verify_jwt(
        token["id_token"],
        jwks_url=default_server.endpoint_url("keys"),
        issuer=default_server.issuer,
        audience=mail.client_id,
    )
    assert claims["sub"] == public_id(bob)


def test_signing_in_again_as_someone_else_than_the_hint_is_login_required(browser, bob_browser, default_server, mail):
    sign_in_through(browser, mail, default_server)
    bobs = id_token_of(bob_browser, mail, default_server)
    auth = AuthorizationRequest(mail, default_server, scope=SCOPE, extra={"id_token_hint": bobs})

    browser.pages.clear()

    response = browser.authorize(auth.url, username="alice")

    assert sum(is_sign_in_form(page) for page in browser.pages) == 1
    assert back_at_client(response, auth)["error"] == "login_required"  # OIDC Core §3.1.2.1 "SHOULD return an error"


def test_signing_in_as_a_third_user_than_the_hint_is_login_required(browser, bob_browser, default_server, mail):
    make_user(username="carol")
    sign_in_through(browser, mail, default_server)
    bobs = id_token_of(bob_browser, mail, default_server)
    auth = AuthorizationRequest(mail, default_server, scope=SCOPE, extra={"id_token_hint": bobs})
    browser.pages.clear()

    response = browser.authorize(auth.url, username="carol")  # Django flushes alice's session for carol

    assert sum(is_sign_in_form(page) for page in browser.pages) == 1
    assert back_at_client(response, auth)["error"] == "login_required"


def test_signing_in_as_someone_else_than_the_hint_is_login_required(browser, bob_browser, default_server, mail):
    bobs = id_token_of(bob_browser, mail, default_server)
    auth = AuthorizationRequest(mail, default_server, scope=SCOPE, extra={"id_token_hint": bobs})

    response = browser.authorize(auth.url, username="alice")  # nobody was signed in in this browser

    assert sum(is_sign_in_form(page) for page in browser.pages) == 1
    assert back_at_client(response, auth)["error"] == "login_required"


def expired_id_token(server, user, client) -> str:
    """An ID token of ``server`` for ``user`` that expired an hour ago (still a valid hint)."""
    now = int(time.time())
    sub = public_id(user)
    claims = {"iss": server.issuer, "sub": sub, "aud": client.client_id, "iat": now - 7200, "exp": now - 3600}
    return tokens.sign(server, claims)


def test_an_expired_id_token_hint_is_still_a_hint(browser, default_server, mail, user):
    sign_in_through(browser, mail, default_server)
    expired = expired_id_token(default_server, user, mail)
    auth = AuthorizationRequest(mail, default_server, scope=SCOPE, extra={"prompt": "none", "id_token_hint": expired})

    assert "code" in back_at_client(browser.get(auth.url), auth)


def test_an_id_token_hint_signed_before_a_key_rotation_still_works(browser, default_server, mail):
    hint = id_token_of(browser, mail, default_server)
    keys.rotate(default_server)  # the old key is retired but still published
    auth = AuthorizationRequest(mail, default_server, scope=SCOPE, extra={"prompt": "none", "id_token_hint": hint})

    assert "code" in back_at_client(browser.get(auth.url), auth)


def tampered(token: str) -> str:
    header, payload, signature = token.split(".")
    return f"{header}.{payload}.{signature[:-4]}{'AAAA' if signature[-4:] != 'AAAA' else 'BBBB'}"


BAD_HINTS = {
    "garbage": lambda ctx: "not-a-token",
    "three dots": lambda ctx: "a.b.c",
    "huge": lambda ctx: "a." + "b" * 20_000 + ".c",
    "tampered": lambda ctx: tampered(ctx["id_token"]),
    "another server's": lambda ctx: ctx["payments_id_token"],
    "access token": lambda ctx: ctx["access_token"],
    "unsigned": lambda ctx: "eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0.",
}


@pytest.fixture
def hint_material(browser, default_server, mail) -> dict:
    tokens_ = sign_in_through(browser, mail, default_server)
    return {
        "id_token": tokens_["id_token"],
        "access_token": tokens_["access_token"],  # an RFC 9068 JWT signed by the same key
        "payments_id_token": id_token_of(browser, mail, make_server("payments")),
    }


@pytest.mark.parametrize("prompt", ["none", None], ids=["prompt=none", "interactive"])
def test_a_bad_id_token_hint_is_invalid_request(browser, default_server, mail, hint_material, prompt):
    for kind, make_hint in BAD_HINTS.items():
        extra = {"id_token_hint": make_hint(hint_material)} | ({"prompt": prompt} if prompt else {})
        auth = AuthorizationRequest(mail, default_server, scope=SCOPE, extra=extra)

        params = back_at_client(browser.get(auth.url), auth)

        assert params["error"] == "invalid_request", (kind, params)
        assert "id_token_hint" in params["error_description"], kind


def test_odd_authorize_parameters_never_fail_the_server(browser, default_server, mail):
    sign_in_through(browser, mail, default_server)
    for extra in [
        {"max_age": "9" * 5000},
        {"login_hint": "x" * 20_000},
        {"prompt": "login" * 3000},
        {"ui_locales": "de\u0301 fr"},
        {"id_token_hint": "\u00e9.\u00e9.\u00e9"},
    ]:
        auth = AuthorizationRequest(mail, default_server, scope=SCOPE, extra=extra)

        response = browser.follow(auth.url)

        assert response.status_code < 500, extra


# -- RP-Initiated Logout: discovery -----------------------------------------------------------------


def test_discovery_names_the_logout_endpoint_and_prompt_values(base_url, user):
    make_server("payments")
    for discovery, endpoint in [
        ("/.well-known/openid-configuration", "/oauth2/v1/logout"),
        ("/oauth2/default/.well-known/openid-configuration", "/oauth2/default/v1/logout"),
        ("/oauth2/payments/.well-known/openid-configuration", "/oauth2/payments/v1/logout"),
    ]:
        metadata = requests.get(base_url + discovery, timeout=10).json()

        assert metadata["end_session_endpoint"] == base_url + endpoint
        assert set(metadata["prompt_values_supported"]) == {"none", "login", "consent", "select_account"}
        assert requests.get(base_url + endpoint, timeout=10).status_code == 200  # nobody signed in: signed-out page


# -- RP-Initiated Logout: with a valid id_token_hint, no question ----------------------------------


def test_logout_with_the_users_id_token_hint_ends_sso_and_returns_with_state(browser, default_server, mail, calendar):
    hint = id_token_of(browser, mail, default_server)
    sign_in_through(browser, calendar, default_server)

    response = browser.get(
        logout_url(default_server, id_token_hint=hint, post_logout_redirect_uri=SIGNED_OUT, state="s-123")
    )

    assert_redirected_to_signed_out(response, state="s-123")
    assert not is_signed_in(browser)
    assert not BrowserSession.objects.exists()
    for client in (mail, calendar):  # single sign-on has ended for every application
        auth = AuthorizationRequest(client, default_server, scope=SCOPE, extra={"prompt": "none"})
        assert back_at_client(browser.get(auth.url), auth)["error"] == "login_required"


def test_logout_by_post_from_the_application(browser, default_server, mail):
    hint = id_token_of(browser, mail, default_server)

    response = browser.http.post(
        default_server.endpoint_url("logout"),
        data={"id_token_hint": hint, "post_logout_redirect_uri": SIGNED_OUT, "state": "p"},
        allow_redirects=False,
        timeout=10,
    )

    assert_redirected_to_signed_out(response, state="p")
    assert not is_signed_in(browser)


def test_a_cross_site_post_without_cookies_is_posted_again_from_our_origin(new_browser, default_server, mail, browser):
    hint = id_token_of(browser, mail, default_server)
    cookieless = new_browser().http  # what SameSite=Lax leaves of a cross-site POST: no cookies

    bounce = cookieless.post(
        default_server.endpoint_url("logout"),
        data={"id_token_hint": hint, "post_logout_redirect_uri": SIGNED_OUT, "state": "b"},
        allow_redirects=False,
        timeout=10,
    )

    assert bounce.status_code == 200
    fields = hidden_fields(bounce)
    assert fields["bounced"] == "1" and fields["id_token_hint"] == hint
    assert is_signed_in(browser)
    response = browser.http.post(default_server.endpoint_url("logout"), data=fields, allow_redirects=False, timeout=10)
    assert_redirected_to_signed_out(response, state="b")
    assert not is_signed_in(browser)


def test_logout_without_a_redirect_shows_the_signed_out_page(browser, default_server, mail):
    hint = id_token_of(browser, mail, default_server)

    assert_signed_out_page(browser.get(logout_url(default_server, id_token_hint=hint)))
    assert not is_signed_in(browser)


def test_an_expired_id_token_hint_of_the_user_needs_no_confirmation(browser, default_server, mail, user):
    sign_in_through(browser, mail, default_server)
    expired = expired_id_token(default_server, user, mail)

    response = browser.get(logout_url(default_server, id_token_hint=expired, post_logout_redirect_uri=SIGNED_OUT))

    assert_redirected_to_signed_out(response)


def test_logout_keeps_offline_refresh_tokens(browser, default_server, mail):
    issued = sign_in_through(browser, mail, default_server, scope="openid offline_access")

    browser.get(logout_url(default_server, id_token_hint=issued["id_token"]))

    # Documented choice: offline_access means access while the user is not signed in.
    response = requests.post(
        default_server.endpoint_url("token"),
        data={"grant_type": "refresh_token", "refresh_token": issued["refresh_token"]},
        auth=(mail.client_id, mail.secret),
        timeout=10,
    )
    assert response.status_code == 200, response.text


# -- RP-Initiated Logout: the user is asked ---------------------------------------------------------


def test_logout_without_id_token_hint_asks_first(browser, default_server, mail):
    sign_in_through(browser, mail, default_server)

    page = browser.get(
        logout_url(default_server, client_id=mail.client_id, post_logout_redirect_uri=SIGNED_OUT, state="q")
    )

    assert page.status_code == 200 and 'name="confirm"' in page.text
    assert "Mail asks to sign you out" in page.text
    assert page.headers["X-Frame-Options"] == "DENY"
    assert "no-store" in page.headers["Cache-Control"] or "no-cache" in page.headers["Cache-Control"]
    assert is_signed_in(browser), "nothing happens before the user confirms"
    assert_redirected_to_signed_out(confirm(browser, page), state="q")
    assert not is_signed_in(browser)


def test_logout_with_another_users_id_token_hint_asks_first(browser, bob_browser, default_server, mail):
    sign_in_through(browser, mail, default_server)
    bobs = id_token_of(bob_browser, mail, default_server)

    page = browser.get(logout_url(default_server, id_token_hint=bobs, post_logout_redirect_uri=SIGNED_OUT))

    assert page.status_code == 200 and 'name="confirm"' in page.text
    assert is_signed_in(browser) and is_signed_in(bob_browser)
    assert_redirected_to_signed_out(confirm(browser, page))
    assert not is_signed_in(browser)
    assert is_signed_in(bob_browser), "bob's browser has its own session"


def test_the_confirmation_needs_the_csrf_token(browser, default_server, mail):
    sign_in_through(browser, mail, default_server)
    page = browser.get(logout_url(default_server, client_id=mail.client_id))
    fields = {k: v for k, v in hidden_fields(page).items() if k != "csrfmiddlewaretoken"}

    response = browser.http.post(
        default_server.endpoint_url("logout"), data=fields | {"confirm": "yes"}, allow_redirects=False, timeout=10
    )

    assert response.status_code == 403
    assert is_signed_in(browser)


def test_logout_when_not_signed_in_returns_to_a_registered_uri(browser, default_server, mail, user):
    response = browser.get(
        logout_url(default_server, client_id=mail.client_id, post_logout_redirect_uri=SIGNED_OUT, state="z")
    )

    assert_redirected_to_signed_out(response, state="z")


# -- RP-Initiated Logout: unsafe redirects and invalid requests never redirect -----------------------


UNREGISTERED = [
    "https://evil.example/signed-out",
    SIGNED_OUT + "/",
    SIGNED_OUT + "?x=1",
    SIGNED_OUT.upper(),
    "javascript:alert(1)",
]


def test_an_unregistered_post_logout_redirect_uri_ends_on_our_page(browser, default_server, mail):
    hint = id_token_of(browser, mail, default_server)

    response = browser.get(logout_url(default_server, id_token_hint=hint, post_logout_redirect_uri=UNREGISTERED[0]))

    assert_signed_out_page(response)
    assert "has not registered" in response.text
    assert not is_signed_in(browser), "the sign-out itself was legitimate"
    for redirect in UNREGISTERED[1:]:  # signed out by now: the same answer
        response = browser.get(logout_url(default_server, id_token_hint=hint, post_logout_redirect_uri=redirect))
        assert_signed_out_page(response)
        assert "has not registered" in response.text, redirect


def test_a_redirect_without_an_identified_client_is_not_followed(browser, default_server, mail, user):
    response = browser.get(logout_url(default_server, post_logout_redirect_uri=SIGNED_OUT))

    assert_signed_out_page(response)
    assert "did not identify itself" in response.text


def test_a_redirect_registered_by_another_client_is_not_followed(browser, default_server, mail, calendar):
    hint = id_token_of(browser, calendar, default_server)  # Calendar registered no post-logout URI; Mail did

    response = browser.get(logout_url(default_server, id_token_hint=hint, post_logout_redirect_uri=SIGNED_OUT))

    assert_signed_out_page(response)


def test_an_invalid_logout_request_is_shown_and_never_redirected(
    browser, default_server, mail, calendar, hint_material
):
    cases = {
        "another server's id_token_hint": {"id_token_hint": hint_material["payments_id_token"]},
        "tampered id_token_hint": {"id_token_hint": tampered(hint_material["id_token"])},
        "access token as id_token_hint": {"id_token_hint": hint_material["access_token"]},
        "unknown client_id": {"client_id": "nobody"},
        "client_id not the hint's audience": {
            "id_token_hint": hint_material["id_token"],
            "client_id": calendar.client_id,
        },
    }
    for case, params in cases.items():
        page = browser.get(logout_url(default_server, post_logout_redirect_uri=SIGNED_OUT, state="s", **params))

        assert page.status_code == 400, case
        assert "could not be verified" in page.text and "invalid_request" in page.text, case
        assert is_signed_in(browser), f"{case}: an unverifiable request signs nobody out by itself"

    response = confirm(browser, page)  # the user may still sign out from it; no redirect

    assert_signed_out_page(response, status=400)
    assert not is_signed_in(browser)


ODD_LOGOUT_REQUESTS = [
    {"id_token_hint": "\x00"},
    {"state": "a\x00b"},
    {"client_id": "x" * 100_000},
    {"post_logout_redirect_uri": "https://rp.example/" + "a" * 100_000},
    {"id_token_hint": "\u00e9.\u00e9.\u00e9"},
    {"id_token_hint": "....."},
    [("client_id", "a"), ("client_id", "b")],
    [("state", "1"), ("state", "2")],
]


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_odd_logout_requests_never_fail_the_server_nor_redirect(browser, default_server, mail, method):
    assert browser.sign_in().status_code == 302
    endpoint = default_server.endpoint_url("logout")
    for data in ODD_LOGOUT_REQUESTS:
        items = list(data.items()) if isinstance(data, dict) else list(data)
        if "post_logout_redirect_uri" not in dict(items):
            items.append(("post_logout_redirect_uri", SIGNED_OUT))

        if method == "GET":
            response = browser.http.get(endpoint, params=items, allow_redirects=False, timeout=10)
        else:
            response = browser.http.post(endpoint, data=items, allow_redirects=False, timeout=10)

        assert response.status_code in (400, 414), (data, response.status_code, response.text[:300])
        assert "Location" not in response.headers
    assert is_signed_in(browser)


# -- /account/: sessions ----------------------------------------------------------------------------


def test_the_account_page_needs_a_signed_in_user(browser):
    response = browser.get(f"{browser.base_url}/account/")

    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == "/login/"


def test_ending_another_browsers_session_signs_it_out(base_url, new_browser, browser, default_server, mail):
    sign_in_through(browser, mail, default_server)
    laptop = new_browser()
    sign_in_through(laptop, mail, default_server)
    page = browser.get(f"{base_url}/account/")
    this_browser = BrowserSession.objects.get(session_key=browser.http.cookies["sessionid"])
    [other] = [action for action in END_SESSION.findall(page.text) if str(this_browser.sid) not in action]

    response = browser.post_form(base_url + other, page, {})

    assert response.status_code == 302
    assert not is_signed_in(laptop)
    assert is_signed_in(browser)
    auth = AuthorizationRequest(mail, default_server, scope=SCOPE, extra={"prompt": "none"})
    assert back_at_client(laptop.get(auth.url), auth)["error"] == "login_required"


def test_ending_this_browsers_session_is_signing_out(base_url, browser, default_server, mail):
    sign_in_through(browser, mail, default_server)
    page = browser.get(f"{base_url}/account/")
    [own] = END_SESSION.findall(page.text)

    response = browser.post_form(base_url + own, page, {})

    assert_signed_out_page(response)
    assert not is_signed_in(browser)


def test_nobody_can_end_someone_elses_session(base_url, browser, bob_browser, default_server, mail):
    sign_in_through(browser, mail, default_server)
    alices = BrowserSession.objects.get(session_key=browser.http.cookies["sessionid"])
    bobs_page = bob_browser.get(f"{base_url}/account/")

    response = bob_browser.post_form(f"{base_url}/account/sessions/{alices.sid}/end", bobs_page, {})

    assert response.status_code == 404
    assert is_signed_in(browser)


def test_signing_out_on_the_hosted_page_removes_the_session_record(base_url, browser, default_server, mail):
    sign_in_through(browser, mail, default_server)
    page = browser.get(f"{base_url}/account/")

    response = browser.post_form(f"{base_url}/logout/", page, {})

    assert response.status_code == 200
    assert not BrowserSession.objects.exists()


# -- /account/: consents ----------------------------------------------------------------------------


def test_the_account_page_lists_consents_with_their_scopes(base_url, browser, default_server, mail):
    sign_in_through(browser, mail, default_server, scope="openid email phone")

    page = browser.get(f"{base_url}/account/")

    assert "Mail" in page.text and default_server.name in page.text
    assert "See your email address" in page.text and "See your phone number" in page.text
    assert len(WITHDRAW.findall(page.text)) == 1


def test_withdrawing_consent_revokes_the_applications_tokens(base_url, browser, default_server, mail, calendar):
    issued = sign_in_through(browser, mail, default_server, scope="openid email offline_access")
    kept = sign_in_through(browser, calendar, default_server, scope="openid email offline_access")
    page = browser.get(f"{base_url}/account/")
    consent = Consent.objects.get(application=mail)

    response = browser.post_form(f"{base_url}/account/consents/{consent.pk}/withdraw", page, {})

    assert response.status_code == 302
    assert not Consent.objects.filter(application=mail).exists()
    refresh = requests.post(
        default_server.endpoint_url("token"),
        data={"grant_type": "refresh_token", "refresh_token": issued["refresh_token"]},
        auth=(mail.client_id, mail.secret),
        timeout=10,
    )
    assert refresh.status_code == 400 and refresh.json()["error"] == "invalid_grant"
    userinfo = requests.get(
        default_server.endpoint_url("userinfo"),
        headers={"Authorization": f"Bearer {issued['access_token']}"},
        timeout=10,
    )
    assert userinfo.status_code == 401
    assert (
        RefreshToken.objects.filter(application=calendar, revoked__isnull=True).count() == 1
    )  # other apps keep theirs
    assert (
        requests.get(
            default_server.endpoint_url("userinfo"),
            headers={"Authorization": f"Bearer {kept['access_token']}"},
            timeout=10,
        ).status_code
        == 200
    )
    again = browser.follow(AuthorizationRequest(mail, default_server, scope="openid email").url)
    assert 'name="decision"' in again.text, "the application must ask again"


def test_withdrawing_needs_the_csrf_token_and_the_owner(base_url, browser, bob_browser, default_server, mail):
    sign_in_through(browser, mail, default_server)
    consent = Consent.objects.get()

    forged = browser.http.post(f"{base_url}/account/consents/{consent.pk}/withdraw", allow_redirects=False, timeout=10)
    bobs_page = bob_browser.get(f"{base_url}/account/")
    foreign = bob_browser.post_form(f"{base_url}/account/consents/{consent.pk}/withdraw", bobs_page, {})

    assert forged.status_code == 403
    assert foreign.status_code == 404
    assert Consent.objects.filter(pk=consent.pk).exists()


def test_the_account_page_is_not_cached_nor_framed(base_url, browser, default_server, mail):
    sign_in_through(browser, mail, default_server)

    page = browser.get(f"{base_url}/account/")

    assert page.headers["X-Frame-Options"] == "DENY"
    assert "no-cache" in page.headers["Cache-Control"] or "no-store" in page.headers["Cache-Control"]
