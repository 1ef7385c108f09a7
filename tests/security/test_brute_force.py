"""Password guessing at the sign-in page (RFC 9700 §4.15 leaves it to the AS; OWASP ASVS V2.2):
five wrong passwords in a row lock the account for 15 minutes (``oidc_flows.lockout``), even for
the right password, and the page never tells who exists or who is locked.

Scenario: alice and bob, each signing in from a fresh browser at ``/login/``.
"""

from __future__ import annotations

import re

import pytest

from oidc_flows import lockout
from tests.factories import PASSWORD, make_user
from tests.support.oauth import Browser, is_sign_in_form


WRONG = "not " + PASSWORD
ALERT = re.compile(r'<div class="alert alert-error" role="alert">(.*?)</div>', re.S)


def attempt(base_url: str, username: str, password: str) -> tuple[Browser, object]:
    browser = Browser(base_url)
    response = browser.sign_in(username=username, password=password)
    return browser, response


def refusal(response) -> str:
    """The message the sign-in page shows, whitespace normalised."""
    assert is_sign_in_form(response), (response.status_code, response.headers.get("Location"))
    match = ALERT.search(response.text)
    assert match, "no error shown"
    return " ".join(match.group(1).split())


def signed_in(browser: Browser) -> bool:
    return browser.get(f"{browser.base_url}/account/").status_code == 200


@pytest.fixture
def locked_alice(base_url, user):
    for _ in range(lockout.MAX_FAILURES):
        refusal(attempt(base_url, "alice", WRONG)[1])
    return user


def test_the_account_locks_after_five_wrong_passwords(base_url, locked_alice):
    browser, response = attempt(base_url, "alice", PASSWORD)

    refusal(response)
    assert not signed_in(browser)


def test_four_wrong_passwords_do_not_lock(base_url, user):
    for _ in range(lockout.MAX_FAILURES - 1):
        attempt(base_url, "alice", WRONG)

    browser, response = attempt(base_url, "alice", PASSWORD)

    assert response.status_code == 302 and signed_in(browser)


def test_a_locked_account_looks_like_a_wrong_password(base_url, locked_alice):
    # Telling "locked" apart would confirm the account exists and the guesses hit it.
    make_user(username="bob")
    _, wrong_password = attempt(base_url, "bob", WRONG)
    _, locked = attempt(base_url, "alice", PASSWORD)

    assert refusal(locked) == refusal(wrong_password)


def test_an_unknown_username_looks_like_a_wrong_password(base_url, user):
    _, unknown = attempt(base_url, "mallory", WRONG)
    _, wrong_password = attempt(base_url, "alice", WRONG)

    assert unknown.status_code == wrong_password.status_code == 200
    assert refusal(unknown) == refusal(wrong_password)


def test_guessing_unknown_usernames_locks_nobody(base_url, user):
    for _ in range(lockout.MAX_FAILURES + 1):
        attempt(base_url, "mallory", WRONG)

    browser, response = attempt(base_url, "alice", PASSWORD)

    assert response.status_code == 302 and signed_in(browser)


def test_the_lock_is_per_account(base_url, locked_alice):
    make_user(username="bob")

    browser, response = attempt(base_url, "bob", PASSWORD)

    assert response.status_code == 302 and signed_in(browser)
