"""Shared by the ``test_api_*`` modules: Okta's Authentication API over HTTP, a real SMTP server, TOTP codes.

Import the fixtures a module uses (``from tests.authn.api_support import smtp_fixture  # noqa: F401``;
they are named ``smtp`` and ``real_rate_limits`` in tests). The cache (rate-limit counters) is emptied around
every test by tests/conftest.py's ``own_cache``.

What the tests expect of the wire is written here by hand from Okta's documentation (error codes and
their statuses, the ISO-8601 instant with milliseconds), not read from ``oidc_flows.authn``.
"""

from __future__ import annotations

import re
import secrets as random
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pyotp
import pytest
import requests
from aiosmtpd.controller import Controller

from oidc_flows.authn.factors import totp
from oidc_flows.authn.models import Factor, FactorStatus
from tests.factories import PASSWORD


API = "/api/v1/authn"
TOTP = "token:software:totp"
WRONG_PASSWORD = "not " + PASSWORD
#: Passes Django's validators (length, similarity, common list, numeric) and differs from PASSWORD.
NEW_PASSWORD = "a brand new passphrase for the tests"
MAIL_SECONDS = 15

#: Okta's error codes and the HTTP status each comes with (developer.okta.com/docs/reference/error-codes).
OKTA_STATUS = {
    "E0000001": 400,
    "E0000003": 400,
    "E0000004": 401,
    "E0000006": 403,
    "E0000007": 404,
    "E0000011": 401,
    "E0000014": 403,
    "E0000022": 405,
    "E0000047": 429,
    "E0000068": 403,
    "E0000079": 403,
    "E0000080": 403,
    "E0000082": 403,
    "E0000113": 400,
}
ERROR_KEYS = {"errorCode", "errorSummary", "errorLink", "errorId", "errorCauses"}
#: Okta writes instants as 2025-01-01T10:15:57.000Z.
ISO_INSTANT = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


# -- HTTP ---------------------------------------------------------------------------------------------------


def post(base_url: str, path: str = "", body: Any = None, *, headers: dict | None = None) -> requests.Response:
    """POST ``body`` as JSON to ``/api/v1/authn<path>`` with Okta's SDK headers."""
    return requests.post(
        f"{base_url}{API}{path}",
        json=body if body is not None else {},
        headers={"Accept": "application/json", **(headers or {})},
        allow_redirects=False,
        timeout=10,
    )


def assert_error(response: requests.Response, code: str) -> dict:
    """``response`` is Okta's error body for ``code`` with that code's status; return the body."""
    assert response.status_code == OKTA_STATUS[code], (response.status_code, response.text[:500])
    assert response.headers["Content-Type"].startswith("application/json")
    body = response.json()
    assert body.keys() == ERROR_KEYS, body
    assert body["errorCode"] == code, body
    assert isinstance(body["errorCauses"], list)
    return body


def assert_ok(response: requests.Response, status: str) -> dict:
    assert response.status_code == 200, (response.status_code, response.text[:500])
    body = response.json()
    assert body["status"] == status, body
    assert "error" not in body  # okta-auth-js treats any 2xx with an "error" key as a failure
    return body


def parse_instant(value: str) -> datetime:
    assert ISO_INSTANT.match(value), value
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def sign_in(base_url: str, username: str = "alice", password: str = PASSWORD, **extra: Any) -> requests.Response:
    return post(base_url, "", {"username": username, "password": password, **extra})


def state_of(base_url: str, state_token: str) -> requests.Response:
    """The current state of a transaction (``/api/v1/authn`` with the stateToken alone)."""
    return post(base_url, "", {"stateToken": state_token})


def link_path(body: dict, *keys: str) -> str:
    """The path below /api/v1/authn of the link at ``keys`` (e.g. "_links", "next"), checked for Okta's hints."""
    link: Any = body
    for key in keys:
        link = link[key]
    assert link["hints"] == {"allow": ["POST"]}, link
    href = link["href"]
    assert API in href, href
    return href.split(API, 1)[1]


# -- TOTP ---------------------------------------------------------------------------------------------------


def give_totp(user) -> tuple[Factor, str]:
    """An ACTIVE authenticator app for ``user``; its base32 secret."""
    return totp.enroll_active(user)


def give_email_factor(user) -> Factor:
    return Factor.objects.create(
        user=user, factor_type="email", provider="OKTA", status=FactorStatus.ACTIVE, profile={"email": user.email}
    )


def steady_clock(margin: float = 4.0) -> float:
    """Now, at least ``margin`` seconds before the next 30 s step: the server computes the same step."""
    now = time.time()
    left = 30 - now % 30
    if left < margin:
        time.sleep(left + 0.1)
        now = time.time()
    return now


def code_for(secret: str, steps: int = 0) -> str:
    """The code ``steps`` time steps away from now (RFC 6238, 30 s, 6 digits, SHA-1)."""
    return pyotp.TOTP(secret).at(steady_clock() + steps * 30)


def wrong_code(secret: str) -> str:
    """A random 6-digit code that no step within three either side of now produces.

    Random, and with no run of three equal digits, so that finding it in a text (an error code such as
    E0000004, say) means it leaked.
    """
    now = steady_clock()
    near = {pyotp.TOTP(secret).at(now + k * 30) for k in range(-3, 4)}
    while True:
        code = f"{random.randbelow(10**6):06d}"
        if code not in near and not re.search(r"(\d)\1\1", code):
            return code


# -- mail ---------------------------------------------------------------------------------------------------


class Mailbox:
    """An aiosmtpd handler that keeps every message; ``take`` hands them out in order, per recipient."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], EmailMessage]] = []
        self.taken: set[int] = set()
        self.arrived = threading.Condition()

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 (aiosmtpd's hook name)
        message = message_from_bytes(envelope.original_content or envelope.content, policy=policy.default)
        with self.arrived:
            self.messages.append(([rcpt.lower() for rcpt in envelope.rcpt_tos], message))
            self.arrived.notify_all()
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[EmailMessage]:
        with self.arrived:
            return [message for recipients, message in self.messages if address.lower() in recipients]

    def take(self, address: str, timeout: float = MAIL_SECONDS) -> EmailMessage:
        """The oldest message to ``address`` not taken yet; waits for it (recovery mail leaves from a thread)."""
        deadline = time.monotonic() + timeout
        with self.arrived:
            while True:
                for index, (recipients, message) in enumerate(self.messages):
                    if index not in self.taken and address.lower() in recipients:
                        self.taken.add(index)
                        return message
                if not self.arrived.wait(max(0.0, deadline - time.monotonic())):
                    pytest.fail(f"no new mail to {address} within {timeout} s ({len(self.messages)} in all)")

    def settle(self, seconds: float = 0.5) -> int:
        """Wait ``seconds`` for stragglers (background sends); return how many messages arrived in all."""
        time.sleep(seconds)
        with self.arrived:
            return len(self.messages)


def text_of(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",)) or message
    return part.get_content()


def mailed_code(message: EmailMessage) -> str:
    """The 6-digit sign-in code of a code mail (the wording is translatable; the code is not)."""
    codes = re.findall(r"(?<!\d)(\d{6})(?!\d)", text_of(message))
    assert len(set(codes)) == 1, text_of(message)
    return codes[0]


RECOVERY_LINK = re.compile(r"(https?://\S+?)/signin/(reset-password|unlock)/([A-Za-z0-9_\-]{20,128})(?=\s|$)")


def mailed_recovery(message: EmailMessage) -> tuple[str, str, str]:
    """(base URL, "reset-password" | "unlock", token) of a recovery mail; the token is also given on its own."""
    text = text_of(message)
    match = RECOVERY_LINK.search(text)
    assert match, text
    base, kind, token = match.groups()
    assert text.count(token) >= 2, "the token should be in the link and on a line of its own"
    return base, kind, token


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(name="smtp")
def smtp_fixture(settings) -> Iterator[Mailbox]:
    """A real SMTP server in this process; the IdP mails through Django's SMTP backend to it."""
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = controller.port
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 5
    try:
        yield mailbox
    finally:
        time.sleep(0.1)  # let a background recovery send finish before the server goes
        controller.stop()


@pytest.fixture(name="real_rate_limits")
def real_rate_limits_fixture(settings) -> None:
    """The rate limits the IdP ships with (tests/conftest.py raises them for every other test)."""
    settings.OIDC_FLOWS = {**settings.OIDC_FLOWS, "AUTHN_RATE_LIMITS": {}}
