"""From a successful sign-in to the IdP's browser session: redeeming a ``sessionToken``, and what the session proved.

The Django session *is* the IdP session (``oidc_flows.sessions``). Redeeming a sessionToken signs
the browser in with the transaction's ``amr``, ``auth_time`` and the sign-on rule's lifetimes:
the idle timeout is the session's expiry (refreshed by every request Django saves the session on),
the lifetime an absolute deadline that ``expired()`` enforces.
"""

from __future__ import annotations

import time
from typing import Any

from django.contrib.auth import login, logout
from django.contrib.auth.base_user import AbstractBaseUser
from django.http import HttpRequest

from .. import sessions
from . import events, onetime
from .models import TokenPurpose


AMR_KEY = "oidc_flows.amr"
VERIFIED_KEY = "oidc_flows.verified_factors"
DEADLINE_KEY = "oidc_flows.session_deadline"
BACKEND = "oidc_flows.lockout.LockoutBackend"


def redeem_session_token(request: HttpRequest, raw: Any) -> AbstractBaseUser | None:
    """Spend ``raw`` and sign this browser in as its user; None when it is unknown, spent or expired."""
    token = onetime.redeem(TokenPurpose.SESSION, raw) if isinstance(raw, str) else None
    if token is None:
        return None
    return sign_in(request, token.user, token.data)


def sign_in(request: HttpRequest, user: AbstractBaseUser, data: dict[str, Any]) -> AbstractBaseUser | None:
    """Sign this browser in as ``user`` with what a successful sign-in proved (a sessionToken's data)."""
    if not user.is_active:
        return None
    if request.user.is_authenticated and request.user.pk != user.pk:
        logout(request)  # another user's session must not carry over
    login(request, user, backend=BACKEND)
    session = request.session
    session[sessions.AUTH_TIME_KEY] = int(data.get("auth_time") or time.time())
    session[AMR_KEY] = list(data.get("amr") or ["pwd"])
    session[VERIFIED_KEY] = list(data.get("verified") or [])
    lifetime, idle = int(data.get("lifetime") or 0), int(data.get("idle") or 0)
    if idle:
        session.set_expiry(idle)
    session[DEADLINE_KEY] = int(time.time()) + lifetime if lifetime else None
    events.record(events.SESSION_START, request=request, user=user, amr=session[AMR_KEY])
    return user


def amr(request: HttpRequest) -> list[str]:
    """What the current session's sign-in proved (RFC 8176); sessions from before MFA existed: a password."""
    if not request.user.is_authenticated:
        return []
    return list(request.session.get(AMR_KEY) or ["pwd"])


def verified_factors(request: HttpRequest) -> list[str]:
    """Factor types the session's sign-in verified (a sign-on rule may accept only some)."""
    return list(request.session.get(VERIFIED_KEY) or []) if request.user.is_authenticated else []


def expired(request: HttpRequest) -> bool:
    """Whether the session outlived the lifetime its sign-on rule gave it."""
    deadline = request.session.get(DEADLINE_KEY) if request.user.is_authenticated else None
    return bool(deadline) and time.time() > deadline


def end_if_expired(request: HttpRequest) -> None:
    if expired(request):
        logout(request)
