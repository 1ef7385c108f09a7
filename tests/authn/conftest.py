"""Fixtures of tests/authn. The hosted pages' tests (``test_pages*.py``) use the ``pages_`` ones."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from django.core import mail

from oidc_flows.authn.factors import totp
from tests.factories import make_client


@pytest.fixture
def pages_web(user):
    """A web application that asks for consent, as in tests/flows."""
    return make_client(app_type="web")


@pytest.fixture
def pages_totp(user) -> tuple[object, str]:
    """alice's active authenticator app and its base32 secret."""
    return totp.enroll_active(user)


@pytest.fixture
def pages_mail(mailoutbox) -> Callable[..., str]:
    """Wait for the next mail to ``to`` (the IdP sends recovery mail from a thread); return its body."""

    def wait(to: str = "alice@example.com", *, after: int = 0, seconds: float = 10) -> str:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            sent = [m for m in mail.outbox[after:] if to in m.to]
            if sent:
                return sent[-1].body
            time.sleep(0.05)
        raise AssertionError(f"no mail to {to} within {seconds} s")

    return wait
