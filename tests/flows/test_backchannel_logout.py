"""Logout that reaches every application: OIDC Back-Channel Logout 1.0 and Front-Channel Logout 1.0.

A relying party's receiver (tests/flows/logout_receiver.py, a tiny Django site under gunicorn) verifies
each logout token with joserfc against the server's JWKS. Alice signs in to "Mail" and "Calendar" in
one browser, then signs out at Mail (RP-initiated logout); both receive exactly one logout within a
second, and Mail's front-channel iframe is on the signed-out page. With the receiver down, the logout
waits in its LogoutDelivery row and is delivered once the receiver is back (short back-off for tests).
"""

from __future__ import annotations

import html
import json
import os
import secrets
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests

from oidc_flows.models import BrowserSession, LogoutDelivery
from tests.admin.conftest import CHROMIUM, CHROMIUM_ARGS, browser_missing
from tests.factories import PASSWORD, make_client
from tests.support import processes
from tests.support.jose import verify_jwt
from tests.support.oauth import AuthorizationRequest, Browser


pytestmark = pytest.mark.django_db(transaction=True)

SIGNED_OUT = "https://rp.example/signed-out"
FRONT_CHANNEL = "https://rp.example/front-channel-logout"  # same origin as RP_REDIRECT (Front-Channel §2)
IFRAME = 'class="frontchannel-logout"'


class Receiver:
    """The relying party's back-channel endpoint, as a process that can be stopped and started again."""

    def __init__(self, base_url: str, var_dir: Path) -> None:
        self.port = processes.free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = var_dir / "received.jsonl"
        self.server_log = var_dir / "gunicorn.log"
        self.env = os.environ | {
            "DJANGO_SETTINGS_MODULE": "tests.flows.logout_receiver",
            "RECEIVER_ISSUER": f"{base_url}/oauth2/default",
            "RECEIVER_JWKS_URL": f"{base_url}/oauth2/default/v1/keys",
            "RECEIVER_LOG": str(self.log),
        }
        self.process = None

    def start(self) -> None:
        command = [sys.executable, "-m", "gunicorn", "django.core.wsgi:get_wsgi_application()"]
        command += [f"--bind=127.0.0.1:{self.port}", "--workers=1", "--threads=4"]
        deadline = time.monotonic() + 30
        self.process = processes.start(
            command, env=self.env, log=self.server_log, ready_url=f"{self.url}/ready", deadline=deadline, pass_fds=()
        )

    def stop(self) -> None:
        processes.stop(self.process)
        self.process = None

    def uri(self, client_id: str) -> str:
        return f"{self.url}/bcl/{client_id}"

    def received(self, *client_ids: str) -> list[dict[str, Any]]:
        if not self.log.exists():
            return []
        entries = [json.loads(line) for line in self.log.read_text().splitlines()]
        return [entry for entry in entries if entry["client_id"] in client_ids and "frontchannel" not in entry]

    def frontchannel_loads(self, client_id: str) -> list[dict[str, str]]:
        if not self.log.exists():
            return []
        entries = [json.loads(line) for line in self.log.read_text().splitlines()]
        return [
            entry["frontchannel"] for entry in entries if entry["client_id"] == client_id and "frontchannel" in entry
        ]


@pytest.fixture(scope="module")
def receiver(live_server, tmp_path_factory) -> Iterator[Receiver]:
    receiver = Receiver(live_server.url, tmp_path_factory.mktemp("logout-receiver"))
    receiver.start()
    yield receiver
    if receiver.process is not None:
        receiver.stop()


@pytest.fixture(autouse=True)
def quick_retries(settings) -> None:
    """Retries 0.3 s apart (production: 10 s, 30 s, 2 min, ...), and a worker that looks often."""
    settings.OIDC_FLOWS = {
        **settings.OIDC_FLOWS,
        "LOGOUT_RETRY_SECONDS": [0.3] * 40,
        "LOGOUT_SWEEP_SECONDS": 0.2,
        "LOGOUT_TIMEOUT_SECONDS": 5,
    }


@pytest.fixture
def browser(base_url, user) -> Iterator[Browser]:
    browser = Browser(base_url)
    yield browser
    browser.http.close()


def application(name: str, receiver: Receiver, **kwargs):
    client_id = f"{name}-{secrets.token_hex(4)}"
    client = make_client(client_id=client_id, backchannel_logout_uri=receiver.uri(client_id), **kwargs)
    client.name = name.title()
    client.save(update_fields=["name"])
    return client


def sign_in_through(browser: Browser, client, server, scope: str = "openid profile") -> dict:
    auth = AuthorizationRequest(client, server, scope=scope)
    try:
        return auth.exchange(browser.authorize(auth.url))
    finally:
        auth.session.close()


def id_token_claims(tokens: dict, client, server) -> dict:
    jwks = server.endpoint_url("keys")
    return verify_jwt(tokens["id_token"], jwks_url=jwks, issuer=server.issuer, audience=client.client_id)


def wait_for(condition: Callable[[], Any], *, seconds: float, what: str) -> Any:
    deadline = time.monotonic() + seconds
    while not (result := condition()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)
    return result


def logout_url(server, **params: str) -> str:
    return f"{server.endpoint_url('logout')}?{urlencode(params)}"


def test_signing_out_reaches_every_application_of_the_session_at_once(browser, default_server, receiver, user):
    mail = application(
        "mail",
        receiver,
        backchannel_logout_session_required=True,
        post_logout_redirect_uris=(SIGNED_OUT,),
        frontchannel_logout_uri=FRONT_CHANNEL,
        frontchannel_logout_session_required=True,
    )
    calendar = application("calendar", receiver)
    mail_tokens = sign_in_through(browser, mail, default_server)
    mail_id = id_token_claims(mail_tokens, mail, default_server)
    calendar_id = id_token_claims(sign_in_through(browser, calendar, default_server), calendar, default_server)
    sid = str(BrowserSession.objects.get(user=user).sid)
    assert mail_id["sid"] == calendar_id["sid"] == sid, "one IdP session, one sid in every application's ID token"

    started = time.time()
    page = browser.get(
        logout_url(
            default_server, id_token_hint=mail_tokens["id_token"], post_logout_redirect_uri=SIGNED_OUT, state="s1"
        )
    )

    # Front-Channel §3: the signed-out page loads Mail's logout URI (with iss and sid), then continues to Mail.
    assert page.status_code == 200, page.text[:300]
    assert "You are signed out" in page.text
    frame = html.unescape(page.text.split(IFRAME)[0].rsplit('<iframe src="', 1)[1].split('"', 1)[0])
    assert frame.startswith(f"{FRONT_CHANNEL}?")
    assert parse_qs(urlsplit(frame).query) == {"iss": [default_server.issuer], "sid": [sid]}
    assert page.text.count(IFRAME) == 1, "Calendar registered no front-channel URI"
    assert f'id="continue" href="{SIGNED_OUT}?state=s1"' in page.text

    # Back-Channel §2.5: one verified logout token per application, sent as soon as the session ended (the
    # first attempt, asserted below; not a retry). Typically ~0.1 s here; the bound is generous because a
    # timed test on a loaded CI machine would measure the machine, not us.
    received = wait_for(
        lambda: len(entries := receiver.received(mail.client_id, calendar.client_id)) >= 2 and entries,
        seconds=10.0,
        what="two logout tokens",
    )
    assert all("claims" in entry for entry in received), received
    print(f"logout tokens received {max(entry['at'] for entry in received) - started:.3f} s after sign-out")
    by_client = {entry["client_id"]: entry["claims"] for entry in received}
    assert set(by_client) == {mail.client_id, calendar.client_id}
    for client, id_claims in ((mail, mail_id), (calendar, calendar_id)):
        claims = by_client[client.client_id]
        assert claims["sid"] == sid and claims["sub"] == id_claims["sub"]
        assert claims["aud"] == client.client_id and claims["iss"] == default_server.issuer
    assert by_client[mail.client_id]["jti"] != by_client[calendar.client_id]["jti"]

    time.sleep(0.3)  # nothing more arrives: exactly one each
    assert len(receiver.received(mail.client_id, calendar.client_id)) == 2
    assert [(d.status, d.attempts) for d in LogoutDelivery.objects.all()] == [("delivered", 1)] * 2


def test_a_logout_waits_while_the_application_is_down_and_is_delivered_when_it_is_back(
    browser, default_server, receiver, user
):
    mail = application("mail", receiver)
    tokens = sign_in_through(browser, mail, default_server, scope="openid offline_access")
    sid = str(BrowserSession.objects.get(user=user).sid)
    # A refresh's ID token keeps the sid of the session that started the grant.
    refreshed = requests.post(
        default_server.endpoint_url("token"),
        data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
        auth=(mail.client_id, mail.secret),
        timeout=10,
    )
    assert refreshed.status_code == 200, refreshed.text
    assert id_token_claims(refreshed.json(), mail, default_server)["sid"] == sid
    receiver.stop()

    signed_out = browser.post_form(f"{browser.base_url}/logout/", browser.get(f"{browser.base_url}/account/"), {})
    assert signed_out.status_code == 200 and "You are signed out" in signed_out.text

    failing = wait_for(
        lambda: LogoutDelivery.objects.filter(application=mail, attempts__gte=2).first(),
        seconds=5,
        what="two failed attempts",
    )
    assert failing.status == "retrying" and failing.delivered_at is None
    assert "ConnectionError" in failing.last_error

    receiver.start()
    delivered = wait_for(
        lambda: LogoutDelivery.objects.filter(application=mail, delivered_at__isnull=False).first(),
        seconds=5,
        what="the delivery after the receiver came back",
    )
    assert delivered.status == "delivered" and delivered.attempts > failing.attempts
    assert "ConnectionError" in delivered.last_error, "the admin still shows why earlier attempts failed"
    [entry] = receiver.received(mail.client_id)
    assert entry["claims"]["sid"] == sid


# -- front-channel logout in a real browser ---------------------------------------------------------


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """Debian's chromium (Playwright), as in tests/admin; last in this module (it allows sync ORM calls)."""
    if why := browser_missing():
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail(f"REQUIRE_BROWSER=1 but {why}", pytrace=False)
        pytest.skip(why)
    from playwright.sync_api import sync_playwright

    with pytest.MonkeyPatch.context() as patch, sync_playwright() as playwright:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # the test's ORM calls run beside Playwright's loop
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def test_chromium_loads_the_front_channel_logout_uri_then_returns_to_the_application(
    chromium, base_url, default_server, receiver, user
):
    calendar = application("calendar", receiver, redirect_uris=(f"{receiver.url}/cb",), skip_consent=True)
    calendar.frontchannel_logout_uri = f"{receiver.url}/fcl/{calendar.client_id}"
    calendar.frontchannel_logout_session_required = True
    calendar.post_logout_redirect_uris = f"{receiver.url}/ready"
    calendar.save()
    auth = AuthorizationRequest(calendar, default_server, scope="openid", redirect_uri=f"{receiver.url}/cb")
    context = chromium.new_context()
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        page.goto(auth.url)
        page.fill("#id_username", "alice")
        page.fill("#id_password", PASSWORD)
        page.click("button[type=submit]:has-text('Sign in')")
        page.wait_for_url(f"{receiver.url}/cb?**")
        sid = str(BrowserSession.objects.get(user=user).sid)

        page.goto(
            logout_url(default_server, client_id=calendar.client_id, post_logout_redirect_uri=f"{receiver.url}/ready")
        )
        page.click("button:has-text('Sign out')")
        page.wait_for_url(f"{receiver.url}/ready", timeout=10_000)  # after the iframe loaded
    finally:
        context.close()
        auth.session.close()
    assert receiver.frontchannel_loads(calendar.client_id) == [{"iss": default_server.issuer, "sid": sid}]
