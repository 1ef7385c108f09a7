"""The hosted sign-in pages drive the sign-in state machine: password, second factor, enrollment, recovery, account.

Scenario: the ``default`` server, a web client asking for ``openid profile``, alice in a browser over
HTTP (requests with cookies). She signs in at /login/ (through /authorize), answers what the sign-on
policy asks for on /signin/, and is sent back to the client; her recovery mail goes to Django's
local-memory outbox (the live server runs in this process).
"""

from __future__ import annotations

import re
import time
from datetime import timedelta
from importlib import import_module
from urllib.parse import urljoin, urlsplit

import pyotp
import pytest
import requests
from django.conf import settings as django_settings
from django.contrib.auth import get_user_model
from django.utils import timezone

from oidc_flows import lockout, sessions
from oidc_flows.authn import events
from oidc_flows.authn.factors import totp
from oidc_flows.authn.models import (
    AuthEvent,
    Enrollment,
    EnrollmentPolicy,
    Factor,
    FactorStatus,
    FactorType,
    PasswordPolicy,
)
from oidc_flows.models import UserProfile
from tests.factories import PASSWORD, make_user
from tests.support.jose import verify_jwt
from tests.support.oauth import AuthorizationRequest, Browser, is_sign_in_form, location_params


SCENARIO = {"server": "default", "scopes": "openid profile"}
WRONG = "not " + PASSWORD
#: Passes Django's password validators and differs from PASSWORD.
NEW_PASSWORD = "an entirely new passphrase 4 tests"
STATE_KEY = "oidc_flows.authn.state"  # written here, not imported: the test states where the token lives
LINK = re.compile(r"https?://\S+/signin/(?:reset-password|unlock)/[A-Za-z0-9_\-]+")
ALERT = re.compile(r'<div class="alert alert-error" role="alert">(.*?)</div>', re.S)


# -- helpers ------------------------------------------------------------------------------------------------


def hidden(page: requests.Response, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', page.text)
    assert match, f"no {name} on the page"
    return match.group(1)


def alert(page: requests.Response) -> str:
    match = ALERT.search(page.text)
    assert match, "no error shown"
    return " ".join(re.sub(r"<[^>]+>", "", match.group(1)).split())


def post(browser: Browser, path: str, page: requests.Response, data: dict) -> requests.Response:
    return browser.post_form(f"{browser.base_url}{path}", page, data)


def follow(browser: Browser, response: requests.Response) -> requests.Response:
    assert response.status_code in (302, 303), (response.status_code, response.text[:500])
    return browser.follow(urljoin(browser.base_url, response.headers["Location"]))


def is_code_page(page: requests.Response) -> bool:
    return (
        page.status_code == 200
        and 'autocomplete="one-time-code"' in page.text
        and 'inputmode="numeric"' in page.text
        and not is_sign_in_form(page)
    )


def code(secret: str, steps_ahead: int = 0) -> str:
    """The TOTP code of now (or of a later time step: each step's code is accepted once)."""
    return pyotp.TOTP(secret).at(time.time() + 30 * steps_ahead)


def session_value(browser: Browser, key: str):
    store = import_module(django_settings.SESSION_ENGINE).SessionStore(browser.http.cookies["sessionid"])
    return store.get(key)


def age_sign_in(browser: Browser, seconds: int) -> None:
    """Pretend alice signed in ``seconds`` ago (the session's auth_time)."""
    store = import_module(django_settings.SESSION_ENGINE).SessionStore(browser.http.cookies["sessionid"])
    store[sessions.AUTH_TIME_KEY] = int(time.time()) - seconds
    store.save()


def is_signed_in(browser: Browser) -> bool:
    return browser.get(f"{browser.base_url}/account/").status_code == 200


def signs_in(base_url: str, password: str) -> bool:
    return Browser(base_url).sign_in(password=password).status_code == 302


@pytest.fixture
def auth(default_server, pages_web) -> AuthorizationRequest:
    return AuthorizationRequest(pages_web, default_server, scope=SCENARIO["scopes"])


@pytest.fixture
def signed_in(browser) -> Browser:
    assert browser.sign_in().status_code == 302
    return browser


# -- password only ------------------------------------------------------------------------------------------


def test_a_password_alone_still_goes_straight_back_to_the_authorization_request(browser, auth):
    response = browser.authorize(auth.url)

    assert any(is_sign_in_form(page) for page in browser.pages)
    assert "code" in location_params(response)


def test_a_wrong_password_says_how_to_get_back_in_without_confirming_the_account(base_url, user):
    make_user(username="bob")
    answers = [Browser(base_url).sign_in(username=name, password=WRONG) for name in ("bob", "mallory")]

    assert alert(answers[0]) == alert(answers[1])
    assert "If your account is locked, use Unlock account" in alert(answers[0])
    assert 'href="/signin/unlock' in answers[0].text and 'href="/signin/forgot-password' in answers[0].text
    assert 'aria-describedby="page-error"' in answers[0].text  # the password field names the error


def test_a_foreign_next_is_not_followed(browser):
    page = browser.get(f"{browser.base_url}/login/")

    response = post(
        browser, "/login/", page, {"username": "alice", "password": PASSWORD, "next": "https://evil.example/"}
    )

    assert response.status_code == 302 and response.headers["Location"] == "/"


def test_too_many_attempts_answer_429_with_the_wait(browser, settings, user):
    limits = {"authn": {"username": [2, 60], "address": [1000, 60]}}
    settings.OIDC_FLOWS = {**settings.OIDC_FLOWS, "AUTHN_RATE_LIMITS": limits}
    for _ in range(2):
        browser.sign_in(password=WRONG)

    response = browser.sign_in()

    assert response.status_code == 429
    assert 0 < int(response.headers["Retry-After"]) <= 60
    assert re.search(r"Too many attempts, try again in \d+ seconds?\.", alert(response))


def test_the_step_page_without_a_sign_in_goes_to_the_sign_in_page(browser):
    response = browser.get(f"{browser.base_url}/signin/")

    assert response.status_code == 302 and urlsplit(response.headers["Location"]).path == "/login/"


# -- a second factor ----------------------------------------------------------------------------------------


def test_an_authenticator_app_code_completes_the_sign_in(browser, auth, pages_totp):
    factor, secret = pages_totp
    page = browser.authorize(auth.url)
    assert is_code_page(page), page.text[:500]

    response = post(browser, "/signin/verify", page, {"factor": hidden(page, "factor"), "code": code(secret)})

    back = browser.authorize(urljoin(browser.base_url, response.headers["Location"]))
    assert "code" in location_params(back)
    assert hidden(page, "factor") == factor.pk


def test_the_id_token_says_a_password_and_an_otp_were_used(browser, auth, default_server, pages_web, pages_totp):
    _factor, secret = pages_totp
    page = browser.authorize(auth.url)
    response = post(browser, "/signin/verify", page, {"factor": hidden(page, "factor"), "code": code(secret)})
    token = auth.exchange(browser.authorize(urljoin(browser.base_url, response.headers["Location"])))

    claims = verify_jwt(
        token["id_token"],
        jwks_url=default_server.endpoint_url("keys"),
        issuer=default_server.issuer,
        audience=pages_web.client_id,
    )
    assert {"pwd", "otp", "mfa"} <= set(claims["amr"]), claims.get("amr")


def test_a_wrong_code_is_shown_as_an_error_on_the_code_page(browser, auth, pages_totp):
    _factor, secret = pages_totp
    page = browser.authorize(auth.url)

    wrong = post(browser, "/signin/verify", page, {"factor": hidden(page, "factor"), "code": code(secret, 5)})

    assert is_code_page(wrong)
    assert alert(wrong) == "The code is wrong or has expired."
    assert 'aria-invalid="true"' in wrong.text and 'aria-describedby="page-error' in wrong.text
    assert not is_signed_in(browser)
    right = post(browser, "/signin/verify", wrong, {"factor": hidden(wrong, "factor"), "code": code(secret)})
    assert "code" in location_params(browser.authorize(urljoin(browser.base_url, right.headers["Location"])))


def test_the_state_token_stays_in_the_session(browser, auth, pages_totp):
    page = browser.authorize(auth.url)

    raw = session_value(browser, STATE_KEY)

    assert raw and len(raw) >= 20
    assert all(raw not in p.text and raw not in p.url for p in [*browser.pages, page])
    assert all(raw not in p.headers.get("Location", "") for p in browser.pages)


def test_email_codes_are_sent_on_request_and_answer_the_challenge(browser, auth, user, mailoutbox):
    Factor.objects.create(
        user=user, factor_type=FactorType.EMAIL, status=FactorStatus.ACTIVE, profile={"email": user.email}
    )
    page = browser.authorize(auth.url)
    assert "Send me a code" in page.text

    challenge = follow(browser, post(browser, "/signin/verify", page, {"factor": hidden(page, "factor")}))

    assert is_code_page(challenge) and "a…@example.com" in challenge.text
    sent = re.search(r"\b(\d{6})\b", mailoutbox[-1].body).group(1)
    response = post(browser, "/signin/verify", challenge, {"factor": hidden(challenge, "factor"), "code": sent})
    assert "code" in location_params(browser.authorize(urljoin(browser.base_url, response.headers["Location"])))


def test_after_asking_for_an_email_code_the_app_code_still_works(browser, auth, user, pages_totp, mailoutbox):
    totp_factor, secret = pages_totp
    email = Factor.objects.create(
        user=user, factor_type=FactorType.EMAIL, status=FactorStatus.ACTIVE, profile={"email": user.email}
    )
    page = browser.authorize(auth.url)
    assert f'href="?factor={email.pk}"' in page.text  # "other ways to verify"
    chosen = browser.get(f"{browser.base_url}/signin/?factor={email.pk}")
    challenge = follow(browser, post(browser, "/signin/verify", chosen, {"factor": email.pk}))

    response = post(browser, "/signin/verify", challenge, {"factor": totp_factor.pk, "code": code(secret)})

    assert "code" in location_params(browser.authorize(urljoin(browser.base_url, response.headers["Location"])))


def test_a_new_email_code_can_be_sent_and_another_way_chosen(browser, auth, user, pages_totp, mailoutbox):
    email = Factor.objects.create(
        user=user, factor_type=FactorType.EMAIL, status=FactorStatus.ACTIVE, profile={"email": user.email}
    )
    browser.authorize(auth.url)
    chosen = browser.get(f"{browser.base_url}/signin/?factor={email.pk}")
    challenge = follow(browser, post(browser, "/signin/verify", chosen, {"factor": email.pk}))

    again = follow(browser, post(browser, "/signin/resend", challenge, {}))
    assert "We sent you a new code." in again.text and len(mailoutbox) == 2
    back = follow(browser, post(browser, "/signin/previous", again, {}))
    assert is_code_page(back) and "Enter the 6-digit code from your authenticator app." in back.text


# -- enrollment and password expiry --------------------------------------------------------------------------


def test_a_required_authenticator_app_is_set_up_during_sign_in(browser, auth, user):
    EnrollmentPolicy.objects.create(name="Apps for all", priority=1, totp=Enrollment.REQUIRED)
    page = browser.authorize(auth.url)
    assert "Set up another way to sign in" in page.text

    setup = follow(browser, post(browser, "/signin/enroll", page, {"factor_type": FactorType.TOTP}))

    secret = re.search(r'<code id="totp-secret" class="secret">([A-Z2-7 ]+)</code>', setup.text).group(1)
    assert '<svg role="img" aria-label="QR code to scan with your authenticator app"' in setup.text
    response = post(browser, "/signin/activate", setup, {"code": code(secret.replace(" ", ""))})
    assert "code" in location_params(browser.authorize(urljoin(browser.base_url, response.headers["Location"])))
    assert Factor.objects.get(user=user, factor_type=FactorType.TOTP).status == FactorStatus.ACTIVE


def test_an_expired_password_is_changed_before_going_on(browser, auth, user):
    PasswordPolicy.objects.create(name="Yearly", priority=1, max_age_days=365)
    UserProfile.objects.filter(user=user).update(password_changed=timezone.now() - timedelta(days=400))
    page = browser.authorize(auth.url)
    assert "Your password has expired" in page.text and 'autocomplete="new-password"' in page.text

    mismatch = post(
        browser,
        "/signin/change-password",
        page,
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD + "x"},
    )
    assert "The two passwords differ." in mismatch.text
    response = post(
        browser,
        "/signin/change-password",
        mismatch,
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )

    assert "code" in location_params(browser.authorize(urljoin(browser.base_url, response.headers["Location"])))
    assert signs_in(browser.base_url, NEW_PASSWORD) and not signs_in(browser.base_url, PASSWORD)


def test_the_expiry_warning_can_be_skipped(browser, auth, user):
    PasswordPolicy.objects.create(name="Warned", priority=1, max_age_days=30, warn_days=10)
    UserProfile.objects.filter(user=user).update(password_changed=timezone.now() - timedelta(days=25))
    page = browser.authorize(auth.url)
    assert "Your password expires soon" in page.text and "Not now" in page.text

    response = post(browser, "/signin/skip", page, {})

    assert "code" in location_params(browser.authorize(urljoin(browser.base_url, response.headers["Location"])))


def test_a_lockout_is_named_when_the_policy_says_so(base_url, user):
    PasswordPolicy.objects.create(name="Tell", priority=1, show_lockout_status=True)
    for _ in range(lockout.MAX_FAILURES):
        Browser(base_url).sign_in(password=WRONG)

    response = Browser(base_url).sign_in()

    assert is_sign_in_form(response) and "Your account is locked" in alert(response)


# -- recovery -------------------------------------------------------------------------------------------------


def ask(browser: Browser, path: str, username: str = "alice") -> requests.Response:
    page = browser.get(f"{browser.base_url}{path}")
    assert page.status_code == 200 and 'autocomplete="username"' in page.text
    return post(browser, path, page, {"username": username})


def open_link(browser: Browser, link: str) -> requests.Response:
    """Open the mailed link, press Continue."""
    page = browser.get(link)
    assert page.status_code == 200 and "Continue" in page.text
    return browser.post_form(link, page, {})


def test_forgot_password_by_email_signs_in_with_the_new_password(browser, user, pages_mail):
    answer = ask(browser, "/signin/forgot-password")
    assert "If an account exists for that username, we sent an email" in answer.text

    link = LINK.search(pages_mail()).group(0)
    assert link.startswith(f"{browser.base_url}/signin/reset-password/")
    form = follow(browser, open_link(browser, link))
    assert "Choose a new password" in form.text

    weak = post(browser, "/signin/new-password", form, {"new_password1": "short", "new_password2": "short"})
    assert "This password is too short" in weak.text and 'id="id_new_password1_error"' in weak.text
    done = post(browser, "/signin/new-password", weak, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})

    assert done.status_code == 302 and is_signed_in(browser)
    assert signs_in(browser.base_url, NEW_PASSWORD) and not signs_in(browser.base_url, PASSWORD)
    assert browser.get(link).status_code == 200 and open_link(browser, link).status_code == 400  # used once


def test_forgot_password_answers_the_same_for_an_unknown_user(browser, user, mailoutbox):
    unknown = ask(browser, "/signin/forgot-password", "mallory")
    known = ask(Browser(browser.base_url), "/signin/forgot-password", "alice")

    assert unknown.status_code == known.status_code == 200
    assert re.sub(r'value="[^"]+"', "", unknown.text) == re.sub(r'value="[^"]+"', "", known.text)


def test_a_locked_account_is_unlocked_by_email(base_url, user, pages_mail):
    for _ in range(lockout.MAX_FAILURES):
        Browser(base_url).sign_in(password=WRONG)
    assert lockout.is_locked(user)
    browser = Browser(base_url)

    ask(browser, "/signin/unlock")
    link = LINK.search(pages_mail()).group(0)
    unlocked = open_link(browser, link)

    assert unlocked.status_code == 200 and "Your account is unlocked, sign in" in unlocked.text
    assert not lockout.is_locked(user) and signs_in(base_url, PASSWORD)


def test_a_reset_asks_for_the_app_code_of_a_user_who_has_one(browser, user, pages_totp, pages_mail):
    _factor, secret = pages_totp
    ask(browser, "/signin/forgot-password")
    page = follow(browser, open_link(browser, LINK.search(pages_mail()).group(0)))
    assert "Verify it's you" in page.text and 'autocomplete="one-time-code"' in page.text

    wrong = post(browser, "/signin/answer", page, {"code": code(secret, 5)})
    assert "wrong" in alert(wrong)
    form = follow(browser, post(browser, "/signin/answer", wrong, {"code": code(secret)}))

    done = post(browser, "/signin/new-password", form, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert done.status_code == 302 and is_signed_in(browser)


def test_a_spent_or_made_up_link_is_refused(browser, user):
    made_up = f"{browser.base_url}/signin/reset-password/{'x' * 43}"

    response = open_link(browser, made_up)

    assert response.status_code == 400 and "Ask for a new link" in response.text


# -- /account/ -----------------------------------------------------------------------------------------------


def test_the_account_page_lists_sign_in_methods_and_recent_sign_ins(browser, user, pages_totp):
    factor, secret = pages_totp
    browser.sign_in(password=WRONG)
    page = follow(browser, browser.sign_in())
    post(browser, "/signin/verify", page, {"factor": factor.pk, "code": code(secret)})

    account = browser.get(f"{browser.base_url}/account/")

    assert account.status_code == 200
    assert "Authenticator app (TOTP)" in account.text and f"/account/factors/{factor.pk}/remove" in account.text
    assert "Recent sign-ins" in account.text and "Wrong password" in account.text and "Signed in" in account.text


def test_removing_a_factor_right_after_signing_in_needs_no_password(signed_in, user):
    factor, _secret = totp.enroll_active(user)
    url = f"{signed_in.base_url}/account/factors/{factor.pk}/remove"
    page = signed_in.get(url)
    assert page.status_code == 200 and 'name="current_password"' not in page.text

    response = signed_in.post_form(url, page, {})

    assert response.status_code == 302 and not Factor.objects.filter(pk=factor.pk).exists()
    assert AuthEvent.objects.filter(event_type=events.FACTOR_REMOVE, user=user).exists()


def test_removing_a_factor_later_needs_the_password(signed_in, user, pages_totp):
    factor, _secret = pages_totp
    age_sign_in(signed_in, 600)
    url = f"{signed_in.base_url}/account/factors/{factor.pk}/remove"
    page = signed_in.get(url)
    assert 'name="current_password"' in page.text and 'autocomplete="current-password"' in page.text

    refused = [signed_in.post_form(url, page, data) for data in ({}, {"current_password": WRONG})]
    assert all(r.status_code == 200 and "Your current password is wrong." in r.text for r in refused)
    assert Factor.objects.filter(pk=factor.pk).exists()
    assert signed_in.post_form(url, page, {"current_password": PASSWORD}).status_code == 302
    assert not Factor.objects.filter(pk=factor.pk).exists()


def test_removing_a_factor_needs_the_csrf_token_and_only_reaches_ones_own(signed_in, user, pages_totp):
    factor, _secret = pages_totp
    url = f"{signed_in.base_url}/account/factors/{factor.pk}/remove"
    forged = signed_in.http.post(url, data={}, headers={"Referer": url}, allow_redirects=False, timeout=10)
    bob = make_user(username="bob")
    bobs, _ = totp.enroll_active(bob)
    foreign = signed_in.get(f"{signed_in.base_url}/account/factors/{bobs.pk}/remove")

    assert forged.status_code == 403 and foreign.status_code == 404
    assert Factor.objects.filter(pk__in=[factor.pk, bobs.pk]).count() == 2


def test_an_authenticator_app_is_added_on_the_account_page(signed_in, user):
    account = signed_in.get(f"{signed_in.base_url}/account/")

    setup = follow(signed_in, post(signed_in, "/account/factors/add", account, {"factor_type": FactorType.TOTP}))
    secret = re.search(r'<code id="totp-secret" class="secret">([A-Z2-7 ]+)</code>', setup.text).group(1)
    wrong = post(signed_in, "/account/factors/activate", setup, {"code": code(secret.replace(" ", ""), 5)})
    assert alert(wrong) == "The code is wrong or has expired."
    done = follow(
        signed_in, post(signed_in, "/account/factors/activate", wrong, {"code": code(secret.replace(" ", ""))})
    )

    assert "Your authenticator app is set up." in done.text
    assert Factor.objects.get(user=user, factor_type=FactorType.TOTP).status == FactorStatus.ACTIVE


def test_new_recovery_codes_are_shown_once(signed_in, user):
    account = signed_in.get(f"{signed_in.base_url}/account/")

    shown = post(signed_in, "/account/factors/add", account, {"factor_type": FactorType.RECOVERY_CODE})

    codes = re.findall(r"<li><code>([a-z0-9]{5}-[a-z0-9]{5})</code></li>", shown.text)
    assert shown.status_code == 200 and len(codes) == 10
    again = signed_in.get(f"{signed_in.base_url}/account/")
    assert not any(c in again.text for c in codes) and "10 unused" in again.text


def test_the_password_is_changed_on_the_account_page_with_the_current_one(signed_in, user):
    url = f"{signed_in.base_url}/account/password"
    page = signed_in.get(url)
    new = {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}

    wrong = signed_in.post_form(url, page, {"old_password": WRONG, **new})
    assert wrong.status_code == 200 and "Your current password is wrong." in wrong.text
    done = signed_in.post_form(url, page, {"old_password": PASSWORD, **new})

    assert done.status_code == 302 and is_signed_in(signed_in)
    assert get_user_model().objects.get(pk=user.pk).check_password(NEW_PASSWORD)


@pytest.mark.parametrize(
    "path", ["/signin/forgot-password", "/signin/unlock", "/account/password", "/signin/reset-password/" + "x" * 43]
)
def test_the_new_pages_are_never_framed_nor_cached(signed_in, path):
    response = signed_in.get(f"{signed_in.base_url}{path}")

    assert response.status_code == 200
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "no-store" in response.headers["Cache-Control"] or "no-cache" in response.headers["Cache-Control"]
