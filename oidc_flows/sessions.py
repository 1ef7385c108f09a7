"""The IdP's browser session: when the user signed in (``auth_time``) and whether that is recent enough.

OIDC Core §3.1.2.1 ``max_age`` and ``prompt=login`` are decided here, for /authorize.
"""

from __future__ import annotations

import time

from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.http import HttpRequest


AUTH_TIME_KEY = "oidc_flows.auth_time"


@receiver(user_logged_in)
def _remember_auth_time(sender, request: HttpRequest | None, user, **kwargs) -> None:
    if request is not None and hasattr(request, "session"):
        request.session[AUTH_TIME_KEY] = int(time.time())


def auth_time(request: HttpRequest) -> int | None:
    """When the user of this session last entered their credentials (epoch seconds)."""
    if not request.user.is_authenticated:
        return None
    return request.session.get(AUTH_TIME_KEY)


def max_age(request: HttpRequest) -> int | None:
    """The request's ``max_age`` parameter, or ``None`` when absent or not a non-negative integer."""
    raw = request.GET.get("max_age", "")
    return int(raw) if raw.isdigit() else None


def is_fresh(request: HttpRequest) -> bool:
    """Whether the user is signed in recently enough for this request's ``max_age``."""
    signed_in_at = auth_time(request)
    if signed_in_at is None:
        return False
    limit = max_age(request)
    return limit is None or time.time() - signed_in_at <= limit
