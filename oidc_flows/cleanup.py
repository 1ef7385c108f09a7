"""Delete expired codes, tokens and sessions in small batches (``manage.py oidc_clear_expired``).

What goes, in this order, and why it is safe:

1. Refresh tokens dead for longer than ``grace``: revoked, past their family deadline
   (``family_expires``) or unused for longer than their idle window (``created + idle_seconds``).
   Rotated tokens are kept for the grace period so that presenting one again still revokes its
   family (RFC 9700 §4.14.2 reuse detection).
2. Access tokens past ``expires`` that no live refresh token points at: DOT reads the scopes of a
   refresh from its access token (DOT's own ``clear_expired`` keeps them for the same reason).
3. ID tokens past ``expires`` that no access token points at (``AccessToken.id_token`` cascades).
   An expired ID token still works as an ``id_token_hint``: hints are verified by signature, not
   looked up.
4. Authorization codes (``Grant``) past ``expires``: after that a replay is refused as expired, so
   the rows kept after redemption (``redeemed_at``) have done their job, unless a live refresh
   token still points at one (its ``auth_time`` goes into the ID tokens of later refreshes).
5. Django sessions past ``expire_date`` (database engines; other engines expire on their own or
   via their ``clear_expired``), then the ``BrowserSession`` records of sessions that are gone.
6. Sign-in transactions and one-time tokens (session and recovery tokens) past their expiry: a
   spent or expired one is refused the same whether its row is there or not.
7. System log events (sign-ins, administrative changes, security events) older than
   ``OIDC_FLOWS["SYSTEM_LOG_RETENTION_DAYS"]`` (90 days, as Okta's System Log keeps them).
8. Entries of the revocation list of JWT access tokens whose tokens have all expired.
9. Back-channel logout deliveries finished (delivered, or failed after every retry) longer than
   ``grace`` ago: the admin shows them until then.
10. Device authorizations (RFC 8628) past ``expires``: a device_code then answers ``expired_token``
   while its row is there and ``invalid_grant`` once it is gone; either way it issues nothing.

DOT's ``clear_expired`` does not fit as is: it deletes every expired grant, knows refresh token
expiry only from a global setting and re-counts the whole table after every batch. The queries
for access and ID tokens above are its queries. Each DELETE here names at most ``batch_size``
primary keys, runs in its own short transaction and re-applies its condition, so a row that
changed in between stays and no statement holds locks on the token tables for long.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import reduce
from operator import or_

from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from . import sessions
from .models import (
    AccessToken,
    AuthEvent,
    BrowserSession,
    DeviceAuthorization,
    Grant,
    IDToken,
    LogoutDelivery,
    OneTimeToken,
    OneTimeUse,
    PushedAuthorizationRequest,
    RefreshToken,
    Revocation,
    Transaction,
)
from .settings import flows_settings


DEFAULT_BATCH_SIZE = 1000
#: How long dead refresh tokens are kept for reuse detection.
DEFAULT_GRACE = timedelta(days=7)
#: How long system log events are kept by default (OIDC_FLOWS["SYSTEM_LOG_RETENTION_DAYS"] decides).
EVENT_RETENTION = timedelta(days=90)


def event_retention() -> timedelta:
    return timedelta(days=flows_settings().SYSTEM_LOG_RETENTION_DAYS)


@dataclass(frozen=True, slots=True)
class Target:
    label: str
    rows: Callable[[datetime, timedelta], QuerySet | None]  # the rows to delete; None: not a database table


def dead_refresh_tokens(now: datetime, grace: timedelta) -> QuerySet:
    cutoff = now - grace
    dead = Q(revoked__lt=cutoff) | Q(family_expires__lt=cutoff)
    # created + idle_seconds < cutoff, without database-specific interval arithmetic: one term per
    # distinct idle window (access policy rules have a handful).
    windows = RefreshToken.objects.filter(idle_seconds__isnull=False).order_by().values_list("idle_seconds", flat=True)
    idle = [Q(idle_seconds=s, created__lt=cutoff - timedelta(seconds=s)) for s in windows.distinct()]
    return RefreshToken.objects.filter(reduce(or_, idle, dead))


def _live_refresh_tokens() -> QuerySet:
    return RefreshToken.objects.filter(revoked__isnull=True)


def expired_access_tokens(now: datetime, grace: timedelta) -> QuerySet:
    live_refresh = _live_refresh_tokens().filter(access_token=OuterRef("pk"))
    return AccessToken.objects.filter(expires__lt=now).filter(~Exists(live_refresh))


def expired_id_tokens(now: datetime, grace: timedelta) -> QuerySet:
    return IDToken.objects.filter(expires__lt=now).filter(~Exists(AccessToken.objects.filter(id_token=OuterRef("pk"))))


def expired_codes(now: datetime, grace: timedelta) -> QuerySet:
    live_refresh = _live_refresh_tokens().filter(grant=OuterRef("pk"))
    return Grant.objects.filter(expires__lt=now).filter(~Exists(live_refresh))


def expired_sessions(now: datetime, grace: timedelta) -> QuerySet | None:
    model = sessions.session_model()
    return model.objects.filter(expire_date__lt=now) if model else None


def ended_browser_sessions(now: datetime, grace: timedelta) -> QuerySet:
    gone = Q(expires__lt=now)
    if model := sessions.session_model():
        alive = model.objects.filter(session_key=OuterRef("session_key"), expire_date__gte=now)
        gone |= ~Exists(alive)
    return BrowserSession.objects.filter(gone)


def expired_transactions(now: datetime, grace: timedelta) -> QuerySet:
    return Transaction.objects.filter(expires__lt=now)


def expired_one_time_tokens(now: datetime, grace: timedelta) -> QuerySet:
    return OneTimeToken.objects.filter(expires__lt=now)


def old_events(now: datetime, grace: timedelta) -> QuerySet:
    return AuthEvent.objects.filter(created__lt=now - event_retention())


def expired_revocations(now: datetime, grace: timedelta) -> QuerySet:
    return Revocation.objects.filter(expires__lt=now)


def expired_pushed_requests(now: datetime, grace: timedelta) -> QuerySet:
    return PushedAuthorizationRequest.objects.filter(expires__lt=now)


def expired_device_authorizations(now: datetime, grace: timedelta) -> QuerySet:
    return DeviceAuthorization.objects.filter(expires__lt=now)


def expired_one_time_values(now: datetime, grace: timedelta) -> QuerySet:
    return OneTimeUse.objects.filter(expires__lt=now)


def finished_logout_deliveries(now: datetime, grace: timedelta) -> QuerySet:
    cutoff = now - grace
    delivered = Q(delivered_at__lt=cutoff)
    failed = Q(delivered_at__isnull=True, next_attempt__isnull=True, created__lt=cutoff)
    return LogoutDelivery.objects.filter(delivered | failed)


TARGETS = (
    Target("refresh tokens", dead_refresh_tokens),
    Target("access tokens", expired_access_tokens),
    Target("ID tokens", expired_id_tokens),
    Target("authorization codes", expired_codes),
    Target("sessions", expired_sessions),
    Target("browser session records", ended_browser_sessions),
    Target("sign-in transactions", expired_transactions),
    Target("session and recovery tokens", expired_one_time_tokens),
    Target("system log events", old_events),
    Target("revocation list entries", expired_revocations),
    Target("pushed authorization requests", expired_pushed_requests),
    Target("device authorizations", expired_device_authorizations),
    Target("used assertion and proof ids", expired_one_time_values),
    Target("finished logout deliveries", finished_logout_deliveries),
)


def delete_in_batches(rows: QuerySet, batch_size: int, *, pause: float = 0.0) -> int:
    """Delete ``rows`` ``batch_size`` primary keys at a time; return how many went."""
    model = rows.model
    deleted = 0
    while True:
        ids = list(rows.order_by("pk").values_list("pk", flat=True)[:batch_size])
        if not ids:
            return deleted
        with transaction.atomic():
            _, per_model = rows.filter(pk__in=ids).delete()  # the condition again: rows that changed stay
        deleted += per_model.get(model._meta.label, 0)
        if len(ids) < batch_size:
            return deleted
        if pause:
            time.sleep(pause)


def clear_expired(
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    grace: timedelta = DEFAULT_GRACE,
    dry_run: bool = False,
    now: datetime | None = None,
    pause: float = 0.0,
) -> dict[str, int | None]:
    """Delete (or, with ``dry_run``, count) what has expired; return the count per kind of row.

    ``None`` means "not countable": a session engine without a table, whose own ``clear_expired``
    is called instead.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    now = now or timezone.now()
    counts: dict[str, int | None] = {}
    for target in TARGETS:
        rows = target.rows(now, grace)
        if rows is None:
            if not dry_run:
                sessions.session_store().clear_expired()
            counts[target.label] = None
        elif dry_run:
            counts[target.label] = rows.count()
        else:
            counts[target.label] = delete_in_batches(rows, batch_size, pause=pause)
    return counts
