"""The tokens of a sign-in: the ``stateToken`` that names a transaction, the one-time ``sessionToken`` it ends with.

Scenario: alice on the ``default`` server; a confidential ``web`` client and a public ``spa`` client
that skip consent, so a redeemed sessionToken leads straight back to the client with a code. A
sessionToken is redeemed at ``/authorize?...&sessionToken=`` or at ``/login/sessionCookieRedirect``
(a trusted origin registered for redirects, or the IdP itself), once, within five minutes.
"""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlencode, urlsplit

import pytest
import requests
from django.conf import settings as django_settings
from django.shortcuts import resolve_url
from django.utils import timezone

from oidc_flows import claims as claims_module
from oidc_flows.authn import events
from oidc_flows.authn.models import AuthEvent, OneTimeToken, TokenPurpose, Transaction, TrustedOrigin
from tests.authn.api_support import (
    assert_error,
    assert_ok,
    code_for,
    give_totp,
    parse_instant,
    post,
    sign_in,
    state_of,
)
from tests.factories import make_client, make_user
from tests.support.jose import verify_jwt
from tests.support.oauth import AuthorizationRequest, location_params


APP = "https://app.example"


@pytest.fixture(params=["web", "spa"])
def client(request, user):
    return make_client(app_type=request.param, skip_consent=True)


def session_token(base_url: str, username: str = "alice") -> str:
    return assert_ok(sign_in(base_url, username), "SUCCESS")["sessionToken"]


def authorize(url: str, http: requests.Session | None = None) -> requests.Response:
    return (http or requests.Session()).get(url, allow_redirects=False, timeout=10)


def with_token(auth: AuthorizationRequest, token: str, **extra: str) -> str:
    return f"{auth.url}&{urlencode({'sessionToken': token, **extra})}"


def goes_to_sign_in(response: requests.Response) -> bool:
    login = resolve_url(django_settings.LOGIN_URL)
    return response.status_code == 302 and urlsplit(response.headers["Location"]).path == login


# -- the sessionToken at /authorize ---------------------------------------------------------------------------


def test_a_session_token_is_redeemed_at_authorize_without_a_page(base_url, default_server, client):
    auth = AuthorizationRequest(client, default_server)

    response = authorize(with_token(auth, session_token(base_url)))

    assert response.status_code == 302, response.text[:300]
    assert response.headers["Location"].startswith(auth.redirect_uri)
    params = location_params(response)
    assert params["code"] and params["state"] == auth.state


def test_the_code_it_gives_carries_the_sign_in(base_url, default_server, user):
    factor, secret = give_totp(user)
    web = make_client(app_type="web", skip_consent=True)
    state = assert_ok(sign_in(base_url), "MFA_REQUIRED")["stateToken"]
    token = assert_ok(
        post(base_url, f"/factors/{factor.pk}/verify", {"stateToken": state, "passCode": code_for(secret)}), "SUCCESS"
    )["sessionToken"]
    auth = AuthorizationRequest(web, default_server)

    tokens = auth.exchange(authorize(with_token(auth, token)))

    claims = verify_jwt(
        tokens["id_token"],
        jwks_url=default_server.endpoint_url("keys"),
        issuer=default_server.issuer,
        audience=web.client_id,
    )
    assert claims["nonce"] == auth.nonce
    assert {"pwd", "otp", "mfa"} <= set(claims["amr"])


def test_a_session_token_works_once(base_url, default_server, client):
    auth = AuthorizationRequest(client, default_server)
    token = session_token(base_url)
    assert "code" in location_params(authorize(with_token(auth, token)))

    again = authorize(with_token(AuthorizationRequest(client, default_server), token))

    assert goes_to_sign_in(again)


def test_a_spent_session_token_with_prompt_none_is_login_required(base_url, default_server, client):
    auth = AuthorizationRequest(client, default_server)
    token = session_token(base_url)
    authorize(with_token(auth, token))
    second = AuthorizationRequest(client, default_server)

    response = authorize(with_token(second, token, prompt="none"))

    params = location_params(response)
    assert params["error"] == "login_required" and "code" not in params


def test_an_expired_session_token_is_refused(base_url, default_server, client):
    token = session_token(base_url)
    OneTimeToken.objects.filter(purpose=TokenPurpose.SESSION).update(expires=timezone.now() - timedelta(seconds=1))

    response = authorize(with_token(AuthorizationRequest(client, default_server), token))

    assert goes_to_sign_in(response)


def test_a_session_token_expires_in_five_minutes(base_url, user):
    body = assert_ok(sign_in(base_url), "SUCCESS")

    stored = OneTimeToken.objects.get(purpose=TokenPurpose.SESSION)
    assert timedelta(minutes=4) < stored.expires - timezone.now() <= timedelta(minutes=5)
    assert abs(parse_instant(body["expiresAt"]) - stored.expires) < timedelta(seconds=2)
    assert body["sessionToken"] not in stored.token_hash  # stored as a hash only


def test_a_session_token_of_a_deactivated_user_is_refused(base_url, default_server, client, user):
    token = session_token(base_url)
    user.is_active = False
    user.save(update_fields=["is_active"])

    assert goes_to_sign_in(authorize(with_token(AuthorizationRequest(client, default_server), token)))


def test_a_session_token_replaces_another_user_s_session(base_url, default_server, user):
    make_user(username="bob")
    web = make_client(app_type="web", skip_consent=True)
    browser = requests.Session()
    first = AuthorizationRequest(web, default_server)
    authorize(with_token(first, session_token(base_url, "bob")), browser)
    second = AuthorizationRequest(web, default_server, scope="openid")

    tokens = second.exchange(authorize(with_token(second, session_token(base_url, "alice")), browser))

    claims = verify_jwt(
        tokens["id_token"],
        jwks_url=default_server.endpoint_url("keys"),
        issuer=default_server.issuer,
        audience=web.client_id,
    )
    assert claims["sub"] == claims_module.adapter().subject(user)
    assert AuthEvent.objects.filter(event_type=events.SESSION_START, user=user).count() == 1


# -- /login/sessionCookieRedirect -----------------------------------------------------------------------------


def cookie_redirect(base_url: str, token: str, target: str, http: requests.Session | None = None):
    url = f"{base_url}/login/sessionCookieRedirect?{urlencode({'token': token, 'redirectUrl': target})}"
    return (http or requests.Session()).get(url, allow_redirects=False, timeout=10)


@pytest.fixture
def redirect_origin(transactional_db):
    return TrustedOrigin.objects.create(name="The app", origin=APP, cors=False, redirect=True)


def test_session_cookie_redirect_to_a_trusted_origin(base_url, default_server, client, redirect_origin):
    browser = requests.Session()

    response = cookie_redirect(base_url, session_token(base_url), f"{APP}/after?x=1", browser)

    assert response.status_code == 302
    assert response.headers["Location"] == f"{APP}/after?x=1"
    auth = AuthorizationRequest(client, default_server)
    assert "code" in location_params(authorize(auth.url, browser))  # the browser has the IdP session


def test_session_cookie_redirect_to_the_idp_itself(base_url, user):
    response = cookie_redirect(base_url, session_token(base_url), f"{base_url}/account/")

    assert response.status_code == 302
    assert response.headers["Location"] == f"{base_url}/account/"


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example/",
        "https://app.example.evil.example/",
        "https://evil.example/?https://app.example",
        "javascript:alert(1)",
        "",
    ],
)
def test_session_cookie_redirect_refuses_an_untrusted_url(base_url, default_server, client, redirect_origin, target):
    token = session_token(base_url)

    response = cookie_redirect(base_url, token, target)

    assert response.status_code == 400
    assert "Location" not in response.headers
    # The token was not spent: it still signs in.
    assert "code" in location_params(authorize(with_token(AuthorizationRequest(client, default_server), token)))


def test_session_cookie_redirect_refuses_an_origin_trusted_for_cors_only(base_url, user):
    TrustedOrigin.objects.create(name="CORS only", origin=APP, cors=True, redirect=False)

    response = cookie_redirect(base_url, session_token(base_url), f"{APP}/after")

    assert response.status_code == 400 and "Location" not in response.headers


def test_session_cookie_redirect_works_once(base_url, redirect_origin, user):
    token = session_token(base_url)
    assert cookie_redirect(base_url, token, f"{APP}/").status_code == 302

    response = cookie_redirect(base_url, token, f"{APP}/")

    assert response.status_code == 400 and "Location" not in response.headers


@pytest.mark.parametrize("token", ["", "nope", "x" * 43])
def test_session_cookie_redirect_refuses_a_made_up_token(base_url, redirect_origin, token):
    response = cookie_redirect(base_url, token, f"{APP}/")

    assert response.status_code == 400 and "Location" not in response.headers


# -- the stateToken -------------------------------------------------------------------------------------------


@pytest.fixture
def mfa_state(base_url, user) -> tuple[str, object, str]:
    factor, secret = give_totp(user)
    return assert_ok(sign_in(base_url), "MFA_REQUIRED")["stateToken"], factor, secret


def test_the_state_token_names_the_transaction(base_url, mfa_state):
    state, factor, _ = mfa_state

    body = assert_ok(state_of(base_url, state), "MFA_REQUIRED")

    assert body["stateToken"] == state
    assert [f["id"] for f in body["_embedded"]["factors"]] == [factor.pk]
    assert not Transaction.objects.filter(token_hash__contains=state).exists()  # stored as a hash only


def test_a_state_token_is_spent_by_success(base_url, mfa_state):
    state, factor, secret = mfa_state
    assert_ok(
        post(base_url, f"/factors/{factor.pk}/verify", {"stateToken": state, "passCode": code_for(secret)}), "SUCCESS"
    )

    assert_error(state_of(base_url, state), "E0000011")
    assert_error(
        post(base_url, f"/factors/{factor.pk}/verify", {"stateToken": state, "passCode": "000000"}), "E0000011"
    )


def test_a_state_token_is_spent_by_cancel(base_url, mfa_state):
    state, factor, secret = mfa_state

    body = assert_ok(post(base_url, "/cancel", {"stateToken": state}), "UNAUTHENTICATED")

    assert "stateToken" not in body
    assert_error(state_of(base_url, state), "E0000011")
    answer = {"stateToken": state, "passCode": code_for(secret)}
    assert_error(post(base_url, f"/factors/{factor.pk}/verify", answer), "E0000011")
    assert_error(post(base_url, "/cancel", {"stateToken": state}), "E0000011")


def test_an_expired_state_token_is_refused(base_url, mfa_state):
    state, factor, secret = mfa_state
    Transaction.objects.update(expires=timezone.now() - timedelta(seconds=1))

    assert_error(state_of(base_url, state), "E0000011")
    answer = {"stateToken": state, "passCode": code_for(secret)}
    assert_error(post(base_url, f"/factors/{factor.pk}/verify", answer), "E0000011")


def test_a_state_token_expires_five_minutes_after_its_last_step(base_url, mfa_state):
    state, _, _ = mfa_state

    body = assert_ok(state_of(base_url, state), "MFA_REQUIRED")

    remaining = parse_instant(body["expiresAt"]) - timezone.now()
    assert timedelta(minutes=4) < remaining <= timedelta(minutes=5)


@pytest.mark.parametrize("state", ["", "short", "x" * 43, "x" * 129, 7, None, ["x" * 43], {"a": "b"}])
def test_a_made_up_state_token_is_refused(base_url, user, state):
    assert_error(post(base_url, "", {"stateToken": state}), "E0000011")
    assert_error(post(base_url, "/cancel", {"stateToken": state}), "E0000011")
