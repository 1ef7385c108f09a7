"""The Device Authorization Grant (RFC 8628), over HTTP against a live server.

Scenario: the ``default`` server; ``tv``, a native application an administrator enabled for the device
grant (and refresh tokens), asks /v1/device/authorize for codes and polls /v1/token; alice types the
user code on /activate in her browser, signs in and allows or denies. The end-to-end run with a real
client library (openid-client) and Chromium is tests/interop/test_openid_client_device.py.
"""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import urljoin

import pytest
import requests
from django.utils import timezone

from oidc_flows import claims, cleanup, device, policy
from oidc_flows.models import AuthorizationServer, DeviceAuthorization, DeviceStatus, SignOnPolicy, SignOnRule
from tests.authn import test_pages_browser as pages_browser
from tests.factories import PASSWORD, make_client
from tests.support.jose import verify_jwt
from tests.support.oauth import Browser


DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
SCENARIO = {"server": "default", "scopes": "openid profile offline_access"}


# Chromium and axe-core as tests/authn drives them (skipped, saying why, without them).
chromium, localhost, tab, axe = pages_browser.chromium, pages_browser.localhost, pages_browser.tab, pages_browser.axe


@pytest.fixture
def tv(user):
    return make_client(app_type="native", redirect_uris=(), grant_types=[DEVICE_GRANT, "refresh_token"])


def subject(user) -> str:
    """The ``sub`` of ``user`` (one place, for the subject-identifier change)."""
    return claims.adapter().subject(user)


def start(server, client, scope: str = SCENARIO["scopes"], **extra) -> requests.Response:
    data = {"client_id": client.client_id, "scope": scope, **extra}
    return requests.post(server.endpoint_url("device/authorize"), data=data, timeout=10)


def poll(server, client, device_code: str) -> requests.Response:
    data = {"grant_type": DEVICE_GRANT, "device_code": device_code, "client_id": client.client_id}
    return requests.post(server.endpoint_url("token"), data=data, timeout=10)


def answer(browser: Browser, user_code: str, decision: str = "allow") -> requests.Response:
    """Type ``user_code`` on /activate, sign in when asked, and answer the consent page; the last page."""
    page = browser.get(f"{browser.base_url}/activate")
    response = browser.post_form(f"{browser.base_url}/activate", page, {"user_code": user_code})
    for _ in range(8):
        if response.status_code in (301, 302, 303):
            response = browser.get(urljoin(response.url, response.headers["Location"]))
        elif 'name="password"' in response.text:
            response = browser.post_form(response.url, response, {"username": "alice", "password": PASSWORD})
        elif 'name="decision"' in response.text:
            response = browser.post_form(f"{browser.base_url}/activate/confirm", response, {"decision": decision})
        else:
            return response
    raise AssertionError("too many steps")


def error_of(response: requests.Response) -> str:
    assert response.headers["Cache-Control"] == "no-store", response.headers
    return response.json()["error"]


# -- /device/authorize (RFC 8628 §3.1, §3.2) -----------------------------------------------------------


def test_device_authorization_response(default_server, tv):
    response = start(default_server, tv)

    assert response.status_code == 200, response.text
    assert response.headers["Cache-Control"] == "no-store"
    body = response.json()
    assert re.fullmatch(r"[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}", body["user_code"])
    assert body["verification_uri"] == f"{default_server.issuer.split('/oauth2/')[0]}/activate"
    assert body["verification_uri_complete"] == f"{body['verification_uri']}?user_code={body['user_code']}"
    assert body["expires_in"] == 600 and body["interval"] == 5
    row = DeviceAuthorization.objects.get()
    assert row.device_code_hash != body["device_code"]  # a credential: only its hash is kept
    assert row.device_code_hash == device.digest(body["device_code"])


@pytest.mark.parametrize(
    ("make", "data", "status", "error"),
    [
        # RFC 6749 §5.2 errors of RFC 8628 §3.2: no such client, a client without the grant, an unknown scope.
        (lambda: None, {"client_id": "nobody"}, 401, "invalid_client"),
        (lambda: make_client(app_type="native"), {}, 400, "unauthorized_client"),
        (
            lambda: make_client(app_type="native", redirect_uris=(), grant_types=[DEVICE_GRANT]),
            {"scope": "nope"},
            400,
            "invalid_scope",
        ),
    ],
    ids=["unknown-client", "grant-not-enabled", "unknown-scope"],
)
def test_device_authorization_errors(default_server, user, make, data, status, error):
    client = make()
    body = {"client_id": client.client_id} if client else {}
    response = requests.post(default_server.endpoint_url("device/authorize"), data=body | data, timeout=10)

    assert response.status_code == status, response.text
    assert error_of(response) == error


def test_discovery_names_the_endpoint_and_the_grant(default_server):
    doc = requests.get(default_server.discovery_url, timeout=10).json()

    assert doc["device_authorization_endpoint"] == default_server.endpoint_url("device/authorize")
    assert DEVICE_GRANT in doc["grant_types_supported"]


# -- polling /token (RFC 8628 §3.4, §3.5) -------------------------------------------------------------


def test_allowed_on_activate_then_tokens(default_server, tv, user, browser):
    codes = start(default_server, tv).json()
    assert error_of(poll(default_server, tv, codes["device_code"])) == "authorization_pending"

    page = answer(browser, codes["user_code"].lower().replace("-", " "))  # RFC 8628 §6.1: typed loosely
    assert "You may now return to your device." in page.text
    response = poll(default_server, tv, codes["device_code"])

    assert response.status_code == 200, response.text
    tokens = response.json()
    assert {"access_token", "id_token", "refresh_token"} <= tokens.keys()
    id_token = verify_jwt(
        tokens["id_token"],
        jwks_url=default_server.endpoint_url("keys"),
        issuer=default_server.issuer,
        audience=tv.client_id,
    )
    assert id_token["sub"] == subject(user)
    assert id_token["amr"] == ["pwd"] and abs(id_token["auth_time"] - timezone.now().timestamp()) < 60
    access = verify_jwt(
        tokens["access_token"],
        jwks_url=default_server.endpoint_url("keys"),
        issuer=default_server.issuer,
        audience="api://default",
        typ="at+jwt",
    )
    assert access["sub"] == subject(user) and set(access["scp"]) == set(SCENARIO["scopes"].split())
    # The refresh token works like any other (RFC 6749 §6).
    refreshed = requests.post(
        default_server.endpoint_url("token"),
        data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"], "client_id": tv.client_id},
        timeout=10,
    )
    assert refreshed.status_code == 200, refreshed.text
    # Single use: the same device_code again is invalid_grant (RFC 6749 §5.2).
    again = poll(default_server, tv, codes["device_code"])
    assert again.status_code == 400 and error_of(again) == "invalid_grant"


def test_without_offline_access_no_refresh_token(default_server, tv, user, browser):
    codes = start(default_server, tv, scope="profile").json()
    answer(browser, codes["user_code"])

    tokens = poll(default_server, tv, codes["device_code"]).json()

    assert "access_token" in tokens and "refresh_token" not in tokens and "id_token" not in tokens


def test_denied_on_activate(default_server, tv, user, browser):
    codes = start(default_server, tv).json()

    page = answer(browser, codes["user_code"], decision="deny")

    assert "Device not connected" in page.text
    assert error_of(poll(default_server, tv, codes["device_code"])) == "access_denied"


def test_polling_too_fast_slows_down(default_server, tv):
    codes = start(default_server, tv).json()

    first, second = (poll(default_server, tv, codes["device_code"]) for _ in range(2))

    assert error_of(first) == "authorization_pending"
    assert error_of(second) == "slow_down"
    # RFC 8628 §3.5: the interval grows by 5 seconds for this and every later poll.
    assert DeviceAuthorization.objects.get().interval == 10
    assert error_of(poll(default_server, tv, codes["device_code"])) == "slow_down"


def test_expired_device_code(default_server, tv):
    codes = start(default_server, tv).json()
    DeviceAuthorization.objects.update(expires=timezone.now() - timedelta(seconds=1))

    response = poll(default_server, tv, codes["device_code"])

    assert response.status_code == 400 and error_of(response) == "expired_token"


def test_another_client_cannot_redeem_it(default_server, tv, user, browser):
    codes = start(default_server, tv).json()
    answer(browser, codes["user_code"])
    other = make_client(app_type="native", redirect_uris=(), grant_types=[DEVICE_GRANT])

    stolen = poll(default_server, other, codes["device_code"])

    assert stolen.status_code == 400 and error_of(stolen) == "invalid_grant"
    assert poll(default_server, tv, codes["device_code"]).status_code == 200  # still the device's own


def test_a_client_without_the_grant_cannot_poll(default_server, tv, user):
    codes = start(default_server, tv).json()
    plain = make_client(app_type="native")  # authorization_code and refresh_token only

    response = poll(default_server, plain, codes["device_code"])

    assert response.status_code == 400 and error_of(response) == "unauthorized_client"


# -- /activate (RFC 8628 §3.3, §5.1) ------------------------------------------------------------------


def test_activate_sends_the_user_to_sign_in_and_back(default_server, tv, user, base_url):
    codes = start(default_server, tv).json()
    browser = Browser(base_url)
    page = browser.get(codes["verification_uri_complete"])
    assert f'value="{codes["user_code"]}"' in page.text  # prefilled (§3.3.1)

    response = browser.post_form(f"{base_url}/activate", page, {"user_code": codes["user_code"]})
    response = browser.get(urljoin(base_url, response.headers["Location"]))

    assert response.status_code == 302 and response.headers["Location"].startswith("/login/?next=/activate/confirm")
    browser.http.close()


def test_guessing_user_codes_is_rate_limited(default_server, tv, browser, settings):
    settings.OIDC_FLOWS = {
        **settings.OIDC_FLOWS,
        "AUTHN_RATE_LIMITS": {"user_code": {"username": [3, 60], "address": [100, 60]}},
    }
    codes = start(default_server, tv).json()
    page = browser.get(f"{browser.base_url}/activate")
    for guess in ("BBBB-BBBB", "CCCC-CCCC", "not a code"):
        wrong = browser.post_form(f"{browser.base_url}/activate", page, {"user_code": guess})
        assert wrong.status_code == 400 and "That code is not valid" in wrong.text

    limited = browser.post_form(f"{browser.base_url}/activate", page, {"user_code": codes["user_code"]})

    assert limited.status_code == 429 and "Too many attempts" in limited.text
    assert int(limited.headers["Retry-After"]) >= 1
    assert DeviceAuthorization.objects.get().status == DeviceStatus.PENDING


@pytest.fixture
def no_tvs(tv):
    """A sign-on rule that denies the device's application; everything else stays open."""
    SignOnPolicy.objects.all().delete()  # the migration's default policy, unless a flush removed it already
    policy = SignOnPolicy.objects.create(name="Default Policy", priority=1000)
    rule = SignOnRule.objects.create(policy=policy, name="No TVs", priority=1, access="deny")
    rule.applications.set([tv])
    SignOnRule.objects.create(policy=policy, name="Everyone else", priority=2)
    return rule


def test_a_sign_on_rule_denying_the_application_refuses_a_signed_in_user(default_server, tv, user, browser, no_tvs):
    assert browser.sign_in().status_code == 302  # signed in elsewhere, for no application in particular
    codes = start(default_server, tv).json()

    page = answer(browser, codes["user_code"])

    assert page.status_code == 403 and "does not allow you to use this application" in page.text
    assert error_of(poll(default_server, tv, codes["device_code"])) == "access_denied"


def test_the_sign_in_for_a_device_applies_its_applications_sign_on_rule(default_server, tv, user, browser, no_tvs):
    codes = start(default_server, tv).json()
    page = browser.get(f"{browser.base_url}/activate")
    browser.post_form(f"{browser.base_url}/activate", page, {"user_code": codes["user_code"]})
    login = browser.follow(f"{browser.base_url}/activate/confirm")

    refused = browser.post_form(login.url, login, {"username": "alice", "password": PASSWORD})

    assert refused.status_code == 200 and 'id="page-error"' in refused.text  # the sign-in page says no
    assert error_of(poll(default_server, tv, codes["device_code"])) == "authorization_pending"


def test_activate_requires_the_csrf_token(base_url, user):
    response = requests.post(f"{base_url}/activate", data={"user_code": "BBBB-BBBB"}, timeout=10)

    assert response.status_code == 403


def test_activate_pages_in_chromium_pass_axe(tab, axe, tv):
    """The three pages, as alice sees them, against WCAG 2.1 AA (axe-core), in light and dark mode."""
    _code, row = device._store(AuthorizationServer.objects.get(server_id="default"), tv, ["openid", "profile"])
    page = tab
    page.goto("/activate")
    page.fill("#id_user_code", "BBBB-BBBB")
    page.click("button[type=submit]:has-text('Continue')")
    page.wait_for_selector("#page-error")
    pages_browser.assert_accessible(page, "device-activate-error")

    page.goto(f"/activate?user_code={device.display(row.user_code).lower()}")
    assert page.input_value("#id_user_code") == device.display(row.user_code)
    pages_browser.assert_accessible(page, "device-activate")
    page.click("button[type=submit]:has-text('Continue')")
    page.fill("#id_username", "alice")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]:has-text('Sign in')")
    page.wait_for_selector("button[value=allow]")
    pages_browser.assert_accessible(page, "device-consent")
    page.click("button[value=allow]")
    page.wait_for_selector("#device-done-heading")
    pages_browser.assert_accessible(page, "device-done")

    assert "You may now return to your device." in page.text_content("main")
    row.refresh_from_db()
    assert row.status == DeviceStatus.APPROVED and row.user.username == "alice" and row.amr == "pwd"


# -- user codes and clean-up --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("wdjb-mjht", "WDJBMJHT"),
        (" WDJB MJHT ", "WDJBMJHT"),
        ("WDJBMJHT", "WDJBMJHT"),
        ("WDJB-MJH", None),
        ("AEIO-UAEI", None),
    ],
)
def test_user_codes_are_normalised(typed, stored):
    assert device.normalise(typed) == stored


def test_user_codes_use_the_twenty_letters():
    codes = {device.new_user_code() for _ in range(200)}

    assert all(len(c) == 8 and set(c) <= set("BCDFGHJKLMNPQRSTVWXZ") for c in codes)
    assert len(codes) == 200


def test_only_native_applications_may_hold_the_grant():
    assert [t for t in policy.AppType if policy.may_use(t, DEVICE_GRANT)] == [policy.AppType.NATIVE]
    assert policy.Grant.DEVICE_CODE not in policy.FAPI2.grants


def test_cleanup_deletes_expired_requests(default_server, tv):
    start(default_server, tv)
    start(default_server, tv)
    DeviceAuthorization.objects.filter(pk=DeviceAuthorization.objects.first().pk).update(
        expires=timezone.now() - timedelta(seconds=1)
    )

    counts = cleanup.clear_expired()

    assert counts["device authorizations"] == 1
    assert DeviceAuthorization.objects.count() == 1


def test_admin_lists_device_authorizations_read_only(default_server, tv, admin_client):
    start(default_server, tv)
    row = DeviceAuthorization.objects.get()

    listing = admin_client.get("/admin/oidc_flows/deviceauthorization/")
    detail = admin_client.get(f"/admin/oidc_flows/deviceauthorization/{row.pk}/change/")

    assert listing.status_code == 200 and device.display(row.user_code) in listing.content.decode()
    assert detail.status_code == 200 and row.device_code_hash not in detail.content.decode()
    assert 'name="_save"' not in detail.content.decode()  # nothing to edit
