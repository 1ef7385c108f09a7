"""Self-service recovery over the Authentication API: forgotten password and unlock, by a mailed token.

Scenario: alice (no factors unless a test gives her an authenticator app) and a real SMTP server in
this process. ``/recovery/password`` and ``/recovery/unlock`` answer the same for anyone and mail only
users who exist (from a background thread, so the tests wait for the mail); the mailed token (also in
the mailed link) leads to PASSWORD_RESET, RECOVERY (a factor first) or, for an unlock, SUCCESS.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.utils import timezone

from oidc_flows.authn import events
from oidc_flows.authn.models import AuthEvent, OneTimeToken, PasswordPolicy, TokenPurpose
from tests.authn.api_support import (
    NEW_PASSWORD,
    TOTP,
    WRONG_PASSWORD,
    assert_error,
    assert_ok,
    code_for,
    give_email_factor,
    give_totp,
    link_path,
    mailed_recovery,
    post,
    sign_in,
    smtp_fixture,  # noqa: F401
    state_of,
    wrong_code,
)
from tests.factories import PASSWORD


ALICE_MAIL = "alice@example.com"
#: Okta's answer to a recovery request: no stateToken, no links, the same for everyone.
RECOVERY_CHALLENGE = {
    "status": "RECOVERY_CHALLENGE",
    "factorResult": "WAITING",
    "factorType": "EMAIL",
}


def ask_reset(base_url: str, username: str = "alice"):
    return post(base_url, "/recovery/password", {"username": username, "factorType": "EMAIL"})


def ask_unlock(base_url: str, username: str = "alice"):
    return post(base_url, "/recovery/unlock", {"username": username, "factorType": "EMAIL"})


def redeem(base_url: str, token: str):
    return post(base_url, "/recovery/token", {"recoveryToken": token})


def mailed_token(smtp, address: str = ALICE_MAIL) -> str:
    return mailed_recovery(smtp.take(address))[2]


def reset_state(base_url: str, smtp) -> str:
    assert_ok(ask_reset(base_url), "RECOVERY_CHALLENGE")
    return assert_ok(redeem(base_url, mailed_token(smtp)), "PASSWORD_RESET")["stateToken"]


# -- asking -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("ask", [ask_reset, ask_unlock], ids=["password", "unlock"])
def test_known_and_unknown_users_get_the_same_answer(base_url, user, smtp, ask):
    known = ask(base_url, "alice")
    unknown = ask(base_url, "mallory")

    assert known.status_code == unknown.status_code == 200
    assert known.json() == unknown.json()
    recovery_type = "PASSWORD" if ask is ask_reset else "UNLOCK"
    assert known.json() == {**RECOVERY_CHALLENGE, "recoveryType": recovery_type}


@pytest.mark.parametrize("ask", [ask_reset, ask_unlock], ids=["password", "unlock"])
def test_only_a_user_who_exists_gets_mail(base_url, user, smtp, ask):
    ask(base_url, "mallory")
    ask(base_url, "alice")

    smtp.take(ALICE_MAIL)
    assert smtp.settle() == 1


def test_the_mail_links_to_the_hosted_page_with_the_token(base_url, user, smtp):
    ask_reset(base_url)

    base, kind, token = mailed_recovery(smtp.take(ALICE_MAIL))

    assert (base, kind) == (base_url, "reset-password")
    assert len(token) >= 32


def test_recovery_requests_are_written_to_the_log(base_url, user, smtp):
    ask_reset(base_url, "mallory")
    ask_reset(base_url, "alice")
    smtp.take(ALICE_MAIL)

    requests = AuthEvent.objects.filter(event_type=events.RESET_REQUEST)
    assert requests.get(username="alice").outcome == "SUCCESS"
    assert requests.get(username="mallory").outcome == "FAILURE"


def test_a_user_without_email_recovery_gets_the_same_answer_and_no_mail(base_url, user, smtp):
    PasswordPolicy.objects.create(name="No self-service", email_recovery=False)

    body = assert_ok(ask_reset(base_url), "RECOVERY_CHALLENGE")

    assert body == {**RECOVERY_CHALLENGE, "recoveryType": "PASSWORD"}
    assert smtp.settle() == 0


@pytest.mark.parametrize("username", [None, "", 42, ["alice"], {"a": 1}])
def test_a_recovery_request_without_a_username_is_invalid(base_url, user, username):
    assert_error(post(base_url, "/recovery/password", {"username": username}), "E0000001")


# -- the token ------------------------------------------------------------------------------------------------


def test_the_token_leads_to_password_reset(base_url, user, smtp):
    ask_reset(base_url)

    body = assert_ok(redeem(base_url, mailed_token(smtp)), "PASSWORD_RESET")

    assert body["stateToken"]
    assert body["recoveryType"] == "PASSWORD"
    assert body["_links"]["next"]["name"] == "resetPassword"
    assert link_path(body, "_links", "next") == "/credentials/reset_password"
    assert link_path(body, "_links", "cancel") == "/cancel"
    assert body["_embedded"]["user"]["profile"]["login"] == "alice"
    assert body["_embedded"]["policy"]["complexity"]


def test_a_weak_password_is_refused_with_django_s_reasons(base_url, user, smtp):
    state = reset_state(base_url, smtp)
    weak = "12345"
    with pytest.raises(ValidationError) as expected:
        password_validation.validate_password(weak, user)

    body = assert_error(
        post(base_url, "/credentials/reset_password", {"stateToken": state, "newPassword": weak}), "E0000080"
    )

    assert [cause["errorSummary"] for cause in body["errorCauses"]] == expected.value.messages
    assert_ok(state_of(base_url, state), "PASSWORD_RESET")


def test_the_current_password_cannot_be_the_new_one(base_url, user, smtp):
    state = reset_state(base_url, smtp)

    response = post(base_url, "/credentials/reset_password", {"stateToken": state, "newPassword": PASSWORD})

    assert_error(response, "E0000080")


def test_a_new_password_signs_in_and_the_old_one_stops_working(base_url, user, smtp):
    state = reset_state(base_url, smtp)

    body = assert_ok(
        post(base_url, "/credentials/reset_password", {"stateToken": state, "newPassword": NEW_PASSWORD}), "SUCCESS"
    )

    assert body["sessionToken"] and "stateToken" not in body
    assert_error(sign_in(base_url), "E0000004")
    assert_ok(sign_in(base_url, password=NEW_PASSWORD), "SUCCESS")
    assert AuthEvent.objects.filter(event_type=events.PASSWORD_RESET, user=user).count() == 1


def test_a_recovery_token_works_once(base_url, user, smtp):
    ask_reset(base_url)
    token = mailed_token(smtp)
    assert_ok(redeem(base_url, token), "PASSWORD_RESET")

    assert_error(redeem(base_url, token), "E0000011")


def test_an_expired_recovery_token_is_refused(base_url, user, smtp):
    ask_reset(base_url)
    token = mailed_token(smtp)
    OneTimeToken.objects.filter(purpose=TokenPurpose.RECOVERY).update(expires=timezone.now() - timedelta(seconds=1))

    assert_error(redeem(base_url, token), "E0000011")


def test_a_newer_token_ends_the_older_one(base_url, user, smtp):
    ask_reset(base_url)
    older = mailed_token(smtp)
    ask_reset(base_url)
    newer = mailed_token(smtp)

    assert_error(redeem(base_url, older), "E0000011")
    assert_ok(redeem(base_url, newer), "PASSWORD_RESET")


@pytest.mark.parametrize("token", ["", "x" * 43, None, 12, ["a" * 43], "a" * 5000])
def test_a_made_up_recovery_token_is_refused(base_url, user, token):
    assert_error(redeem(base_url, token), "E0000011")


def test_a_password_reset_token_of_a_deactivated_user_is_refused(base_url, user, smtp):
    ask_reset(base_url)
    token = mailed_token(smtp)
    user.is_active = False
    user.save(update_fields=["is_active"])

    assert_error(redeem(base_url, token), "E0000011")


# -- a factor before the reset ------------------------------------------------------------------------------


@pytest.fixture
def alice_totp(user):
    return give_totp(user)


def test_a_user_with_an_authenticator_app_must_answer_it_first(base_url, alice_totp, smtp):
    factor, _ = alice_totp
    give_email_factor(factor.user)  # the mailbox the token came from proves nothing more
    ask_reset(base_url)

    body = assert_ok(redeem(base_url, mailed_token(smtp)), "RECOVERY")

    assert body["stateToken"] and body["recoveryType"] == "PASSWORD"
    assert body["_links"]["next"]["name"] == "answer"
    assert link_path(body, "_links", "next") == "/recovery/answer"
    assert [f["factorType"] for f in body["_embedded"]["factors"]] == [TOTP]
    assert_error(
        post(base_url, "/credentials/reset_password", {"stateToken": body["stateToken"], "newPassword": NEW_PASSWORD}),
        "E0000079",
    )


def test_the_right_code_answers_recovery(base_url, alice_totp, smtp):
    factor, secret = alice_totp
    ask_reset(base_url)
    state = assert_ok(redeem(base_url, mailed_token(smtp)), "RECOVERY")["stateToken"]

    assert_ok(post(base_url, "/recovery/answer", {"stateToken": state, "answer": code_for(secret)}), "PASSWORD_RESET")
    body = assert_ok(
        post(base_url, "/credentials/reset_password", {"stateToken": state, "newPassword": NEW_PASSWORD}), "SUCCESS"
    )

    assert body["sessionToken"]


def test_a_wrong_code_does_not_answer_recovery(base_url, alice_totp, smtp):
    factor, secret = alice_totp
    ask_reset(base_url)
    state = assert_ok(redeem(base_url, mailed_token(smtp)), "RECOVERY")["stateToken"]

    assert_error(post(base_url, "/recovery/answer", {"stateToken": state, "answer": wrong_code(secret)}), "E0000068")

    assert_ok(state_of(base_url, state), "RECOVERY")


def test_recovery_may_also_be_answered_at_the_factor(base_url, alice_totp, smtp):
    factor, secret = alice_totp
    ask_reset(base_url)
    body = assert_ok(redeem(base_url, mailed_token(smtp)), "RECOVERY")

    verify = link_path(body["_embedded"]["factors"][0], "_links", "verify")
    answered = post(base_url, verify, {"stateToken": body["stateToken"], "passCode": code_for(secret)})

    assert_ok(answered, "PASSWORD_RESET")


def test_five_wrong_recovery_answers_end_the_transaction(base_url, alice_totp, smtp):
    factor, secret = alice_totp
    ask_reset(base_url)
    state = assert_ok(redeem(base_url, mailed_token(smtp)), "RECOVERY")["stateToken"]
    for _ in range(5):
        assert_error(
            post(base_url, "/recovery/answer", {"stateToken": state, "answer": wrong_code(secret)}), "E0000068"
        )

    assert_error(post(base_url, "/recovery/answer", {"stateToken": state, "answer": code_for(secret)}), "E0000011")


# -- lockout, then unlock by email ----------------------------------------------------------------------------


def lock_alice(base_url: str) -> None:
    for _ in range(5):
        assert_error(sign_in(base_url, password=WRONG_PASSWORD), "E0000004")


def test_five_wrong_passwords_lock_even_the_right_one_out(base_url, user):
    lock_alice(base_url)

    assert_error(sign_in(base_url), "E0000004")


def test_four_wrong_passwords_do_not_lock(base_url, user):
    for _ in range(4):
        sign_in(base_url, password=WRONG_PASSWORD)

    assert_ok(sign_in(base_url), "SUCCESS")


def test_a_lockout_is_written_to_the_log_once(base_url, user):
    lock_alice(base_url)
    sign_in(base_url)

    assert AuthEvent.objects.filter(event_type=events.LOCK, user=user).count() == 1


def test_unlock_by_email(base_url, user, smtp):
    lock_alice(base_url)
    assert_ok(ask_unlock(base_url), "RECOVERY_CHALLENGE")
    base, kind, token = mailed_recovery(smtp.take(ALICE_MAIL))
    assert kind == "unlock"

    body = assert_ok(redeem(base_url, token), "SUCCESS")

    assert body["recoveryType"] == "UNLOCK"
    assert "stateToken" not in body
    assert_ok(sign_in(base_url), "SUCCESS")
    assert AuthEvent.objects.filter(event_type=events.UNLOCK, user=user).count() == 1
    assert AuthEvent.objects.filter(event_type=events.UNLOCK_REQUEST, user=user).count() == 1


def test_an_unlock_token_works_once(base_url, user, smtp):
    ask_unlock(base_url)
    token = mailed_token(smtp)
    assert_ok(redeem(base_url, token), "SUCCESS")

    assert_error(redeem(base_url, token), "E0000011")


def test_a_password_reset_also_unlocks(base_url, user, smtp):
    lock_alice(base_url)
    state = reset_state(base_url, smtp)

    assert_ok(
        post(base_url, "/credentials/reset_password", {"stateToken": state, "newPassword": NEW_PASSWORD}), "SUCCESS"
    )

    assert_ok(sign_in(base_url, password=NEW_PASSWORD), "SUCCESS")


def test_a_user_without_self_unlock_gets_no_mail(base_url, user, smtp):
    PasswordPolicy.objects.create(name="Admins unlock", self_unlock=False)
    lock_alice(base_url)

    assert_ok(ask_unlock(base_url), "RECOVERY_CHALLENGE")

    assert smtp.settle() == 0
