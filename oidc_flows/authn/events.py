"""The sign-in log: every sign-in, factor change, lockout, unlock and recovery, with who, when, where, outcome.

Event names follow Okta's System Log. A record never holds a password, code, token or secret: the
callers pass names and outcomes only, and ``detail`` is for ids and counts.
"""

from __future__ import annotations

import logging
from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.http import HttpRequest

from .models import AuthEvent, Outcome


log = logging.getLogger("oidc_flows.authn")

PRIMARY = "user.authentication.auth_via_primary"
MFA = "user.authentication.auth_via_mfa"
PASSKEY = "user.authentication.auth_via_passkey"
SESSION_START = "user.session.start"
SESSION_TOKEN_REDEEMED = "user.session.token_redeemed"
FACTOR_ENROLL = "user.mfa.factor.activate"
FACTOR_REMOVE = "user.mfa.factor.deactivate"
FACTOR_RESET = "user.mfa.factor.reset_all"
RECOVERY_CODES = "user.mfa.recovery_codes.regenerate"
LOCK = "user.account.lock"
UNLOCK = "user.account.unlock"
UNLOCK_REQUEST = "user.account.unlock_request"
RESET_REQUEST = "user.account.reset_password_request"
PASSWORD_RESET = "user.account.reset_password"
PASSWORD_CHANGE = "user.account.update_password"
POLICY_DENY = "policy.evaluate_sign_on"
RATE_LIMIT = "system.rate_limit.violation"


def client_ip(request: HttpRequest | None) -> str | None:
    """The caller's address as the server saw it (behind a proxy: what the proxy set REMOTE_ADDR to)."""
    return request.META.get("REMOTE_ADDR") or None if request is not None else None


def record(
    event_type: str,
    outcome: str = Outcome.SUCCESS,
    *,
    request: HttpRequest | None = None,
    user: AbstractBaseUser | None = None,
    username: str = "",
    reason: str = "",
    factor_type: str = "",
    **detail: Any,
) -> AuthEvent:
    """Write one event (and one log line with the same facts)."""
    agent = request.META.get("HTTP_USER_AGENT", "") if request is not None else ""
    event = AuthEvent.objects.create(
        event_type=event_type,
        outcome=outcome,
        reason=reason[:255],
        user=user if user is not None and user.pk else None,
        username=(username or (user.get_username() if user is not None else ""))[:150],
        client_ip=client_ip(request),
        user_agent="".join(c for c in agent[:255] if c.isprintable()),
        factor_type=factor_type,
        detail=detail,
    )
    log.info(
        "authn event",
        extra={"event": event_type, "outcome": outcome, "reason": reason, "username": event.username},
    )
    return event
