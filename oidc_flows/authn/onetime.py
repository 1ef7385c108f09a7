"""Random one-time values and how they are stored: an HMAC keyed from SECRET_KEY, never the value."""

from __future__ import annotations

import hashlib
import hmac
import secrets as random
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from .models import OneTimeToken, TokenPurpose


def new_token(nbytes: int = 32) -> str:
    """A URL-safe random value with ``nbytes`` of entropy (256 bits by default)."""
    return random.token_urlsafe(nbytes)


def digest(value: str, *, purpose: str) -> str:
    """HMAC-SHA256 of ``value`` under SECRET_KEY and ``purpose``: a stolen table of these signs nobody in."""
    key = hashlib.sha256(f"oidc_flows.authn.{purpose}:{settings.SECRET_KEY}".encode()).digest()
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()


def issue(purpose: TokenPurpose, user, *, seconds: int, data: dict | None = None) -> str:
    """Store a new one-time token for ``user``; return its value (the only time it exists in clear)."""
    value = new_token()
    OneTimeToken.objects.create(
        purpose=purpose,
        token_hash=digest(value, purpose=purpose),
        user=user,
        expires=timezone.now() + timedelta(seconds=seconds),
        data=data or {},
    )
    return value


def redeem(purpose: TokenPurpose, value: str) -> OneTimeToken | None:
    """Spend a one-time token: of two concurrent redemptions exactly one gets it; expired or used: None."""
    if not isinstance(value, str) or not 20 <= len(value) <= 128:
        return None
    now = timezone.now()
    with transaction.atomic():
        token = (
            OneTimeToken.objects.select_related("user")
            .filter(purpose=purpose, token_hash=digest(value, purpose=purpose))
            .first()
        )
        if token is None or token.used is not None or token.expires <= now:
            return None
        claimed = OneTimeToken.objects.filter(pk=token.pk, used__isnull=True).update(used=now)
    return token if claimed else None
