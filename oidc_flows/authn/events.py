"""The sign-in events: every sign-in, factor change, lockout, unlock and recovery, in the system log.

Event names follow Okta's System Log. A record never holds a password, code, token or secret: the
callers pass names and outcomes only, and ``detail`` is for ids and counts.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.http import HttpRequest

from .. import systemlog
from .models import AuthEvent, Outcome


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
    return systemlog.client_ip(request)


def record(
    event_type: str,
    outcome: str = Outcome.SUCCESS,
    *,
    request: HttpRequest | None = None,
    user: AbstractBaseUser | None = None,
    username: str = "",
    reason: str = "",
    factor_type: str = "",
    actor: Any = None,
    **detail: Any,
) -> AuthEvent:
    """Write one sign-in event to the system log: the user is its target, and its actor unless ``actor``
    says who else acted (an administrator resetting factors). An unknown username is an actor by name."""
    known = user if user is not None and user.pk else None
    subject = known or (("User", "", username[:150], username[:150]) if username else None)
    return systemlog.record(
        event_type,
        actor=actor if actor is not None else subject,
        target=subject,
        outcome=outcome,
        request=request,
        detail=detail,
        reason=reason,
        user=known,
        username=username,
        factor_type=factor_type,
    )
