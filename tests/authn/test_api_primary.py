"""Primary authentication at ``POST /api/v1/authn`` (Okta's Authentication API), over HTTP against a live server.

Scenario: alice (password ``PASSWORD``, no factors) on the built-in policies unless a test adds one: a
password policy (lockout status shown, expiry, expiry warning), a sign-on policy (deny a group, MFA
always), a trusted origin for CORS. Failures must all look alike; every answer is Okta's shape.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import requests
from django.contrib.auth.models import Group
from django.utils import timezone

from oidc_flows.authn import events
from oidc_flows.authn.models import (
    AuthEvent,
    OneTimeToken,
    PasswordPolicy,
    SignOnPolicy,
    SignOnRule,
    TrustedOrigin,
)
from oidc_flows.models import UserProfile
from oidc_flows.subjects import public_id
from tests.authn.api_support import (
    NEW_PASSWORD,
    WRONG_PASSWORD,
    assert_error,
    assert_ok,
    link_path,
    parse_instant,
    post,
    sign_in,
    state_of,
)
from tests.factories import PASSWORD, make_user


APP_ORIGIN = "https://app.example"


def lock(base_url: str, username: str = "alice", times: int = 5) -> None:
    for _ in range(times):
        sign_in(base_url, username, WRONG_PASSWORD)


# -- SUCCESS ----------------------------------------------------------------------------------------------


def test_the_right_password_succeeds_with_a_session_token(base_url, user):
    before = timezone.now()

    body = assert_ok(sign_in(base_url), "SUCCESS")

    assert "stateToken" not in body
    assert isinstance(body["sessionToken"], str) and len(body["sessionToken"]) >= 20
    expires = parse_instant(body["expiresAt"])
    assert before + timedelta(minutes=4) < expires <= timezone.now() + timedelta(minutes=5, seconds=1)
    embedded_user = body["_embedded"]["user"]
    assert embedded_user["profile"]["login"] == "alice"
    assert embedded_user["profile"]["firstName"] == "Alice"
    assert embedded_user["id"] == public_id(user)  # the sub of public applications: opaque, never the pk
    parse_instant(embedded_user["passwordChanged"])


def test_the_answer_is_never_cached(base_url, user):
    response = sign_in(base_url)

    assert "no-store" in response.headers["Cache-Control"]


def test_a_sign_in_is_written_to_the_log(base_url, user):
    sign_in(base_url)

    event = AuthEvent.objects.get(event_type=events.PRIMARY)
    assert (event.outcome, event.user, event.username) == ("SUCCESS", user, "alice")
    assert event.client_ip == "127.0.0.1"


# -- failures look alike --------------------------------------------------------------------------------------


def _lock_in_db(user) -> None:
    UserProfile.objects.filter(user=user).update(locked_until=timezone.now() + timedelta(minutes=15))


def _deactivate(user) -> None:
    user.is_active = False
    user.save(update_fields=["is_active"])


FAILURES = {
    # case:            (prepare alice,        username,  password)
    "wrong password": (lambda user: None, "alice", WRONG_PASSWORD),
    "unknown user": (lambda user: None, "mallory", PASSWORD),
    "locked user": (_lock_in_db, "alice", PASSWORD),
    "inactive user": (_deactivate, "alice", PASSWORD),
}


@pytest.mark.parametrize("case", FAILURES)
def test_every_failure_gets_the_same_401(base_url, user, case):
    make_user(username="bob")
    reference = assert_error(sign_in(base_url, "bob", WRONG_PASSWORD), "E0000004")
    prepare, username, password = FAILURES[case]
    prepare(user)

    response = sign_in(base_url, username, password)

    body = assert_error(response, "E0000004")
    assert body.keys() == reference.keys()
    assert body["errorSummary"] == reference["errorSummary"] == "Authentication failed"
    assert body["errorCauses"] == reference["errorCauses"] == []
    assert body["errorLink"] == reference["errorLink"]
    assert body["errorId"] != reference["errorId"]


@pytest.mark.parametrize("case", FAILURES)
def test_a_failure_is_written_to_the_log(base_url, user, case):
    prepare, username, password = FAILURES[case]
    prepare(user)

    sign_in(base_url, username, password)

    event = AuthEvent.objects.filter(event_type=events.PRIMARY).get()
    assert event.outcome == "FAILURE"
    assert event.username == username


def test_a_locked_user_is_told_so_when_the_password_policy_says(base_url, user):
    PasswordPolicy.objects.create(name="Tell locked users", show_lockout_status=True)
    lock(base_url)

    body = assert_ok(sign_in(base_url), "LOCKED_OUT")

    assert body["_links"]["next"]["name"] == "unlock"
    assert link_path(body, "_links", "next") == "/recovery/unlock"
    assert "stateToken" not in body and "sessionToken" not in body


def test_an_unknown_user_is_not_told_locked_out(base_url, user):
    PasswordPolicy.objects.create(name="Tell locked users", show_lockout_status=True)
    lock(base_url, "mallory")

    assert_error(sign_in(base_url, "mallory", PASSWORD), "E0000004")


# -- password expiry ------------------------------------------------------------------------------------------


@pytest.fixture
def expired_password(user):
    PasswordPolicy.objects.create(name="Expires daily", max_age_days=1)
    UserProfile.objects.filter(user=user).update(password_changed=timezone.now() - timedelta(days=2))
    return user


def test_an_expired_password_answers_password_expired(base_url, expired_password):
    body = assert_ok(sign_in(base_url), "PASSWORD_EXPIRED")

    assert body["stateToken"]
    parse_instant(body["expiresAt"])
    assert body["_links"]["next"]["name"] == "changePassword"
    assert link_path(body, "_links", "next") == "/credentials/change_password"
    assert link_path(body, "_links", "cancel") == "/cancel"
    assert body["_embedded"]["policy"]["complexity"]
    assert "sessionToken" not in body


def test_changing_an_expired_password_needs_the_old_one(base_url, expired_password):
    state = assert_ok(sign_in(base_url), "PASSWORD_EXPIRED")["stateToken"]

    response = post(
        base_url,
        "/credentials/change_password",
        {"stateToken": state, "oldPassword": WRONG_PASSWORD, "newPassword": NEW_PASSWORD},
    )

    assert_error(response, "E0000014")
    assert assert_ok(state_of(base_url, state), "PASSWORD_EXPIRED")
    assert_ok(sign_in(base_url), "PASSWORD_EXPIRED")  # the password is unchanged


def test_changing_an_expired_password_signs_in(base_url, expired_password):
    state = assert_ok(sign_in(base_url), "PASSWORD_EXPIRED")["stateToken"]

    response = post(
        base_url,
        "/credentials/change_password",
        {"stateToken": state, "oldPassword": PASSWORD, "newPassword": NEW_PASSWORD},
    )

    assert assert_ok(response, "SUCCESS")["sessionToken"]
    assert_ok(sign_in(base_url, password=NEW_PASSWORD), "SUCCESS")  # the new password is not expired
    assert_error(sign_in(base_url), "E0000004")
    assert AuthEvent.objects.filter(event_type=events.PASSWORD_CHANGE, user=expired_password).count() == 1


def test_an_expired_password_cannot_become_a_weak_one(base_url, expired_password):
    state = assert_ok(sign_in(base_url), "PASSWORD_EXPIRED")["stateToken"]

    response = post(
        base_url, "/credentials/change_password", {"stateToken": state, "oldPassword": PASSWORD, "newPassword": "1"}
    )

    assert assert_error(response, "E0000080")["errorCauses"]


@pytest.fixture
def expiring_password(user):
    PasswordPolicy.objects.create(name="Ten days, warn five", max_age_days=10, warn_days=5)
    # Expires in three and a half days: 3 whole days, however the server rounds.
    changed = timezone.now() - timedelta(days=6, hours=12)
    UserProfile.objects.filter(user=user).update(password_changed=changed)
    return user


WARN = {"options": {"warnBeforePasswordExpired": True}}


def test_a_password_about_to_expire_is_warned_about_when_asked(base_url, expiring_password):
    body = assert_ok(sign_in(base_url, **WARN), "PASSWORD_WARN")

    assert body["stateToken"]
    assert body["_links"]["next"]["name"] == "changePassword"
    assert body["_links"]["skip"]["name"] == "skip"
    assert link_path(body, "_links", "skip") == "/skip"
    assert body["_embedded"]["policy"]["expiration"]["passwordExpireDays"] == 3


def test_without_the_option_no_warning(base_url, expiring_password):
    assert_ok(sign_in(base_url), "SUCCESS")


def test_the_warning_can_be_skipped(base_url, expiring_password):
    state = assert_ok(sign_in(base_url, **WARN), "PASSWORD_WARN")["stateToken"]

    body = assert_ok(post(base_url, "/skip", {"stateToken": state}), "SUCCESS")

    assert body["sessionToken"]


def test_the_warning_can_be_answered_with_a_new_password(base_url, expiring_password):
    state = assert_ok(sign_in(base_url, **WARN), "PASSWORD_WARN")["stateToken"]

    response = post(
        base_url,
        "/credentials/change_password",
        {"stateToken": state, "oldPassword": PASSWORD, "newPassword": NEW_PASSWORD},
    )

    assert_ok(response, "SUCCESS")
    assert_ok(sign_in(base_url, password=NEW_PASSWORD, **WARN), "SUCCESS")  # ten fresh days


# -- sign-on policy -------------------------------------------------------------------------------------------


@pytest.fixture
def contractors_denied(user):
    contractors = Group.objects.create(name="contractors")
    user.groups.add(contractors)
    policy = SignOnPolicy.objects.create(name="Sign-on")
    deny = SignOnRule.objects.create(policy=policy, name="No contractors", priority=1, access="deny")
    deny.groups.add(contractors)
    SignOnRule.objects.create(policy=policy, name="Everyone else", priority=2, access="allow")
    return user


def test_the_sign_on_policy_can_deny(base_url, contractors_denied):
    response = sign_in(base_url)

    body = assert_error(response, "E0000006")
    assert "stateToken" not in response.text and "sessionToken" not in body
    assert not OneTimeToken.objects.exists()
    assert AuthEvent.objects.filter(event_type=events.POLICY_DENY, user=contractors_denied, outcome="DENY").exists()


def test_the_sign_on_policy_denies_only_its_group(base_url, contractors_denied):
    make_user(username="bob")

    assert_ok(sign_in(base_url, "bob"), "SUCCESS")


@pytest.fixture
def mfa_always(user):
    policy = SignOnPolicy.objects.create(name="Sign-on")
    SignOnRule.objects.create(policy=policy, name="MFA for all", mfa="always")
    return user


def test_mfa_always_makes_a_user_without_factors_enroll(base_url, mfa_always):
    body = assert_ok(sign_in(base_url, options={"multiOptionalFactorEnroll": True}), "MFA_ENROLL")

    assert "skip" not in body["_links"]
    types = {f["factorType"] for f in body["_embedded"]["factors"]}
    assert "token:software:totp" in types
    assert "recovery_code" not in types  # a backup never satisfies "MFA always"
    for factor in body["_embedded"]["factors"]:
        assert link_path(factor, "_links", "enroll") == "/factors"
    assert_error(post(base_url, "/skip", {"stateToken": body["stateToken"]}), "E0000079")


# -- CORS (okta-auth-js calls from the page's origin) ---------------------------------------------------------


@pytest.fixture
def trusted_origin(transactional_db):
    return TrustedOrigin.objects.create(name="The app", origin=APP_ORIGIN, cors=True, redirect=False)


def _granted(response, origin: str) -> bool:
    return (
        response.headers.get("Access-Control-Allow-Origin") == origin
        and response.headers.get("Access-Control-Allow-Credentials") == "true"
    )


@pytest.mark.parametrize("password", [PASSWORD, WRONG_PASSWORD], ids=["200", "401"])
def test_a_trusted_origin_may_read_answers_and_errors(base_url, user, trusted_origin, password):
    response = post(base_url, "", {"username": "alice", "password": password}, headers={"Origin": APP_ORIGIN})

    assert response.status_code in (200, 401)
    assert _granted(response, APP_ORIGIN)
    assert "Origin" in response.headers["Vary"]


def test_a_trusted_origin_passes_the_preflight(base_url, trusted_origin):
    response = _preflight(base_url, APP_ORIGIN)

    assert 200 <= response.status_code < 300
    assert _granted(response, APP_ORIGIN)
    assert "POST" in response.headers["Access-Control-Allow-Methods"]
    allowed = {h.strip().lower() for h in response.headers["Access-Control-Allow-Headers"].split(",")}
    assert {"content-type", "x-okta-user-agent-extended"} <= allowed


def _preflight(base_url: str, origin: str) -> requests.Response:
    return requests.options(
        f"{base_url}/api/v1/authn",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type,x-okta-user-agent-extended",
        },
        timeout=10,
    )


@pytest.mark.parametrize("password", [PASSWORD, WRONG_PASSWORD], ids=["200", "401"])
def test_another_origin_gets_no_grant(base_url, user, trusted_origin, password):
    response = post(
        base_url, "", {"username": "alice", "password": password}, headers={"Origin": "https://evil.example"}
    )

    assert "Access-Control-Allow-Origin" not in response.headers
    assert "Access-Control-Allow-Credentials" not in response.headers


def test_another_origin_fails_the_preflight(base_url, trusted_origin):
    response = _preflight(base_url, "https://evil.example")

    assert "Access-Control-Allow-Origin" not in response.headers


def test_a_trusted_origin_registered_for_redirects_only_gets_no_cors(base_url, user):
    TrustedOrigin.objects.create(name="Redirects", origin=APP_ORIGIN, cors=False, redirect=True)

    response = post(base_url, "", {"username": "alice", "password": PASSWORD}, headers={"Origin": APP_ORIGIN})

    assert "Access-Control-Allow-Origin" not in response.headers
