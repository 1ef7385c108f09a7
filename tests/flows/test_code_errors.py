"""What goes wrong in the Authorization Code flow (RFC 6749 §4.1, §5.2; RFC 7636; OIDC Core §3.1, §5.3).

Scenario: the ``default`` server, alice signed in through the hosted pages, a web client
(client_secret_basic) unless a test says otherwise. Errors the user's browser meets are checked
on the redirect or on the error page; errors the client meets, on the JSON body of /token.
"""

from __future__ import annotations

import pytest
import requests
from authlib.common.security import generate_token

from oidc_flows.models import AuthorizationServer
from oidc_flows.subjects import public_id
from tests.factories import RP_REDIRECT, make_client, make_user
from tests.support.oauth import AuthorizationRequest, Browser, location_params


SCENARIO = {"server": "default", "scopes": "openid profile email"}
OTHER_REDIRECT = "https://rp.example/other-cb"


@pytest.fixture
def web(user):
    return make_client(app_type="web", redirect_uris=(RP_REDIRECT, OTHER_REDIRECT))


def code_of(redirect: requests.Response) -> str:
    params = location_params(redirect)
    assert "code" in params, params
    return params["code"]


def post_token(server: AuthorizationServer, data=None, *, auth=None, **kwargs) -> requests.Response:
    return requests.post(server.endpoint_url("token"), data=data, auth=auth, timeout=10, **kwargs)


def userinfo(server: AuthorizationServer, access_token: str) -> requests.Response:
    return requests.get(
        server.endpoint_url("userinfo"), headers={"Authorization": f"Bearer {access_token}"}, timeout=10
    )


def assert_json_error(response: requests.Response, error: str, status: int = 400) -> dict:
    assert response.status_code == status, (response.status_code, response.text[:300])
    assert response.headers["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["error"] == error, body
    return body


def assert_redirect_error(response: requests.Response, auth: AuthorizationRequest, error: str) -> dict:
    assert response.status_code == 302, (response.status_code, response.text[:300])
    assert response.headers["Location"].startswith(auth.redirect_uri)
    params = location_params(response)
    assert params.get("error") == error, params
    assert params.get("state") == auth.state
    return params


def assert_error_page(response: requests.Response) -> None:
    """RFC 6749 §4.1.2.1: an unverified client or redirect_uri gets a page, never a redirect."""
    assert response.status_code == 400, (response.status_code, response.headers.get("Location"))
    assert "Location" not in response.headers
    assert response.headers["Content-Type"].startswith("text/html")
    assert "We can&#x27;t continue" in response.text or "We can't continue" in response.text


# -- /authorize: errors that must not redirect ------------------------------------------------------


@pytest.mark.parametrize(
    "redirect_uri",
    [
        "https://attacker.example/cb",
        "https://rp.example/cb/more",
        "https://rp.example/CB",
        "http://rp.example/cb",
    ],
)
def test_an_unregistered_redirect_uri_gets_an_error_page(browser, default_server, web, redirect_uri):
    auth = AuthorizationRequest(web, default_server, redirect_uri=redirect_uri)

    assert_error_page(browser.get(auth.url))


def test_an_unknown_client_id_gets_an_error_page(browser, default_server, web):
    web.client_id = "no-such-client"
    auth = AuthorizationRequest(web, default_server)

    assert_error_page(browser.get(auth.url))


def test_a_service_client_cannot_start_the_code_flow(browser, default_server):
    service = make_client(app_type="service")
    auth = AuthorizationRequest(service, default_server, pkce=False)

    assert_error_page(browser.get(auth.url))  # it registers no redirect URI to send the error to


# -- /authorize: errors sent back to the client ------------------------------------------------------


@pytest.mark.parametrize("app_type", ["spa", "native"])
def test_a_public_client_without_pkce_is_refused(browser, default_server, app_type):
    client = make_client(app_type=app_type)
    auth = AuthorizationRequest(client, default_server, pkce=False)

    # RFC 7636 §4.4.1: invalid_request, on the redirect.
    assert_redirect_error(browser.authorize(auth.url), auth, "invalid_request")


@pytest.mark.parametrize("app_type", ["web", "spa"])
def test_the_plain_pkce_method_is_refused(browser, default_server, app_type):
    client = make_client(app_type=app_type)
    verifier = generate_token(48)
    auth = AuthorizationRequest(
        client, default_server, pkce=False, extra={"code_challenge": verifier, "code_challenge_method": "plain"}
    )

    assert_redirect_error(browser.authorize(auth.url), auth, "invalid_request")


@pytest.mark.parametrize("scope", ["openid bogus", "bogus", "openid profile api:write"])
def test_a_scope_the_server_does_not_define_is_refused(browser, default_server, web, scope):
    auth = AuthorizationRequest(web, default_server, scope=scope)

    assert_redirect_error(browser.authorize(auth.url), auth, "invalid_scope")


# -- /token: the code -----------------------------------------------------------------------------


def test_a_replayed_code_is_refused_and_revokes_the_first_tokens(browser, default_server, web):
    auth = AuthorizationRequest(web, default_server)
    redirect = browser.authorize(auth.url)
    token = auth.exchange(redirect)
    assert userinfo(default_server, token["access_token"]).status_code == 200

    replay = auth.token_request(code_of(redirect))

    assert_json_error(replay, "invalid_grant")
    # RFC 6749 §4.1.2, RFC 9700 §4.5: the tokens of the first use are revoked.
    assert userinfo(default_server, token["access_token"]).status_code == 401


def test_a_wrong_code_verifier_is_refused(browser, default_server):
    spa = make_client(app_type="spa")
    auth = AuthorizationRequest(spa, default_server)
    redirect = browser.authorize(auth.url)

    response = auth.token_request(code_of(redirect), code_verifier=generate_token(48))

    assert_json_error(response, "invalid_grant")


def test_a_missing_code_verifier_is_refused(browser, default_server):
    spa = make_client(app_type="spa")
    auth = AuthorizationRequest(spa, default_server)
    redirect = browser.authorize(auth.url)
    auth.code_verifier = None

    response = auth.token_request(code_of(redirect))

    # RFC 7636 §4.6: a code bound to a challenge needs its verifier.
    assert response.status_code == 400
    assert response.json()["error"] in {"invalid_grant", "invalid_request"}


def test_a_code_from_one_server_is_refused_by_another(browser, default_server, org_server, web):
    auth = AuthorizationRequest(web, default_server)
    redirect = browser.authorize(auth.url)
    at_org = AuthorizationRequest(web, org_server)
    at_org.code_verifier = auth.code_verifier

    assert_json_error(at_org.token_request(code_of(redirect)), "invalid_grant")


def test_a_redirect_uri_other_than_the_authorization_requests_is_refused(browser, default_server, web):
    auth = AuthorizationRequest(web, default_server)
    redirect = browser.authorize(auth.url)

    response = auth.token_request(code_of(redirect), redirect_uri=OTHER_REDIRECT)

    # RFC 6749 §5.2: the code "does not match the redirection URI used in the authorization request".
    assert_json_error(response, "invalid_grant")


def test_a_code_issued_to_another_client_is_refused(browser, default_server, web):
    auth = AuthorizationRequest(web, default_server)
    redirect = browser.authorize(auth.url)
    thief = make_client(app_type="web", redirect_uris=(RP_REDIRECT,))
    stolen = AuthorizationRequest(thief, default_server)
    stolen.code_verifier = auth.code_verifier

    assert_json_error(stolen.token_request(code_of(redirect)), "invalid_grant")


# -- /token: client authentication ------------------------------------------------------------------


def test_a_wrong_client_secret_is_refused_with_a_basic_challenge(default_server, web):
    response = post_token(
        default_server,
        {"grant_type": "authorization_code", "code": "x", "redirect_uri": RP_REDIRECT},
        auth=(web.client_id, web.secret + "x"),
    )

    assert_json_error(response, "invalid_client", 401)
    assert response.headers["WWW-Authenticate"].startswith("Basic")


def test_a_client_must_use_the_authentication_method_it_registered(browser, default_server, web):
    auth = AuthorizationRequest(web, default_server)
    redirect = browser.authorize(auth.url)

    response = post_token(
        default_server,
        {
            "grant_type": "authorization_code",
            "code": code_of(redirect),
            "redirect_uri": RP_REDIRECT,
            "code_verifier": auth.code_verifier,
            "client_id": web.client_id,
            "client_secret": web.secret,
        },
    )

    assert_json_error(response, "invalid_client", 401)


def test_a_client_registered_for_client_secret_post_authenticates_in_the_body(browser, default_server):
    client = make_client(app_type="web", token_endpoint_auth_method="client_secret_post")
    auth = AuthorizationRequest(client, default_server, auth_method="client_secret_post")

    token = auth.exchange(browser.authorize(auth.url))

    assert {"access_token", "id_token"} <= token.keys()


# -- /token: malformed requests never crash ------------------------------------------------------------

MALFORMED = {
    "missing grant_type": {"data": {"code": "abc", "redirect_uri": RP_REDIRECT}},
    "unknown grant_type": {"data": {"grant_type": "magic"}},
    "implicit at /token": {"data": {"grant_type": "implicit"}},
    "empty body": {"data": ""},
    "JSON body": {"json": {"grant_type": "authorization_code", "code": "abc", "redirect_uri": RP_REDIRECT}},
    "10 KB code": {"data": {"grant_type": "authorization_code", "code": "a" * 10_240, "redirect_uri": RP_REDIRECT}},
    "NUL byte in code": {"data": {"grant_type": "authorization_code", "code": "ab\x00cd", "redirect_uri": RP_REDIRECT}},
    "NUL byte in redirect_uri": {
        "data": {"grant_type": "authorization_code", "code": "abc", "redirect_uri": RP_REDIRECT + "\x00"}
    },
    "repeated grant_type": {"data": [("grant_type", "authorization_code"), ("grant_type", "client_credentials")]},
}


@pytest.mark.parametrize("request_kwargs", MALFORMED.values(), ids=MALFORMED.keys())
def test_a_malformed_token_request_gets_a_json_error(default_server, web, request_kwargs):
    response = post_token(default_server, auth=(web.client_id, web.secret), **request_kwargs)

    assert 400 <= response.status_code < 500, (response.status_code, response.text[:300])
    assert "error" in response.json()


@pytest.mark.parametrize(
    ("grant_type", "error"),
    [
        ("magic", "unsupported_grant_type"),
        ("implicit", "unsupported_grant_type"),
    ],
)
def test_a_grant_type_not_used_at_the_token_endpoint_is_unsupported(default_server, web, grant_type, error):
    response = post_token(default_server, {"grant_type": grant_type}, auth=(web.client_id, web.secret))

    assert_json_error(response, error)


def test_a_web_client_without_client_credentials_cannot_use_it(default_server, web):
    response = post_token(default_server, {"grant_type": "client_credentials"}, auth=(web.client_id, web.secret))

    assert_json_error(response, "unauthorized_client")


# -- what the tokens carry ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scope", "absent"),
    [
        ("profile email", "id_token"),  # OIDC Core §3.1.2.1: no openid, no OpenID Connect
        ("openid profile", "refresh_token"),  # seed 001: a refresh token only with offline_access
    ],
)
def test_a_token_is_issued_only_for_the_scopes_that_ask_for_it(browser, default_server, web, scope, absent):
    auth = AuthorizationRequest(web, default_server, scope=scope)

    token = auth.exchange(browser.authorize(auth.url))

    assert "access_token" in token
    assert absent not in token


def test_userinfo_refuses_a_token_without_openid_as_insufficient_scope(browser, default_server, web):
    auth = AuthorizationRequest(web, default_server, scope="profile email")
    token = auth.exchange(browser.authorize(auth.url))

    response = userinfo(default_server, token["access_token"])

    # RFC 6750 §3.1: a valid token lacking the scope gets 403 insufficient_scope.
    assert response.status_code == 403
    assert 'error="insufficient_scope"' in response.headers.get("WWW-Authenticate", "")


@pytest.fixture
def carol(transactional_db):
    return make_user(
        username="carol",
        phone_number="+1 555 0100",
        street_address="1 Main Street",
        locality="Springfield",
        postal_code="12345",
        country="US",
    )


def test_userinfo_releases_the_claims_of_every_granted_scope(base_url, default_server, web, carol):
    auth = AuthorizationRequest(web, default_server, scope="openid profile email address phone")
    token = auth.exchange(Browser(base_url).authorize(auth.url, username="carol"))

    response = userinfo(default_server, token["access_token"])

    assert response.status_code == 200
    claims = response.json()
    assert claims["sub"] == public_id(carol)
    assert claims["name"] == "Alice Liddell"
    assert claims["given_name"] == "Alice"
    assert claims["family_name"] == "Liddell"
    assert claims["preferred_username"] == "carol"
    assert claims["email"] == "carol@example.com"
    assert claims["email_verified"] is True
    assert claims["address"] == {
        "street_address": "1 Main Street",
        "locality": "Springfield",
        "postal_code": "12345",
        "country": "US",
    }
    assert claims["phone_number"] == "+1 555 0100"


def test_userinfo_with_only_openid_releases_nothing_personal(base_url, default_server, web, carol):
    auth = AuthorizationRequest(web, default_server, scope="openid")
    token = auth.exchange(Browser(base_url).authorize(auth.url, username="carol"))

    response = userinfo(default_server, token["access_token"])

    assert response.status_code == 200
    assert response.json() == {"sub": public_id(carol)}


@pytest.mark.parametrize("param", ["client_id", "state", "scope", "redirect_uri"])
def test_nul_bytes_at_authorize_get_an_error_page(browser, default_server, web, param):
    auth = AuthorizationRequest(web, default_server)
    url = f"{auth.url}&{param}=%00" if param != "client_id" else auth.url.replace("client_id=", "client_id=%00")

    response = browser.get(url)

    assert response.status_code == 400 and "Location" not in response.headers
    assert "invalid_request" in response.text
