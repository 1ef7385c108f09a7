"""The hosted sign-in pages in a real browser: an authenticator app and a passkey set up and used, and axe-core.

Scenario: alice in Debian's chromium (Playwright) on http://localhost:PORT (WebAuthn needs a domain
for its RP ID; BASE_URL is that localhost URL). She adds an authenticator app on /account/ by reading
the key the page shows, signs out and in with a code; she adds a passkey held by Chromium's virtual
authenticator (CDP ``WebAuthn``) and signs in with it alone and as a second factor. axe-core checks
the sign-in, MFA, enrollment, account and recovery pages against WCAG 2.1 AA, in light and dark mode.
Screenshots go to artifacts/screenshots/authn-*.png.

Without playwright or chromium these tests skip, saying why (``REQUIRE_BROWSER=1`` fails instead);
without tests/authn/js/node_modules (``npm ci --prefix tests/authn/js``) the axe tests do the same.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pyotp
import pytest
from django.utils import timezone

from oidc_flows.authn.factors import totp
from oidc_flows.authn.models import (
    Enrollment,
    EnrollmentPolicy,
    Factor,
    FactorStatus,
    FactorType,
    PasswordPolicy,
    Primary,
    SignOnPolicy,
    SignOnRule,
)
from oidc_flows.models import UserProfile
from tests.admin.conftest import CHROMIUM, CHROMIUM_ARGS, browser_missing, screenshot
from tests.factories import PASSWORD


AXE = Path(__file__).resolve().parent / "js" / "node_modules" / "axe-core" / "axe.min.js"
#: WCAG 2.0 and 2.1, levels A and AA (axe-core's tags).
WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def skip_or_fail(why: str) -> None:
    if os.environ.get("REQUIRE_BROWSER") == "1":
        pytest.fail(f"REQUIRE_BROWSER=1 but {why}", pytrace=False)
    pytest.skip(why)


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """One headless chromium per module, as in tests/admin."""
    if why := browser_missing():
        skip_or_fail(why)
    from playwright.sync_api import sync_playwright

    with pytest.MonkeyPatch.context() as patch, sync_playwright() as playwright:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # the tests' ORM calls run beside Playwright's loop
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def localhost(live_server, settings) -> str:
    """The live server as http://localhost:PORT, which is also BASE_URL (the WebAuthn RP ID is "localhost")."""
    url = live_server.url.replace("127.0.0.1", "localhost")
    settings.OIDC_FLOWS = {**settings.OIDC_FLOWS, "BASE_URL": url}
    return url


@pytest.fixture
def tab(chromium, localhost, user) -> Iterator[Any]:
    context = chromium.new_context(base_url=localhost, viewport={"width": 1024, "height": 900})
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def authenticator(tab) -> str:
    """A platform passkey authenticator with user verification (Chromium's virtual one) for ``tab``."""
    cdp = tab.context.new_cdp_session(tab)
    cdp.send("WebAuthn.enable")
    answer = cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
            }
        },
    )
    return answer["authenticatorId"]


def code(secret: str, steps_ahead: int = 0) -> str:
    return pyotp.TOTP(secret).at(time.time() + 30 * steps_ahead)


def sign_in_with_password(page: Any, next_path: str = "") -> None:
    page.goto(f"/login/{'?next=' + next_path if next_path else ''}")
    page.fill("#id_username", "alice")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]:has-text('Sign in')")


def sign_out(page: Any) -> None:
    page.goto("/account/")
    page.click("button:has-text('Sign out')")
    page.wait_for_selector("text=You are signed out")


def signed_in_to_account(page: Any) -> None:
    page.goto("/account/")
    page.wait_for_selector("h1:has-text('Your account')")


def passwordless_rule() -> None:
    policy = SignOnPolicy.objects.create(name="Passkeys", priority=1)
    SignOnRule.objects.create(policy=policy, name="Passkey or password", primary=Primary.PASSWORD_OR_PASSKEY)


# -- an authenticator app -----------------------------------------------------------------------------------


def test_an_authenticator_app_is_set_up_on_the_account_page_and_signs_in(tab, user):
    page = tab
    sign_in_with_password(page, "/account/")
    page.wait_for_url("**/account/")
    page.click("button:has-text('Add an authenticator app')")
    page.wait_for_selector("#totp-secret")
    screenshot(page, "authn-account-totp-setup")
    secret = page.inner_text("#totp-secret").replace(" ", "")

    page.fill("#id_code", code(secret))
    page.click("button:has-text('Finish setting up')")
    page.wait_for_selector("text=Your authenticator app is set up.")
    screenshot(page, "authn-account-with-totp")
    assert Factor.objects.get(user=user, factor_type=FactorType.TOTP).status == FactorStatus.ACTIVE

    sign_out(page)
    sign_in_with_password(page, "/account/")
    page.wait_for_selector("#id_code")
    assert page.evaluate("document.activeElement.id") == "id_code"  # the code field has the focus
    screenshot(page, "authn-sign-in-code")
    page.fill("#id_code", code(secret, 1))  # the next time step: each code counts once
    page.click("button:has-text('Verify')")
    page.wait_for_url("**/account/")
    signed_in_to_account(page)


# -- passkeys --------------------------------------------------------------------------------------------------


def add_passkey(page: Any) -> None:
    sign_in_with_password(page, "/account/")
    page.wait_for_url("**/account/")
    page.click("button:has-text('Add a passkey')")
    page.wait_for_selector("#webauthn-button")
    screenshot(page, "authn-account-passkey-setup")
    page.click("#webauthn-button")
    page.wait_for_selector("text=Your passkey is set up.")


def test_a_passkey_signs_in_alone(tab, authenticator, user):
    passwordless_rule()
    page = tab
    add_passkey(page)
    factor = Factor.objects.get(user=user, factor_type=FactorType.WEBAUTHN)
    assert factor.status == FactorStatus.ACTIVE and factor.profile["credentialId"]
    sign_out(page)

    page.goto("/login/?next=/account/")
    screenshot(page, "authn-sign-in")
    page.click("#passkey-sign-in")
    page.wait_for_selector("#webauthn-button")
    screenshot(page, "authn-passkey-sign-in")
    page.click("#webauthn-button")

    page.wait_for_url("**/account/")
    signed_in_to_account(page)


def test_a_passkey_is_the_second_factor_after_the_password(tab, authenticator, user):
    page = tab
    add_passkey(page)
    sign_out(page)

    sign_in_with_password(page, "/account/")
    page.wait_for_selector("h1:has-text('Verify it')")
    screenshot(page, "authn-mfa-choose-passkey")
    page.click("button:has-text('Use my passkey')")  # asks the IdP for a challenge
    page.wait_for_selector("#webauthn-button")
    page.click("#webauthn-button")  # answers it with the authenticator

    page.wait_for_url("**/account/")
    signed_in_to_account(page)


# -- accessibility ------------------------------------------------------------------------------------------


@pytest.fixture
def axe() -> Path:
    if not AXE.is_file():
        skip_or_fail("axe-core is not installed (npm ci --prefix tests/authn/js)")
    return AXE


def assert_accessible(page: Any, name: str) -> None:
    """No WCAG 2.1 A/AA violation that axe-core finds, in light and in dark mode."""
    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme)
        page.add_script_tag(path=str(AXE))
        results = page.evaluate(
            "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})",
            WCAG_AA,
        )
        problems = [
            f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
            for v in results["violations"]
        ]
        assert not problems, f"{name} ({scheme}): " + "; ".join(problems)
    page.emulate_media(color_scheme="light")
    screenshot(page, f"authn-{name}")


def test_the_sign_in_and_recovery_pages_pass_axe(tab, axe, user):
    page = tab
    page.goto("/login/?login_hint=alice")
    assert_accessible(page, "a11y-sign-in")
    page.fill("#id_password", "wrong")
    page.click("button[type=submit]:has-text('Sign in')")
    page.wait_for_selector("#page-error")
    assert page.evaluate("document.activeElement.id") == "id_password"
    assert_accessible(page, "a11y-sign-in-error")

    page.click("text=Forgot password?")
    page.wait_for_selector("h1:has-text('Reset your password')")
    assert_accessible(page, "a11y-forgot-password")
    page.fill("#id_username", "alice")
    page.click("button:has-text('Send me a link')")
    page.wait_for_selector("h1:has-text('Check your email')")
    assert_accessible(page, "a11y-recovery-sent")

    page.goto("/login/")
    page.click("text=Unlock account")
    page.wait_for_selector("h1:has-text('Unlock your account')")
    assert_accessible(page, "a11y-unlock")

    page.goto("/signin/reset-password/" + "x" * 43)
    assert_accessible(page, "a11y-recovery-link")
    page.click("button:has-text('Continue')")
    page.wait_for_selector("text=Ask for a new link")
    assert_accessible(page, "a11y-recovery-link-invalid")


def test_the_mfa_and_enrollment_pages_pass_axe(tab, axe, user):
    page = tab
    EnrollmentPolicy.objects.create(name="Apps for all", priority=1, totp=Enrollment.REQUIRED)
    sign_in_with_password(page, "/account/")
    page.wait_for_selector("h1:has-text('Set up another way to sign in')")
    assert_accessible(page, "a11y-enroll")
    page.click("button:has-text('Authenticator app')")
    page.wait_for_selector("#totp-secret")
    assert_accessible(page, "a11y-enroll-totp")
    secret = page.inner_text("#totp-secret").replace(" ", "")
    page.fill("#id_code", code(secret, 5))
    page.click("button:has-text('Finish setting up')")
    page.wait_for_selector("#page-error")
    assert_accessible(page, "a11y-enroll-totp-wrong-code")
    page.fill("#id_code", code(secret))
    page.click("button:has-text('Finish setting up')")
    page.wait_for_url("**/account/")

    sign_out(page)
    Factor.objects.create(
        user=user, factor_type=FactorType.EMAIL, status=FactorStatus.ACTIVE, profile={"email": user.email}
    )
    sign_in_with_password(page, "/account/")
    page.wait_for_selector("#id_code")
    assert_accessible(page, "a11y-mfa-code")
    page.click("text=Email code")
    page.wait_for_selector("button:has-text('Send me a code')")
    assert_accessible(page, "a11y-mfa-email")


def test_the_account_and_password_pages_pass_axe(tab, axe, user):
    page = tab
    sign_in_with_password(page, "/account/")
    page.wait_for_url("**/account/")
    totp.enroll_active(user)
    page.goto("/account/")
    assert_accessible(page, "a11y-account")
    page.click("a:has-text('Remove')")
    page.wait_for_selector("h1:has-text('Remove')")
    assert_accessible(page, "a11y-account-remove")
    page.goto("/account/password")
    page.fill("#id_old_password", PASSWORD)
    page.fill("#id_new_password1", "short")
    page.fill("#id_new_password2", "short")
    page.click("button:has-text('Change password')")
    page.wait_for_selector("#id_new_password1_error")
    assert_accessible(page, "a11y-account-password-error")
    page.goto("/account/")
    page.click("button:has-text('recovery codes')")
    page.wait_for_selector("#recovery-codes")
    assert_accessible(page, "a11y-account-recovery-codes")


def test_the_password_expiry_and_passkey_pages_pass_axe(tab, axe, user):
    page = tab
    PasswordPolicy.objects.create(name="Warned", priority=1, max_age_days=30, warn_days=10)
    UserProfile.objects.filter(user=user).update(password_changed=timezone.now() - timedelta(days=25))
    sign_in_with_password(page, "/account/")
    page.wait_for_selector("h1:has-text('Your password expires soon')")
    assert_accessible(page, "a11y-password-warn")
    page.click("button:has-text('Not now')")
    page.wait_for_url("**/account/")

    passwordless_rule()
    sign_out(page)
    page.goto("/login/")
    page.click("#passkey-sign-in")
    page.wait_for_selector("#webauthn-button")
    assert_accessible(page, "a11y-passkey-sign-in")


def test_the_hosted_pages_keep_their_text_readable_when_zoomed(tab, user):
    """WCAG 1.4.10 reflow: at 320 CSS pixels wide nothing scrolls sideways."""
    page = tab
    page.set_viewport_size({"width": 320, "height": 640})
    totp.enroll_active(user)
    sign_in_with_password(page)
    page.wait_for_selector("#id_code")
    width = page.evaluate("document.documentElement.scrollWidth")
    screenshot(page, "authn-mfa-code-320px")
    assert width <= 320, width
    assert re.search(r"Verify it", page.inner_text("h1"))
