"""Second factors over the Authentication API: MFA_REQUIRED, MFA_CHALLENGE, MFA_ENROLL, MFA_ENROLL_ACTIVATE.

Scenario: alice signs in with her password, then verifies an authenticator app (pyotp computes the
codes, RFC 6238: 30 s steps, one step of drift either side) or an emailed code (a real SMTP server in
this process receives it), or enrolls one: required by an enrollment policy, or optional when the
client asks ``multiOptionalFactorEnroll``. Recovery codes are a backup: shown once, each works once.
"""

from __future__ import annotations

import base64
import re

import pyotp
import pytest

from oidc_flows.authn import events
from oidc_flows.authn.factors import recovery_codes
from oidc_flows.authn.models import AuthEvent, EnrollmentPolicy, Factor
from tests.authn.api_support import (
    TOTP,
    assert_error,
    assert_ok,
    code_for,
    give_email_factor,
    give_totp,
    link_path,
    mailed_code,
    parse_instant,
    post,
    sign_in,
    smtp_fixture,  # noqa: F401
    state_of,
    wrong_code,
)


OPTIONAL_ENROLL = {"options": {"multiOptionalFactorEnroll": True}}
ALICE_MAIL = "alice@example.com"


@pytest.fixture
def alice_totp(user) -> tuple[Factor, str]:
    return give_totp(user)


def verify(base_url: str, state: str, factor_id: str, **answer):
    return post(base_url, f"/factors/{factor_id}/verify", {"stateToken": state, **answer})


def activate(base_url: str, state: str, factor_id: str, **answer):
    return post(base_url, f"/factors/{factor_id}/lifecycle/activate", {"stateToken": state, **answer})


def enroll(base_url: str, state: str, factor_type: str):
    return post(base_url, "/factors", {"stateToken": state, "factorType": factor_type, "provider": "OKTA"})


# -- MFA_REQUIRED with an authenticator app -------------------------------------------------------------------


def test_a_user_with_a_factor_must_verify_it(base_url, alice_totp):
    factor, _ = alice_totp

    body = assert_ok(sign_in(base_url), "MFA_REQUIRED")

    assert body["stateToken"] and "sessionToken" not in body
    parse_instant(body["expiresAt"])
    assert body["_embedded"]["user"]["profile"]["login"] == "alice"
    [listed] = body["_embedded"]["factors"]
    assert (listed["id"], listed["factorType"], listed["provider"]) == (factor.pk, TOTP, "OKTA")
    assert link_path(listed, "_links", "verify") == f"/factors/{factor.pk}/verify"
    assert link_path(body, "_links", "cancel") == "/cancel"
    assert "sharedSecret" not in str(body) and factor.secret not in str(body)


def test_the_right_code_succeeds(base_url, alice_totp):
    factor, secret = alice_totp
    state = assert_ok(sign_in(base_url), "MFA_REQUIRED")["stateToken"]

    body = assert_ok(verify(base_url, state, factor.pk, passCode=code_for(secret)), "SUCCESS")

    assert body["sessionToken"] and "stateToken" not in body
    assert body["_embedded"]["user"]["profile"]["login"] == "alice"
    assert AuthEvent.objects.filter(event_type=events.MFA, outcome="SUCCESS", factor_type=TOTP).count() == 1


def test_a_wrong_code_is_refused_and_the_transaction_goes_on(base_url, alice_totp):
    factor, secret = alice_totp
    state = assert_ok(sign_in(base_url), "MFA_REQUIRED")["stateToken"]

    assert_error(verify(base_url, state, factor.pk, passCode=wrong_code(secret)), "E0000068")

    assert_ok(state_of(base_url, state), "MFA_REQUIRED")
    assert_ok(verify(base_url, state, factor.pk, passCode=code_for(secret)), "SUCCESS")


def test_a_wrong_code_is_written_to_the_log(base_url, alice_totp):
    factor, secret = alice_totp
    state = assert_ok(sign_in(base_url), "MFA_REQUIRED")["stateToken"]

    verify(base_url, state, factor.pk, passCode=wrong_code(secret))

    assert AuthEvent.objects.filter(event_type=events.MFA, outcome="FAILURE", user=factor.user).count() == 1


def test_a_code_works_once(base_url, alice_totp):
    factor, secret = alice_totp
    code = code_for(secret)
    first = assert_ok(sign_in(base_url), "MFA_REQUIRED")["stateToken"]
    assert_ok(verify(base_url, first, factor.pk, passCode=code), "SUCCESS")
    second = assert_ok(sign_in(base_url), "MFA_REQUIRED")["stateToken"]

    assert_error(verify(base_url, second, factor.pk, passCode=code), "E0000082")


@pytest.mark.parametrize("steps", [-1, 1])
def test_a_code_of_the_next_or_previous_step_is_accepted(base_url, alice_totp, steps):
    factor, secret = alice_totp
    state = assert_ok(sign_in(base_url), "MFA_REQUIRED")["stateToken"]

    assert_ok(verify(base_url, state, factor.pk, passCode=code_for(secret, steps)), "SUCCESS")


@pytest.mark.parametrize("steps", [-3, -2, 2, 3])
def test_a_code_two_steps_away_is_refused(base_url, alice_totp, steps):
    factor, secret = alice_totp
    state = assert_ok(sign_in(base_url), "MFA_REQUIRED")["stateToken"]
    code = code_for(secret, steps)
    if code in {code_for(secret, k) for k in (-1, 0, 1)}:
        pytest.skip("this code happens to repeat within the accepted window")

    assert_error(verify(base_url, state, factor.pk, passCode=code), "E0000068")


@pytest.mark.parametrize("passcode", ["", "12345", "1234567", "abcdef", 123456, None, ["123456"]])
def test_a_malformed_code_is_refused_without_an_error_page(base_url, alice_totp, passcode):
    factor, _ = alice_totp
    state = assert_ok(sign_in(base_url), "MFA_REQUIRED")["stateToken"]

    response = verify(base_url, state, factor.pk, passCode=passcode)

    assert response.status_code in (400, 403), response.text
    assert response.json()["errorCode"] in ("E0000001", "E0000068")


# -- MFA_CHALLENGE with an emailed code ---------------------------------------------------------------------


@pytest.fixture
def alice_email(user) -> Factor:
    return give_email_factor(user)


def challenge(base_url: str, factor: Factor) -> dict:
    state = assert_ok(sign_in(base_url), "MFA_REQUIRED")["stateToken"]
    return assert_ok(verify(base_url, state, factor.pk), "MFA_CHALLENGE")


def test_verifying_email_without_a_code_sends_one(base_url, alice_email, smtp):
    body = challenge(base_url, alice_email)

    assert body["factorResult"] == "CHALLENGE"
    assert body["_embedded"]["factor"]["id"] == alice_email.pk
    assert body["_links"]["next"]["name"] == "verify"
    assert link_path(body, "_links", "next") == f"/factors/{alice_email.pk}/verify"
    assert link_path(body, "_links", "prev") == "/previous"
    [resend] = body["_links"]["resend"]
    assert resend["hints"] == {"allow": ["POST"]} and resend["href"].endswith(
        f"/factors/{alice_email.pk}/verify/resend"
    )
    assert ALICE_MAIL not in str(body)  # masked
    assert re.fullmatch(r"\d{6}", mailed_code(smtp.take(ALICE_MAIL)))


def test_the_mailed_code_signs_in(base_url, alice_email, smtp):
    state = challenge(base_url, alice_email)["stateToken"]
    code = mailed_code(smtp.take(ALICE_MAIL))

    body = assert_ok(verify(base_url, state, alice_email.pk, passCode=code), "SUCCESS")

    assert body["sessionToken"]


def test_a_wrong_mailed_code_is_refused(base_url, alice_email, smtp):
    state = challenge(base_url, alice_email)["stateToken"]
    code = mailed_code(smtp.take(ALICE_MAIL))
    wrong = f"{(int(code) + 1) % 10**6:06d}"

    assert_error(verify(base_url, state, alice_email.pk, passCode=wrong), "E0000068")
    assert_ok(state_of(base_url, state), "MFA_CHALLENGE")


def test_a_mailed_code_works_once(base_url, alice_email, smtp):
    state = challenge(base_url, alice_email)["stateToken"]
    code = mailed_code(smtp.take(ALICE_MAIL))
    assert_ok(verify(base_url, state, alice_email.pk, passCode=code), "SUCCESS")
    again = challenge(base_url, alice_email)["stateToken"]
    smtp.take(ALICE_MAIL)

    assert_error(verify(base_url, again, alice_email.pk, passCode=code), "E0000068")


def test_resend_mails_a_new_code_that_replaces_the_first(base_url, alice_email, smtp):
    state = challenge(base_url, alice_email)["stateToken"]
    first = mailed_code(smtp.take(ALICE_MAIL))

    body = assert_ok(post(base_url, f"/factors/{alice_email.pk}/verify/resend", {"stateToken": state}), "MFA_CHALLENGE")
    second = mailed_code(smtp.take(ALICE_MAIL))

    assert body["stateToken"] == state
    if first != second:
        assert_error(verify(base_url, state, alice_email.pk, passCode=first), "E0000068")
    assert_ok(verify(base_url, state, alice_email.pk, passCode=second), "SUCCESS")


def test_previous_leaves_the_challenge(base_url, alice_email, smtp):
    state = challenge(base_url, alice_email)["stateToken"]

    body = assert_ok(post(base_url, "/previous", {"stateToken": state}), "MFA_REQUIRED")

    assert [f["id"] for f in body["_embedded"]["factors"]] == [alice_email.pk]


# -- MFA_ENROLL and MFA_ENROLL_ACTIVATE ---------------------------------------------------------------------


@pytest.fixture
def totp_required(user):
    return EnrollmentPolicy.objects.create(name="TOTP for all", totp="REQUIRED")


def test_a_required_factor_must_be_enrolled(base_url, totp_required):
    body = assert_ok(sign_in(base_url, **OPTIONAL_ENROLL), "MFA_ENROLL")

    assert body["stateToken"] and "sessionToken" not in body
    offered = {f["factorType"]: f for f in body["_embedded"]["factors"]}
    assert offered[TOTP]["enrollment"] == "REQUIRED"
    assert offered[TOTP]["status"] == "NOT_SETUP"
    assert link_path(offered[TOTP], "_links", "enroll") == "/factors"
    assert "skip" not in body["_links"]
    assert_error(post(base_url, "/skip", {"stateToken": body["stateToken"]}), "E0000079")


def test_enrolling_totp_shows_the_secret_and_a_qr_code(base_url, totp_required):
    state = assert_ok(sign_in(base_url), "MFA_ENROLL")["stateToken"]

    body = assert_ok(enroll(base_url, state, TOTP), "MFA_ENROLL_ACTIVATE")

    factor = body["_embedded"]["factor"]
    activation = factor["_embedded"]["activation"]
    assert activation["timeStep"] == 30 and activation["encoding"] == "base32"
    base64.b32decode(activation["sharedSecret"])
    qrcode = factor["_links"]["qrcode"]
    assert qrcode["href"].startswith("data:image/png;base64,")
    assert base64.b64decode(qrcode["href"].split(",", 1)[1]).startswith(b"\x89PNG")
    assert body["_links"]["next"]["name"] == "activate"
    assert link_path(body, "_links", "next") == f"/factors/{factor['id']}/lifecycle/activate"
    assert Factor.objects.get(pk=factor["id"]).status == "PENDING_ACTIVATION"


def test_activating_totp_with_a_code_signs_in(base_url, user, totp_required):
    state = assert_ok(sign_in(base_url), "MFA_ENROLL")["stateToken"]
    factor = assert_ok(enroll(base_url, state, TOTP), "MFA_ENROLL_ACTIVATE")["_embedded"]["factor"]
    secret = factor["_embedded"]["activation"]["sharedSecret"]

    body = assert_ok(activate(base_url, state, factor["id"], passCode=pyotp.TOTP(secret).now()), "SUCCESS")

    assert body["sessionToken"]
    stored = Factor.objects.get(pk=factor["id"])
    assert (stored.status, stored.user, stored.factor_type) == ("ACTIVE", user, TOTP)
    assert AuthEvent.objects.filter(event_type=events.FACTOR_ENROLL, user=user, factor_type=TOTP).count() == 1
    assert_ok(sign_in(base_url), "MFA_REQUIRED")  # from now on


def test_activating_totp_with_a_wrong_code_keeps_it_pending(base_url, totp_required):
    state = assert_ok(sign_in(base_url), "MFA_ENROLL")["stateToken"]
    factor = assert_ok(enroll(base_url, state, TOTP), "MFA_ENROLL_ACTIVATE")["_embedded"]["factor"]
    secret = factor["_embedded"]["activation"]["sharedSecret"]

    assert_error(activate(base_url, state, factor["id"], passCode=wrong_code(secret)), "E0000068")

    assert Factor.objects.get(pk=factor["id"]).status == "PENDING_ACTIVATION"
    assert_ok(state_of(base_url, state), "MFA_ENROLL_ACTIVATE")


def test_previous_abandons_the_pending_factor(base_url, totp_required):
    state = assert_ok(sign_in(base_url), "MFA_ENROLL")["stateToken"]
    factor = assert_ok(enroll(base_url, state, TOTP), "MFA_ENROLL_ACTIVATE")["_embedded"]["factor"]

    assert_ok(post(base_url, "/previous", {"stateToken": state}), "MFA_ENROLL")

    assert not Factor.objects.filter(pk=factor["id"]).exists()


def test_enrolling_again_replaces_the_pending_factor(base_url, totp_required):
    state = assert_ok(sign_in(base_url), "MFA_ENROLL")["stateToken"]
    first = assert_ok(enroll(base_url, state, TOTP), "MFA_ENROLL_ACTIVATE")["_embedded"]["factor"]

    second = assert_ok(enroll(base_url, state, TOTP), "MFA_ENROLL_ACTIVATE")["_embedded"]["factor"]

    assert second["id"] != first["id"]
    assert not Factor.objects.filter(pk=first["id"]).exists()
    secret = second["_embedded"]["activation"]["sharedSecret"]
    assert_error(activate(base_url, state, first["id"], passCode=pyotp.TOTP(secret).now()), "E0000007")
    assert_ok(activate(base_url, state, second["id"], passCode=pyotp.TOTP(secret).now()), "SUCCESS")


def test_a_factor_type_the_policy_disables_cannot_be_enrolled(base_url, user):
    EnrollmentPolicy.objects.create(name="TOTP only", totp="REQUIRED", email="DISABLED")
    state = assert_ok(sign_in(base_url), "MFA_ENROLL")["stateToken"]

    assert_error(enroll(base_url, state, "email"), "E0000113")


@pytest.mark.parametrize("factor_type", ["sms", "", None, 7, ["email"]])
def test_an_unknown_factor_type_cannot_be_enrolled(base_url, totp_required, factor_type):
    state = assert_ok(sign_in(base_url), "MFA_ENROLL")["stateToken"]

    assert_error(enroll(base_url, state, factor_type), "E0000001")


@pytest.fixture
def email_required(user):
    return EnrollmentPolicy.objects.create(name="Email for all", email="REQUIRED")


def test_enrolling_email_mails_a_code_that_activates_it(base_url, user, email_required, smtp):
    state = assert_ok(sign_in(base_url), "MFA_ENROLL")["stateToken"]
    body = assert_ok(enroll(base_url, state, "email"), "MFA_ENROLL_ACTIVATE")
    factor = body["_embedded"]["factor"]
    assert ALICE_MAIL not in str(body)
    assert body["_links"]["resend"][0]["href"].endswith(f"/factors/{factor['id']}/lifecycle/resend")
    code = mailed_code(smtp.take(ALICE_MAIL))

    assert_ok(activate(base_url, state, factor["id"], passCode=code), "SUCCESS")

    assert Factor.objects.get(pk=factor["id"]).status == "ACTIVE"
    assert AuthEvent.objects.filter(event_type=events.FACTOR_ENROLL, user=user, factor_type="email").exists()


def test_resending_the_activation_code_replaces_it(base_url, email_required, smtp):
    state = assert_ok(sign_in(base_url), "MFA_ENROLL")["stateToken"]
    factor = assert_ok(enroll(base_url, state, "email"), "MFA_ENROLL_ACTIVATE")["_embedded"]["factor"]
    first = mailed_code(smtp.take(ALICE_MAIL))

    resent = post(base_url, f"/factors/{factor['id']}/lifecycle/resend", {"stateToken": state})
    assert_ok(resent, "MFA_ENROLL_ACTIVATE")
    second = mailed_code(smtp.take(ALICE_MAIL))

    if first != second:
        assert_error(activate(base_url, state, factor["id"], passCode=first), "E0000068")
    assert_ok(activate(base_url, state, factor["id"], passCode=second), "SUCCESS")


# -- optional enrollment and recovery codes -----------------------------------------------------------------


def test_optional_enrollment_is_offered_when_asked_and_can_be_skipped(base_url, user):
    body = assert_ok(sign_in(base_url, **OPTIONAL_ENROLL), "MFA_ENROLL")
    assert body["_links"]["skip"]["name"] == "skip"
    assert {f["enrollment"] for f in body["_embedded"]["factors"]} == {"OPTIONAL"}

    done = assert_ok(post(base_url, link_path(body, "_links", "skip"), {"stateToken": body["stateToken"]}), "SUCCESS")

    assert done["sessionToken"]


def test_optional_enrollment_is_not_offered_unless_asked(base_url, user):
    assert_ok(sign_in(base_url), "SUCCESS")


def test_recovery_codes_are_shown_once(base_url, user):
    state = assert_ok(sign_in(base_url, **OPTIONAL_ENROLL), "MFA_ENROLL")["stateToken"]

    body = assert_ok(enroll(base_url, state, "recovery_code"), "MFA_ENROLL_ACTIVATE")

    codes = body["_embedded"]["factor"]["_embedded"]["activation"]["recoveryCodes"]
    assert len(codes) == len(set(codes)) == 10
    again = assert_ok(state_of(base_url, state), "MFA_ENROLL_ACTIVATE")
    assert not set(codes) & set(re.findall(r"[a-z0-9]{5}-[a-z0-9]{5}", str(again)))
    stored = Factor.objects.get(pk=body["_embedded"]["factor"]["id"])
    assert not any(code in str(stored.code_hashes) for code in codes)  # kept as hashes only


def test_recovery_codes_are_activated_by_typing_one_back(base_url, user):
    state = assert_ok(sign_in(base_url, **OPTIONAL_ENROLL), "MFA_ENROLL")["stateToken"]
    body = assert_ok(enroll(base_url, state, "recovery_code"), "MFA_ENROLL_ACTIVATE")
    factor = body["_embedded"]["factor"]
    codes = factor["_embedded"]["activation"]["recoveryCodes"]

    after = assert_ok(activate(base_url, state, factor["id"], passCode=codes[0]), "MFA_ENROLL")

    assert Factor.objects.get(pk=factor["id"]).status == "ACTIVE"
    assert "recovery_code" not in {f["factorType"] for f in after["_embedded"]["factors"] if f["status"] != "ACTIVE"}
    assert_ok(post(base_url, "/skip", {"stateToken": state}), "SUCCESS")


def test_a_recovery_code_answers_mfa_once(base_url, alice_totp):
    factor, _ = alice_totp
    codes = recovery_codes.regenerate(factor.user)
    body = assert_ok(sign_in(base_url), "MFA_REQUIRED")
    backup = next(f for f in body["_embedded"]["factors"] if f["factorType"] == "recovery_code")

    assert_ok(verify(base_url, body["stateToken"], backup["id"], passCode=codes[3]), "SUCCESS")
    again = assert_ok(sign_in(base_url), "MFA_REQUIRED")["stateToken"]

    assert_error(verify(base_url, again, backup["id"], passCode=codes[3]), "E0000068")
    assert_ok(verify(base_url, again, backup["id"], passCode=codes[4]), "SUCCESS")
