"""The Authentication API against a caller who does not follow the script.

Scenario: alice and bob, each with an authenticator app (bob also with email codes), on the built-in
policies. The caller sends operations a state does not accept, another user's factor ids, wrong
answers until the transaction ends, more requests than the rate limits allow, and bodies that are not
what Okta's SDKs send. Nothing answers 500; no event, error body or log line holds a secret.
"""

from __future__ import annotations

import json
import logging
import time
from datetime import timedelta

import pytest
import requests
from django.utils import timezone

from oidc_flows.authn import events
from oidc_flows.authn.models import AuthEvent, EnrollmentPolicy, Factor, PasswordPolicy
from oidc_flows.models import UserProfile
from tests.authn.api_support import (
    API,
    NEW_PASSWORD,
    TOTP,
    WRONG_PASSWORD,
    assert_error,
    assert_ok,
    code_for,
    give_email_factor,
    give_totp,
    mailed_code,
    mailed_recovery,
    post,
    real_rate_limits_fixture,  # noqa: F401
    sign_in,
    smtp_fixture,  # noqa: F401
    state_of,
    wrong_code,
)
from tests.factories import PASSWORD, make_user


ALICE_MAIL = "alice@example.com"
BOB_MAIL = "bob@example.com"


def verify(base_url: str, state: str, factor_id: str, **answer):
    return post(base_url, f"/factors/{factor_id}/verify", {"stateToken": state, **answer})


# -- operations a state does not accept -----------------------------------------------------------------------

#: Written from Okta's Authentication API reference: what each state accepts besides status and cancel.
ACCEPTS = {
    "MFA_REQUIRED": {"verify"},
    "MFA_CHALLENGE": {"verify", "resend", "previous"},
    "MFA_ENROLL": {"enroll"},  # skip too, when nothing is required; here a factor is
    "MFA_ENROLL_ACTIVATE": {"activate", "resend", "previous", "enroll"},
    "PASSWORD_EXPIRED": {"change_password"},
    "PASSWORD_WARN": {"change_password", "skip"},
    "RECOVERY": {"answer", "verify"},
    "PASSWORD_RESET": {"reset_password"},
}
OPERATIONS = {
    "verify": ("/factors/{factor}/verify", {"passCode": "000000"}),
    "enroll": ("/factors", {"factorType": TOTP, "provider": "OKTA"}),
    "activate": ("/factors/{factor}/lifecycle/activate", {"passCode": "000000"}),
    "resend": ("/factors/{factor}/lifecycle/resend", {}),
    "previous": ("/previous", {}),
    "skip": ("/skip", {}),
    "change_password": ("/credentials/change_password", {"oldPassword": PASSWORD, "newPassword": NEW_PASSWORD}),
    "answer": ("/recovery/answer", {"answer": "000000"}),
    "reset_password": ("/credentials/reset_password", {"newPassword": NEW_PASSWORD}),
}


def _recovery_state(base_url: str, smtp) -> dict:
    assert_ok(post(base_url, "/recovery/password", {"username": "alice"}), "RECOVERY_CHALLENGE")
    token = mailed_recovery(smtp.take(ALICE_MAIL))[2]
    return post(base_url, "/recovery/token", {"recoveryToken": token}).json()


def reach(state: str, base_url: str, user, smtp) -> tuple[str, str]:
    """A live transaction of alice in ``state``: (stateToken, the factor it is about or a made-up id)."""
    factor_id = "fctNoSuchFactor00000"
    if state == "MFA_REQUIRED":
        factor_id = give_totp(user)[0].pk
        body = sign_in(base_url).json()
    elif state == "MFA_CHALLENGE":
        factor_id = give_email_factor(user).pk
        body = verify(base_url, sign_in(base_url).json()["stateToken"], factor_id).json()
    elif state in ("MFA_ENROLL", "MFA_ENROLL_ACTIVATE"):
        EnrollmentPolicy.objects.create(name="TOTP for all", totp="REQUIRED")
        body = sign_in(base_url).json()
        if state == "MFA_ENROLL_ACTIVATE":
            body = post(base_url, "/factors", {"stateToken": body["stateToken"], "factorType": TOTP}).json()
            factor_id = body["_embedded"]["factor"]["id"]
    elif state in ("PASSWORD_EXPIRED", "PASSWORD_WARN"):
        PasswordPolicy.objects.create(name="Expiry", max_age_days=10, warn_days=5)
        days = 11 if state == "PASSWORD_EXPIRED" else 7
        UserProfile.objects.filter(user=user).update(password_changed=timezone.now() - timedelta(days=days))
        body = sign_in(base_url, options={"warnBeforePasswordExpired": True}).json()
    elif state == "RECOVERY":
        factor_id = give_totp(user)[0].pk
        body = _recovery_state(base_url, smtp)
    else:
        body = _recovery_state(base_url, smtp)
    assert body.get("status") == state, body
    return body["stateToken"], factor_id


@pytest.mark.parametrize("state", ACCEPTS)
def test_a_state_refuses_every_other_operation(base_url, user, smtp, state):
    token, factor_id = reach(state, base_url, user, smtp)
    refused = set(OPERATIONS) - ACCEPTS[state]

    answers = {}
    for operation in sorted(refused):
        path, body = OPERATIONS[operation]
        response = post(base_url, path.format(factor=factor_id), {"stateToken": token, **body})
        answers[operation] = (response.status_code, response.json().get("errorCode"))

    assert answers == dict.fromkeys(refused, (403, "E0000079"))
    assert_ok(state_of(base_url, token), state)  # and nothing moved


@pytest.mark.parametrize("state", ACCEPTS)
def test_cancel_ends_a_transaction_in_any_state(base_url, user, smtp, state):
    token, factor_id = reach(state, base_url, user, smtp)

    body = assert_ok(post(base_url, "/cancel", {"stateToken": token}), "UNAUTHENTICATED")

    assert "stateToken" not in body and "sessionToken" not in body
    assert_error(state_of(base_url, token), "E0000011")
    if state == "MFA_ENROLL_ACTIVATE":
        assert not Factor.objects.filter(pk=factor_id).exists()  # the half-enrolled factor goes too


# -- another user's factor -------------------------------------------------------------------------------------


@pytest.fixture
def bob(transactional_db):
    bob = make_user(username="bob")
    factor, secret = give_totp(bob)
    return bob, factor, secret


def test_another_user_s_factor_cannot_be_verified(base_url, user, bob):
    give_totp(user)
    _, bobs_factor, bobs_secret = bob
    state = assert_ok(sign_in(base_url), "MFA_REQUIRED")["stateToken"]
    code = code_for(bobs_secret)

    assert_error(verify(base_url, state, bobs_factor.pk, passCode=code), "E0000007")

    untouched = Factor.objects.get(pk=bobs_factor.pk)
    assert (untouched.status, untouched.counter, untouched.last_verified) == ("ACTIVE", 0, None)
    bobs_state = assert_ok(sign_in(base_url, "bob"), "MFA_REQUIRED")["stateToken"]
    assert_ok(verify(base_url, bobs_state, bobs_factor.pk, passCode=code), "SUCCESS")  # the code is still bob's


def test_another_user_s_factor_looks_like_no_factor(base_url, user, bob):
    give_totp(user)
    _, bobs_factor, _ = bob
    state = assert_ok(sign_in(base_url), "MFA_REQUIRED")["stateToken"]

    bobs = assert_error(verify(base_url, state, bobs_factor.pk, passCode="123456"), "E0000007")
    nobody = assert_error(verify(base_url, state, "fctNoSuchFactor00000", passCode="123456"), "E0000007")

    assert bobs.keys() == nobody.keys()
    assert (bobs["errorSummary"], bobs["errorCauses"]) == (nobody["errorSummary"], nobody["errorCauses"])


def test_another_user_s_email_factor_sends_nothing(base_url, user, bob, smtp):
    give_totp(user)
    bobs_email = give_email_factor(bob[0])
    state = assert_ok(sign_in(base_url), "MFA_REQUIRED")["stateToken"]

    assert_error(verify(base_url, state, bobs_email.pk), "E0000007")
    assert_error(post(base_url, f"/factors/{bobs_email.pk}/verify/resend", {"stateToken": state}), "E0000079")

    assert smtp.settle() == 0


def test_another_user_s_factor_cannot_be_resent_during_a_challenge(base_url, user, bob, smtp):
    alices_email = give_email_factor(user)
    bobs_email = give_email_factor(bob[0])
    state = assert_ok(sign_in(base_url), "MFA_REQUIRED")["stateToken"]
    assert_ok(verify(base_url, state, alices_email.pk), "MFA_CHALLENGE")
    smtp.take(ALICE_MAIL)

    assert_error(post(base_url, f"/factors/{bobs_email.pk}/verify/resend", {"stateToken": state}), "E0000007")

    assert smtp.to(BOB_MAIL) == []


def test_another_user_s_factor_cannot_be_activated(base_url, user, bob):
    EnrollmentPolicy.objects.create(name="TOTP for all", totp="REQUIRED")
    _, bobs_factor, bobs_secret = bob
    state = assert_ok(sign_in(base_url), "MFA_ENROLL")["stateToken"]
    assert_ok(post(base_url, "/factors", {"stateToken": state, "factorType": TOTP}), "MFA_ENROLL_ACTIVATE")

    response = post(
        base_url,
        f"/factors/{bobs_factor.pk}/lifecycle/activate",
        {"stateToken": state, "passCode": code_for(bobs_secret)},
    )

    assert_error(response, "E0000007")
    assert Factor.objects.get(pk=bobs_factor.pk).counter == 0


# -- wrong answers until the transaction ends -------------------------------------------------------------------


def test_five_wrong_codes_end_the_transaction(base_url, user):
    factor, secret = give_totp(user)
    state = assert_ok(sign_in(base_url), "MFA_REQUIRED")["stateToken"]
    for _ in range(5):
        assert_error(verify(base_url, state, factor.pk, passCode=wrong_code(secret)), "E0000068")

    assert_error(verify(base_url, state, factor.pk, passCode=code_for(secret)), "E0000011")
    assert_error(state_of(base_url, state), "E0000011")
    assert AuthEvent.objects.filter(event_type=events.MFA, outcome="FAILURE").count() == 5


def test_four_wrong_codes_do_not(base_url, user):
    factor, secret = give_totp(user)
    state = assert_ok(sign_in(base_url), "MFA_REQUIRED")["stateToken"]
    for _ in range(4):
        verify(base_url, state, factor.pk, passCode=wrong_code(secret))

    assert_ok(verify(base_url, state, factor.pk, passCode=code_for(secret)), "SUCCESS")


def test_five_wrong_old_passwords_end_the_transaction(base_url, user):
    PasswordPolicy.objects.create(name="Expires daily", max_age_days=1)
    UserProfile.objects.filter(user=user).update(password_changed=timezone.now() - timedelta(days=2))
    state = assert_ok(sign_in(base_url), "PASSWORD_EXPIRED")["stateToken"]
    change = {"stateToken": state, "oldPassword": WRONG_PASSWORD, "newPassword": NEW_PASSWORD}
    for _ in range(5):
        assert_error(post(base_url, "/credentials/change_password", change), "E0000014")

    assert_error(post(base_url, "/credentials/change_password", {**change, "oldPassword": PASSWORD}), "E0000011")


def test_five_wrong_mailed_codes_spend_the_code(base_url, user, smtp):
    factor = give_email_factor(user)
    state = assert_ok(sign_in(base_url), "MFA_REQUIRED")["stateToken"]
    assert_ok(verify(base_url, state, factor.pk), "MFA_CHALLENGE")
    code = mailed_code(smtp.take(ALICE_MAIL))
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    for _ in range(4):
        assert_error(verify(base_url, state, factor.pk, passCode=wrong), "E0000068")

    # The fifth wrong guess spends the code (and ends the transaction): the right one comes too late.
    assert_error(verify(base_url, state, factor.pk, passCode=wrong), "E0000068")
    late = verify(base_url, state, factor.pk, passCode=code)
    assert late.status_code in (401, 403), late.text
    assert late.json()["errorCode"] in ("E0000068", "E0000011")


# -- rate limits ----------------------------------------------------------------------------------------------


def steady_window(seconds: int, margin: float = 6.0) -> None:
    """Start a burst well inside one fixed rate-limit window, so that it cannot straddle two."""
    left = seconds - time.time() % seconds
    if left < margin:
        time.sleep(left + 0.1)


def test_the_per_username_limit_answers_429_with_retry_after(base_url, user, real_rate_limits):
    steady_window(60)
    for attempt in range(10):
        # Case and spaces do not make another username for the limit.
        username = "mallory" if attempt % 2 else " Mallory"
        assert_error(sign_in(base_url, username, WRONG_PASSWORD), "E0000004")

    response = sign_in(base_url, "MALLORY", WRONG_PASSWORD)

    body = assert_error(response, "E0000047")
    assert 1 <= int(response.headers["Retry-After"]) <= 60
    assert "mallory" not in json.dumps(body).lower()
    assert_ok(sign_in(base_url, "alice"), "SUCCESS")  # another username is not limited


def test_the_per_username_limit_holds_for_the_right_password(base_url, user, real_rate_limits):
    steady_window(60)
    for _ in range(10):
        sign_in(base_url, "alice", WRONG_PASSWORD)

    assert_error(sign_in(base_url, "alice"), "E0000047")


def test_the_per_address_limit(base_url, user, real_rate_limits):
    steady_window(60)
    for attempt in range(60):
        assert sign_in(base_url, f"user{attempt}", WRONG_PASSWORD).status_code == 401

    response = sign_in(base_url, "alice")

    assert_error(response, "E0000047")
    assert int(response.headers["Retry-After"]) >= 1


def test_the_recovery_limit(base_url, user, real_rate_limits, smtp):
    steady_window(300)
    for _ in range(3):
        assert_ok(post(base_url, "/recovery/password", {"username": "alice"}), "RECOVERY_CHALLENGE")

    response = post(base_url, "/recovery/password", {"username": "alice"})

    assert_error(response, "E0000047")
    assert 1 <= int(response.headers["Retry-After"]) <= 300
    assert smtp.settle() == 3


def test_a_limit_violation_is_written_to_the_log_once_per_window(base_url, user, real_rate_limits):
    steady_window(60)
    for _ in range(13):
        sign_in(base_url, "mallory", WRONG_PASSWORD)

    assert AuthEvent.objects.filter(event_type=events.RATE_LIMIT, outcome="DENY").count() == 1


# -- what the SDKs never send ---------------------------------------------------------------------------------

PATHS = [
    "",
    "/factors",
    "/factors/fctNoSuchFactor00000/lifecycle/activate",
    "/factors/fctNoSuchFactor00000/lifecycle/resend",
    "/factors/fctNoSuchFactor00000/verify",
    "/factors/fctNoSuchFactor00000/verify/resend",
    "/previous",
    "/skip",
    "/cancel",
    "/credentials/change_password",
    "/credentials/reset_password",
    "/recovery/password",
    "/recovery/unlock",
    "/recovery/token",
    "/recovery/answer",
]


def raw_post(base_url: str, path: str, data: bytes) -> requests.Response:
    return requests.post(f"{base_url}{API}{path}", data=data, headers={"Content-Type": "application/json"}, timeout=30)


@pytest.mark.parametrize(
    "data",
    [b'{"username": ', b"{'username': 'alice'}", b"[]", b'"alice"', b"1", b"null", b"\xff\xfe{}", b"{}}"],
    ids=["truncated", "single-quotes", "array", "string", "number", "null", "not-utf8", "trailing"],
)
def test_a_body_that_is_not_a_json_object_is_not_well_formed(base_url, transactional_db, data):
    for path in PATHS:
        assert_error(raw_post(base_url, path, data), "E0000003")


@pytest.mark.parametrize(
    "data",
    [b'{"a":' * 1000 + b"1" + b"}" * 1000, b'{"a":' + b"[" * 30_000 + b"]" * 30_000 + b"}"],
    ids=["objects", "arrays"],
)
def test_deeply_nested_json_is_not_well_formed(base_url, transactional_db, data):
    # Under the size limit, deeper than Python's recursion limit.

    assert_error(raw_post(base_url, "", data), "E0000003")


def test_a_body_over_64_kib_is_refused(base_url, user):
    data = json.dumps({"username": "alice", "password": PASSWORD, "pad": "x" * 70_000}).encode()

    assert_error(raw_post(base_url, "", data), "E0000003")


def test_a_body_over_django_s_upload_limit_is_refused(base_url, transactional_db):
    response = raw_post(base_url, "", b" " * (3 * 1024 * 1024))

    assert response.status_code == 400


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "PATCH"])
def test_only_post_is_allowed(base_url, transactional_db, method):
    for path in PATHS:
        response = requests.request(method, f"{base_url}{API}{path}", timeout=10)
        assert_error(response, "E0000022")


@pytest.mark.parametrize("field", ["username", "password"])
@pytest.mark.parametrize("value", [123, ["alice"], {"a": "b"}, True, None, ""], ids=repr)
def test_username_and_password_must_be_strings(base_url, user, field, value):
    body = {"username": "alice", "password": PASSWORD, field: value}

    assert_error(post(base_url, "", body), "E0000001")


ODD_VALUES = [None, 0, -1, 1.5, True, [], {}, "", "x" * 5000, "\x00", "é", [{"a": 1}], {"passCode": "1"}]
ODD_KEYS = [
    "stateToken",
    "factorType",
    "provider",
    "passCode",
    "answer",
    "oldPassword",
    "newPassword",
    "recoveryToken",
    "username",
    "options",
    "relayState",
    "profile",
]


@pytest.mark.parametrize("value", ODD_VALUES, ids=repr)
def test_odd_values_never_cause_a_server_error(base_url, user, value):
    factor, _ = give_totp(user)
    state = assert_ok(sign_in(base_url), "MFA_REQUIRED")["stateToken"]
    body = dict.fromkeys(ODD_KEYS, value)

    for path in PATHS:
        for live in (False, True):
            sent = {**body, "stateToken": state} if live else body
            path = path.replace("fctNoSuchFactor00000", factor.pk) if live else path
            response = post(base_url, path, sent)
            assert response.status_code < 500, (path, live, response.status_code, response.text[:300])
            assert response.headers["Content-Type"].startswith("application/json"), (path, response.text[:300])


@pytest.mark.parametrize("factor_id", ["%00", "x" * 300, "..%2f..%2fsecret", "fct%20", "ä"])
def test_odd_factor_ids_never_cause_a_server_error(base_url, user, factor_id):
    give_totp(user)
    state = assert_ok(sign_in(base_url), "MFA_REQUIRED")["stateToken"]

    for suffix in ("/verify", "/verify/resend", "/lifecycle/activate", "/lifecycle/resend"):
        response = post(base_url, f"/factors/{factor_id}{suffix}", {"stateToken": state, "passCode": "123456"})
        assert response.status_code < 500, (factor_id, suffix, response.text[:300])


def test_no_answer_names_another_user(base_url, user):
    # Unknown user, wrong password: the 401s are the same bytes but for errorId.
    make_user(username="bob")

    def without_id(response):
        return {k: v for k, v in response.json().items() if k != "errorId"}

    assert without_id(sign_in(base_url, "bob", WRONG_PASSWORD)) == without_id(sign_in(base_url, "nobody", PASSWORD))


# -- secrets stay out of events, errors and logs -------------------------------------------------------------


def test_no_secret_reaches_an_event_an_error_or_a_log_line(base_url, user, smtp, caplog):
    caplog.set_level(logging.DEBUG, logger="oidc_flows")
    caplog.set_level(logging.DEBUG, logger="django")
    factor, secret = give_totp(user)
    bobs_email = give_email_factor(make_user(username="bob"))
    secrets: set[str] = {PASSWORD, WRONG_PASSWORD, NEW_PASSWORD, secret}
    errors: list[str] = []

    def call(path: str, body: dict) -> dict:
        response = post(base_url, path, body)
        if response.status_code >= 400:
            errors.append(response.text)
        data = response.json()
        secrets.update(str(data[k]) for k in ("stateToken", "sessionToken") if k in data)
        return data

    # A wrong password, then MFA with a wrong and a right code, redeemed at sessionCookieRedirect.
    call("", {"username": "alice", "password": WRONG_PASSWORD})
    state = call("", {"username": "alice", "password": PASSWORD})["stateToken"]
    wrong, right = wrong_code(secret), code_for(secret)
    secrets.update({wrong, right})
    call(f"/factors/{factor.pk}/verify", {"stateToken": state, "passCode": wrong})
    session = call(f"/factors/{factor.pk}/verify", {"stateToken": state, "passCode": right})["sessionToken"]
    call(f"/factors/{factor.pk}/verify", {"stateToken": state, "passCode": right})  # replayed: E0000011
    requests.get(
        f"{base_url}/login/sessionCookieRedirect", params={"token": session, "redirectUrl": "https://evil.example/"}
    )
    requests.get(f"{base_url}/login/sessionCookieRedirect", params={"token": session, "redirectUrl": base_url + "/"})
    # Email codes for bob: a wrong one, the right one.
    bob_state = call("", {"username": "bob", "password": PASSWORD})["stateToken"]
    call(f"/factors/{bobs_email.pk}/verify", {"stateToken": bob_state})
    mailed = mailed_code(smtp.take(BOB_MAIL))
    bad_mailed = f"{(int(mailed) + 1) % 10**6:06d}"
    secrets.update({mailed, bad_mailed})
    call(f"/factors/{bobs_email.pk}/verify", {"stateToken": bob_state, "passCode": bad_mailed})
    call(f"/factors/{bobs_email.pk}/verify", {"stateToken": bob_state, "passCode": mailed})
    # Recovery: token, a wrong and a right answer, a weak and a good new password; the token again.
    call("/recovery/password", {"username": "alice"})
    token = mailed_recovery(smtp.take(ALICE_MAIL))[2]
    secrets.add(token)
    recovery = call("/recovery/token", {"recoveryToken": token})["stateToken"]
    later = code_for(secret, 1)  # the current step is spent; the next one is within the drift
    secrets.add(later)
    call("/recovery/answer", {"stateToken": recovery, "answer": wrong})
    call("/recovery/answer", {"stateToken": recovery, "answer": later})
    weak = "zq8weak"
    secrets.add(weak)
    call("/credentials/reset_password", {"stateToken": recovery, "newPassword": weak})
    call("/credentials/reset_password", {"stateToken": recovery, "newPassword": NEW_PASSWORD})
    call("/recovery/token", {"recoveryToken": token})
    call("", {"stateToken": recovery})

    assert len(errors) >= 7
    for text in errors:
        assert not [s for s in secrets if s in text], text
    for event in AuthEvent.objects.values():
        flat = json.dumps(event, default=str)
        assert not [s for s in secrets if s in flat], flat
    server_side = [r for r in caplog.records if r.name.split(".")[0] in ("oidc_flows", "django")]
    assert server_side, "the server logged nothing"
    for record in server_side:
        line = f"{record.getMessage()} {record.__dict__}"
        assert not [s for s in secrets if s in line], line


def test_sign_ins_failures_and_recovery_are_all_in_the_log(base_url, user, smtp):
    factor, secret = give_totp(user)
    sign_in(base_url, password=WRONG_PASSWORD)
    state = assert_ok(sign_in(base_url), "MFA_REQUIRED")["stateToken"]
    assert_ok(verify(base_url, state, factor.pk, passCode=code_for(secret)), "SUCCESS")
    post(base_url, "/recovery/password", {"username": "alice"})
    smtp.take(ALICE_MAIL)

    logged = set(AuthEvent.objects.filter(user=user).values_list("event_type", "outcome"))

    assert {
        (events.PRIMARY, "FAILURE"),
        (events.PRIMARY, "SUCCESS"),
        (events.MFA, "SUCCESS"),
        (events.RESET_REQUEST, "SUCCESS"),
    } <= logged
