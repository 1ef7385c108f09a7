"""Okta's own SDK, @okta/okta-auth-js 8, in headless Chromium against the Authentication API and PKCE.

Scenario: an IdP of this module's own (it mails through an SMTP server this test runs), a user with an
active TOTP factor, a user with none, and a `spa` application on the `default` server whose redirect URI
and allowed origin are the harness's (tests/interop/okta), a trusted origin of the IdP. From that origin,
the SDK (1) calls `signInWithCredentials`, (2) answers MFA_REQUIRED with a TOTP code the test computes,
(3) turns the `sessionToken` into tokens with `token.getWithRedirect` (PKCE) and `handleLoginRedirect`, and
(4) recovers a password: `forgotPassword` -> the mailed recovery token -> `verifyRecoveryToken` ->
`resetPassword`. Every call is the SDK's own, over CORS; the tokens are verified with joserfc.
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.admin.conftest import CHROMIUM, CHROMIUM_ARGS, browser_missing, screenshot
from tests.factories import PASSWORD
from tests.interop.conftest import (
    HERE,
    JS,
    listening_socket,
    running_idp,
    static_site,
    url_of,
)
from tests.support import processes
from tests.support.jose import verify_jwt


pytestmark = pytest.mark.usefixtures("node")  # skip (or fail) before starting anything

HARNESS = HERE / "okta"
BUNDLE = JS / "node_modules" / "@okta" / "okta-auth-js" / "dist" / "okta-auth-js.min.js"
HARNESS_FILES = frozenset({"/index.html", "/callback.html", "/app.js"})
CLIENT_ID = "okta-auth-js"
MFA_USER = "otto"
RECOVERY_USER = "rita"
NEW_PASSWORD = "a new password for okta-auth-js 8"
MAIL_SECONDS = 20
TOTP = "token:software:totp"


# --- The mail the IdP sends ---------------------------------------------------------------------------------


class Mailbox:
    """An aiosmtpd handler that keeps every message; the test waits for the one addressed to a user."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.messages: list[tuple[list[str], EmailMessage]] = []
        self.arrived = threading.Condition()

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 (aiosmtpd's hook name)
        message = message_from_bytes(envelope.original_content or envelope.content, policy=policy.default)
        with self.arrived:
            self.messages.append(([rcpt.lower() for rcpt in envelope.rcpt_tos], message))
            self.arrived.notify_all()
        return "250 Message accepted for delivery"

    def wait_for(self, address: str, timeout: float = MAIL_SECONDS) -> EmailMessage:
        deadline = time.monotonic() + timeout
        with self.arrived:
            while True:
                for recipients, message in self.messages:
                    if address.lower() in recipients:
                        return message
                if not self.arrived.wait(max(0.0, deadline - time.monotonic())):
                    pytest.fail(f"no mail to {address} within {timeout} s (got {len(self.messages)} others)")


def text_of(message: EmailMessage) -> str:
    """The text of a message: its plain part, else its HTML part, else whatever text it has."""
    part = message.get_body(preferencelist=("plain", "html"))
    if part is not None:
        return part.get_content()
    return "\n".join(p.get_content() for p in message.walk() if p.get_content_maintype() == "text")


def recovery_token(message: EmailMessage) -> str:
    """The token on the `Recovery token: <token>` line; it must be the one the reset link carries."""
    text = text_of(message)
    line = re.search(r"Recovery token:\s*([A-Za-z0-9_\-.~]+)", text)
    link = re.search(r"/signin/reset-password/([A-Za-z0-9_\-.~]+)", text)
    assert line and link, f"no recovery token line and link in:\n{text}"
    assert line[1] == link[1], (line[1], link[1])
    return line[1]


@pytest.fixture(scope="module")
def mailbox() -> Iterator[Mailbox]:
    from aiosmtpd.controller import Controller

    box = Mailbox(processes.free_port())
    controller = Controller(box, hostname="127.0.0.1", port=box.port)
    controller.start()
    try:
        yield box
    finally:
        controller.stop()


# --- The IdP, with mail, and its set-up (tests/interop/okta/setup_okta.py) -----------------------------------


@dataclass(frozen=True)
class OktaIdP:
    base_url: str
    harness: str  # the harness's origin, a trusted origin of the IdP
    totp_secret: str = field(repr=False)
    factor_id: str = ""
    password: str = field(default=PASSWORD, repr=False)

    @property
    def issuer(self) -> str:
        return f"{self.base_url}/oauth2/default"

    def endpoint(self, name: str) -> str:
        return f"{self.issuer}/v1/{name}"

    def totp_now(self) -> str:
        import pyotp

        return pyotp.TOTP(self.totp_secret).now()


@pytest.fixture(scope="module")
def okta_sockets() -> Iterator[dict]:
    socks = {name: listening_socket() for name in ("idp", "harness")}
    yield socks
    for sock in socks.values():
        sock.close()


@pytest.fixture(scope="module")
def okta_idp(tmp_path_factory, okta_sockets, mailbox) -> Iterator[OktaIdP]:
    """An IdP of this module's own: the session's `idp` cannot be given an EMAIL_URL."""
    var_dir = tmp_path_factory.mktemp("okta-idp")
    harness = url_of(okta_sockets["harness"])
    out = var_dir / "okta-setup.json"
    setup = {
        "mfa_user": {"username": MFA_USER, "password": PASSWORD},
        "recovery_user": {"username": RECOVERY_USER, "password": PASSWORD},
        "client": {"client_id": CLIENT_ID, "redirect_uri": f"{harness}/callback.html", "origin": harness},
        "out": str(out),
    }
    mail = {"EMAIL_URL": f"smtp://127.0.0.1:{mailbox.port}"}
    with running_idp(var_dir, okta_sockets["idp"], HARNESS / "setup_okta.py", setup, mail) as base_url:
        made = json.loads(out.read_text())
        yield OktaIdP(base_url, harness, made["totp_secret"], made.get("factor_id", ""))


# --- The harness: a static site on its own origin, with the SDK's browser bundle --------------------------------


@pytest.fixture(scope="module")
def harness(okta_idp, okta_sockets) -> Iterator[str]:
    """The harness, served from its own origin (the trusted one); its base URL. Nothing else of the
    directory (the set-up script) is served."""
    config_js = f"window.HARNESS_CONFIG = {json.dumps({'issuer': okta_idp.issuer, 'clientId': CLIENT_ID})};"
    files = {"/okta-auth-js.min.js": BUNDLE}
    with static_site(okta_sockets["harness"], HARNESS, config_js, files, HARNESS_FILES) as url:
        yield url


# --- The browser ---------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def chromium(node) -> Iterator[Any]:
    if not BUNDLE.is_file():
        why = "@okta/okta-auth-js is not installed: run npm ci --prefix tests/interop/js"
        if os.environ.get("REQUIRE_NODE") == "1":
            pytest.fail(f"REQUIRE_NODE=1 but {why}", pytrace=False)
        pytest.skip(why)
    if why := browser_missing():
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail(f"REQUIRE_BROWSER=1 but {why}", pytrace=False)
        pytest.skip(why)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class Harness:
    """One browser context on the harness page, and the IdP's answers to the SDK's calls."""

    def __init__(self, browser: Any, idp: OktaIdP, harness: str) -> None:
        self.idp = idp
        self.origin = harness
        self.context = browser.new_context()
        self.context.set_default_timeout(20_000)
        self.page = self.context.new_page()
        self.responses: list[dict] = []
        self.console: list[str] = []
        self.page.on("response", self._record)
        self.page.on("console", lambda message: self.console.append(f"{message.type}: {message.text}"))
        self.page.goto(f"{harness}/index.html")

    def _record(self, response: Any) -> None:
        if response.url.startswith(self.idp.base_url):
            request = response.request
            self.responses.append(
                {
                    "url": response.url,
                    "path": urlsplit(response.url).path,
                    "method": request.method,
                    "status": response.status,
                    "headers": response.headers,
                }
            )

    def call(self, function: str, *args: str) -> dict:
        """Run one step of app.js with ``args``; what the SDK returned, or {"error": ...}."""
        return self.page.evaluate(f"(args) => {function}(...args)", list(args))

    def result(self) -> dict:
        self.page.wait_for_function("document.getElementById('result').textContent !== ''")
        return json.loads(self.page.text_content("#result"))

    def close(self) -> None:
        self.context.close()


@pytest.fixture(scope="module")
def mfa_sign_in(chromium, okta_idp, harness) -> dict:
    """Steps 1-3 with the TOTP user: what the SDK reported at each step, and the IdP's answers."""
    run = Harness(chromium, okta_idp, harness)
    steps: dict[str, Any] = {}
    try:
        steps["signIn"] = run.call("signIn", MFA_USER, okta_idp.password)
        screenshot(run.page, "okta-auth-js-mfa-required")
        if steps["signIn"].get("status") != "MFA_REQUIRED":
            return {"steps": steps, "responses": run.responses}
        steps["verify"] = run.call("verifyTotp", okta_idp.totp_now())
        screenshot(run.page, "okta-auth-js-mfa-success")
        session_token = steps["verify"].get("sessionToken")
        if not session_token:
            return {"steps": steps, "responses": run.responses}
        # Fire and forget: the page leaves for /authorize, then comes back to callback.html.
        run.page.evaluate("(token) => { redirectWithSessionToken(token); }", session_token)
        try:
            run.page.wait_for_url(f"{harness}/callback.html**")
        except Exception:  # noqa: BLE001 (playwright's TimeoutError; report where the browser stopped)
            screenshot(run.page, "okta-auth-js-redirect-stuck")
            steps["redirect"] = {"error": {"stuck_at": run.page.url, "console": run.console}}
            return {"steps": steps, "responses": run.responses}
        steps["callback"] = run.result()
        screenshot(run.page, "okta-auth-js-callback")
        return {"steps": steps, "responses": run.responses}
    finally:
        run.close()


@pytest.fixture(scope="module")
def recovery(chromium, okta_idp, harness, mailbox) -> dict:
    """Step 4 with the user without factors: forgotPassword -> mail -> verifyRecoveryToken -> resetPassword."""
    run = Harness(chromium, okta_idp, harness)
    steps: dict[str, Any] = {}
    try:
        steps["forgot"] = run.call("forgotPassword", RECOVERY_USER)
        if "error" in steps["forgot"]:
            return {"steps": steps, "responses": run.responses}
        message = mailbox.wait_for(f"{RECOVERY_USER}@example.com")
        steps["mail"] = {"subject": str(message["Subject"]), "text": text_of(message)}
        steps["verifyRecoveryToken"] = run.call("verifyRecoveryToken", recovery_token(message))
        screenshot(run.page, "okta-auth-js-password-reset")
        if "error" in steps["verifyRecoveryToken"]:
            return {"steps": steps, "responses": run.responses}
        steps["reset"] = run.call("resetPassword", NEW_PASSWORD)
        steps["oldPassword"] = run.call("signIn", RECOVERY_USER, okta_idp.password)
        steps["newPassword"] = run.call("signIn", RECOVERY_USER, NEW_PASSWORD)
        screenshot(run.page, "okta-auth-js-recovered")
        return {"steps": steps, "responses": run.responses}
    finally:
        run.close()


# --- 1-3: credentials, TOTP, sessionToken -> tokens ------------------------------------------------------------------


def test_sign_in_with_credentials_asks_for_the_totp_factor(mfa_sign_in, okta_idp):
    answer = mfa_sign_in["steps"]["signIn"]

    assert answer.get("status") == "MFA_REQUIRED", (answer, mfa_sign_in["responses"])
    assert answer["hasStateToken"], answer
    assert "cancel" in answer["methods"], answer  # _links.cancel with hints.allow = ["POST"]
    totp = [factor for factor in answer["factors"] if factor["factorType"] == TOTP]
    assert len(totp) == 1, answer
    assert "verify" in totp[0]["methods"], totp  # _links.verify became factor.verify()
    assert totp[0]["provider"]
    if okta_idp.factor_id:
        assert totp[0]["id"] == okta_idp.factor_id


def test_the_totp_code_gives_a_session_token(mfa_sign_in):
    answer = mfa_sign_in["steps"].get("verify")

    assert answer and answer.get("status") == "SUCCESS", mfa_sign_in["steps"]
    assert answer["sessionToken"], answer


def test_the_session_token_becomes_verified_tokens_with_pkce(mfa_sign_in, okta_idp):
    steps = mfa_sign_in["steps"]
    callback = steps.get("callback")
    assert callback and "error" not in callback, steps
    assert callback["isLoginRedirect"], callback
    assert callback["idToken"] and callback["accessToken"], callback

    id_claims = verify_jwt(
        callback["idToken"], jwks_url=okta_idp.endpoint("keys"), issuer=okta_idp.issuer, audience=CLIENT_ID
    )
    assert {"pwd", "otp", "mfa"} <= set(id_claims["amr"]), id_claims
    assert id_claims["nonce"] == callback["idTokenClaims"]["nonce"]  # the SDK checked it against its own
    access_claims = verify_jwt(
        callback["accessToken"],
        jwks_url=okta_idp.endpoint("keys"),
        issuer=okta_idp.issuer,
        audience="api://default",
        typ="at+jwt",
    )
    assert access_claims["client_id"] == CLIENT_ID
    assert {"openid", "profile", "email"} <= set(access_claims["scp"]), access_claims

    calls = [(r["method"], r["path"]) for r in mfa_sign_in["responses"]]
    assert ("GET", "/oauth2/default/v1/authorize") in calls, calls  # navigated there with the sessionToken
    assert ("POST", "/oauth2/default/v1/token") in calls, calls  # the SDK's own code exchange (PKCE)
    assert callback["search"] == "", callback  # the code left the address bar


def test_the_authentication_api_granted_the_trusted_origin_with_credentials(mfa_sign_in, okta_idp):
    authn = [r for r in mfa_sign_in["responses"] if r["path"].startswith("/api/v1/authn") and r["method"] == "POST"]

    assert len(authn) == 2, mfa_sign_in["responses"]  # /api/v1/authn, then the factor's verify link
    for response in authn:
        assert response["status"] == 200, response
        assert response["headers"]["access-control-allow-origin"] == okta_idp.harness  # never "*"
        assert response["headers"]["access-control-allow-credentials"] == "true"


# --- 4: recovery by email ----------------------------------------------------------------------------------------


def test_forgot_password_is_a_recovery_challenge_by_email(recovery):
    answer = recovery["steps"]["forgot"]

    assert answer.get("status") == "RECOVERY_CHALLENGE", answer
    assert answer.get("factorType", "").upper() == "EMAIL", answer
    assert answer.get("recoveryType") == "PASSWORD", answer
    assert "mail" in recovery["steps"], recovery["steps"]


def test_the_mailed_token_leads_to_a_password_reset(recovery):
    answer = recovery["steps"].get("verifyRecoveryToken")

    assert answer and answer.get("status") == "PASSWORD_RESET", recovery["steps"]
    assert answer["hasStateToken"], answer
    assert "resetPassword" in answer["methods"], answer  # _links.next.name


def test_reset_password_signs_in_and_only_the_new_password_works(recovery):
    steps = recovery["steps"]

    assert steps.get("reset", {}).get("status") == "SUCCESS", steps
    assert steps["reset"]["sessionToken"], steps
    assert steps["newPassword"].get("status") == "SUCCESS", steps["newPassword"]
    assert steps["newPassword"]["sessionToken"]
    error = steps["oldPassword"].get("error")
    assert error, steps["oldPassword"]
    # An Okta error the SDK could read: the 401 carried the CORS grant too.
    assert (error["status"], error["errorCode"]) == (401, "E0000004"), error
