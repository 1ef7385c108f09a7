"""Logout that reaches every application: OIDC Back-Channel Logout 1.0 and Front-Channel Logout 1.0.

When an IdP session ends (RP-initiated logout, the hosted sign-out, ``/account``, an administrator,
a password change, another user signing in in the same browser), every application that signed in
through it (``SessionApplication`` rows) is told:

- **Back-channel** (Back-Channel §2.5): ``session_ended`` writes one ``LogoutDelivery`` row per
  application with a ``backchannel_logout_uri``, in the transaction that ends the session. After the
  commit, this process's delivery worker (a thread) POSTs ``logout_token=<JWT>`` to the URI; the user's
  request never waits for an application. The token is signed when it is sent (a retried one is fresh).
  2xx is delivered; anything else (3xx, 4xx, 5xx, timeout, refused) is retried after
  ``LOGOUT_RETRY_SECONDS``, then marked failed. Rows survive restarts: every server process's worker
  (started by the WSGI module, ``start_worker``) and ``manage.py oidc_deliver_logouts [--loop]`` pick up
  due rows. A row is claimed with a conditional UPDATE, so of several nodes exactly one sends an attempt.
- **Front-channel** (Front-Channel §3): the signed-out page renders an invisible iframe per application
  with a ``frontchannel_logout_uri`` (with ``iss`` and ``sid`` when it asks for them), then continues to
  the application's ``post_logout_redirect_uri`` when there is one.

Sessions that expire (``oidc_clear_expired`` deleting the records of timed-out sessions) send nothing:
the applications' own sessions expire too, and the specifications leave it to the OP.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final
from urllib.parse import urlencode

import requests
from django.contrib.auth.base_user import AbstractBaseUser
from django.db import DatabaseError, close_old_connections, connections, transaction
from django.db.models import F, QuerySet
from django.http import HttpRequest
from django.utils import timezone

from . import subjects, tokens
from .models import Application, AuthorizationServer, BrowserSession, LogoutDelivery, SessionApplication
from .settings import flows_settings


logger = logging.getLogger(__name__)

#: Back-Channel §2.4: the event member of a logout token's ``events`` claim.
EVENT: Final = "http://schemas.openid.net/event/backchannel-logout"
#: Back-Channel §2.4: logout tokens are explicitly typed, so that no other JWT passes for one.
TOKEN_TYPE: Final = "logout+jwt"
#: Lifetime of a logout token (Back-Channel §2.4 recommends a short one): it is signed when sent.
TOKEN_SECONDS: Final = 120
#: Rows one sweep claims, and how many it sends at once.
BATCH: Final = 20
PARALLEL: Final = 4
#: The request attribute where the sign-out leaves the front-channel iframes of the ended session.
REQUEST_ATTR: Final = "oidc_flows_frontchannel_logouts"


def subject(user: AbstractBaseUser, application: Application) -> str:
    """The ``sub`` of ``user`` as ``application`` knows it (public or pairwise), for its logout tokens."""
    return subjects.subject_for(user, application)


# -- when a session ends ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FrontChannelLogout:
    """An iframe of the signed-out page (Front-Channel §3)."""

    application_name: str
    url: str


def frontchannel_url(application: Application, server: AuthorizationServer, sid: str) -> str:
    """Front-Channel §2, §3: the RP's URI, with ``iss`` and ``sid`` appended when it requires them."""
    uri = application.frontchannel_logout_uri
    if not application.frontchannel_logout_session_required:
        return uri
    return f"{uri}{'&' if '?' in uri else '?'}{urlencode({'iss': server.issuer, 'sid': sid})}"


def session_ended(records: Iterable[BrowserSession]) -> list[FrontChannelLogout]:
    """Owe a logout to every application these sessions signed in to; return the front-channel iframes.

    Call it inside the transaction that ends the sessions, before their records go (the rows that
    name the applications are deleted with them). The worker starts sending after the commit.
    """
    ids = [record.pk for record in records if record.pk is not None]
    if not ids:
        return []
    rows = SessionApplication.objects.filter(session__in=ids).select_related("application", "server", "session__user")
    now = timezone.now()
    owed: list[LogoutDelivery] = []
    frames: dict[str, FrontChannelLogout] = {}
    for row in rows:
        app, sid = row.application, str(row.session.sid)
        if app.backchannel_logout_uri:
            sub = subject(row.session.user, app)
            owed.append(LogoutDelivery(application=app, server=row.server, sid=sid, sub=sub, next_attempt=now))
        if app.frontchannel_logout_uri:
            url = frontchannel_url(app, row.server, sid)
            frames.setdefault(url, FrontChannelLogout(app.name, url))
    if owed:
        LogoutDelivery.objects.bulk_create(owed)
        transaction.on_commit(wake)
    return list(frames.values())


def note_frontchannel(request: HttpRequest, frames: list[FrontChannelLogout]) -> None:
    """Keep the iframes on the request: the session that named them is gone when the page renders."""
    setattr(request, REQUEST_ATTR, [*getattr(request, REQUEST_ATTR, []), *frames])


def frontchannel_of(request: HttpRequest) -> list[FrontChannelLogout]:
    """The iframes the signed-out page renders for the session this request ended."""
    return list(getattr(request, REQUEST_ATTR, []))


# -- sending ----------------------------------------------------------------------------------------


def logout_token(delivery: LogoutDelivery) -> str:
    """Back-Channel §2.4: iss, aud, iat, exp, jti, events, sub and sid; never a nonce. Signed now."""
    now = int(time.time())
    payload: dict[str, Any] = {
        "iss": delivery.server.issuer,
        "sub": delivery.sub,
        "aud": delivery.application.client_id,
        "iat": now,
        "exp": now + TOKEN_SECONDS,
        "jti": tokens.new_jti(),
        "events": {EVENT: {}},
        # Always, whether or not backchannel_logout_session_required: the ID tokens carried it too.
        "sid": delivery.sid,
    }
    return tokens.sign(delivery.server, payload, typ=TOKEN_TYPE)


def _describe(response: requests.Response) -> str:
    body = "".join(c for c in response.text[:160] if c.isprintable())  # §2.8: maybe an error and its description
    return f"HTTP {response.status_code}" + (f": {body}" if body else "")


def post(delivery: LogoutDelivery) -> str | None:
    """One attempt (Back-Channel §2.5); ``None`` when the application answered 2xx, else what went wrong."""
    uri = delivery.application.backchannel_logout_uri
    if not uri:
        return "The application has no back-channel logout URI any more."
    timeout = flows_settings().LOGOUT_TIMEOUT_SECONDS
    try:
        response = requests.post(
            uri,
            data={"logout_token": logout_token(delivery)},
            timeout=(timeout, timeout),
            allow_redirects=False,  # the token goes to the registered URI only
            headers={"Accept": "application/json"},
        )
    except requests.RequestException as exc:
        return f"{type(exc).__name__}: {exc}"[:300]
    except Exception as exc:  # e.g. no signing key: recorded and retried, never lost
        logger.exception("logout token for delivery %s could not be sent", delivery.pk)
        return f"{type(exc).__name__}: {exc}"[:300]
    # §2.8: 200 on success; some frameworks answer 204, so any 2xx. A redirect is not a success.
    return None if 200 <= response.status_code < 300 else _describe(response)[:300]


def _retry_at(attempts: int, now: datetime) -> datetime | None:
    schedule = flows_settings().LOGOUT_RETRY_SECONDS
    return now + timedelta(seconds=schedule[attempts - 1]) if attempts <= len(schedule) else None


def _claim_seconds() -> float:
    """How long a claimed row is left to its sender: longer than any attempt, so no one else takes it."""
    return 2 * flows_settings().LOGOUT_TIMEOUT_SECONDS + 30


def claim(pk: int, seen: datetime, now: datetime) -> bool:
    """Take row ``pk`` for one attempt, if it is still as it was seen (conditional UPDATE: one node wins)."""
    return bool(
        LogoutDelivery.objects.filter(pk=pk, next_attempt=seen, delivered_at__isnull=True).update(
            next_attempt=now + timedelta(seconds=_claim_seconds()), attempts=F("attempts") + 1
        )
    )


def send(pk: int) -> bool:
    """Make one attempt at a claimed row and record its outcome; return whether it was delivered."""
    delivery = LogoutDelivery.objects.select_related("application", "server").get(pk=pk)
    error = post(delivery)
    now = timezone.now()
    if error is None:
        LogoutDelivery.objects.filter(pk=pk).update(delivered_at=now, next_attempt=None)
        return True
    LogoutDelivery.objects.filter(pk=pk).update(last_error=error, next_attempt=_retry_at(delivery.attempts, now))
    logger.info("logout delivery %s failed (attempt %s): %s", pk, delivery.attempts, error)
    return False


def _send_in_pool(pk: int) -> bool:
    try:
        return send(pk)
    finally:
        connections.close_all()  # a pool thread's connections would outlive it


def deliver_due(limit: int = BATCH) -> tuple[int, int]:
    """Claim due rows (at most ``limit``) and send them, a few at a time; return (attempted, delivered)."""
    now = timezone.now()
    due = LogoutDelivery.objects.filter(delivered_at__isnull=True, next_attempt__lte=now).order_by("next_attempt")
    claimed = [pk for pk, seen in due.values_list("pk", "next_attempt")[:limit] if claim(pk, seen, now)]
    if len(claimed) <= 1:
        return len(claimed), sum(map(send, claimed))
    # A few at a time: one slow application (up to LOGOUT_TIMEOUT_SECONDS) does not hold up the others.
    with ThreadPoolExecutor(max_workers=min(PARALLEL, len(claimed)), thread_name_prefix="logout-send") as pool:
        return len(claimed), sum(pool.map(_send_in_pool, claimed))


def next_due() -> datetime | None:
    """When the earliest unfinished row is due (or its claim ends); ``None``: nothing left to send."""
    pending = LogoutDelivery.objects.filter(delivered_at__isnull=True, next_attempt__isnull=False)
    return pending.order_by("next_attempt").values_list("next_attempt", flat=True).first()


def retry_now(deliveries: QuerySet[LogoutDelivery]) -> int:
    """Make undelivered rows due at once (failed ones get one more attempt); return how many."""
    count = deliveries.filter(delivered_at__isnull=True).update(next_attempt=timezone.now())
    if count:
        transaction.on_commit(wake)
    return count


# -- the delivery worker ----------------------------------------------------------------------------


class _Worker:
    """One thread per process: sends right after a session ends, then sleeps until the next row is due.

    Resident (``start_worker``, server processes): it also looks every ``LOGOUT_SWEEP_SECONDS`` for rows
    that other processes left (a restart, a node that went away). Otherwise it stops when nothing is left.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.event = threading.Event()
        self.thread: threading.Thread | None = None
        self.pid = os.getpid()
        self.resident = False

    def ensure(self, *, resident: bool = False) -> None:
        with self.lock:
            if self.pid != os.getpid():  # forked: the parent's thread does not exist here
                self.thread, self.pid, self.resident = None, os.getpid(), False
            self.resident = self.resident or resident
            if self.thread is None or not self.thread.is_alive():  # never rely on a thread that died
                self.thread = threading.Thread(target=self.run, name="oidc-logout-delivery", daemon=True)
                self.thread.start()
            self.event.set()

    def run(self) -> None:
        while True:
            self.event.clear()
            soonest = None
            try:
                deliver_due()
                soonest = next_due()
            except Exception as exc:  # the database away, say: the rows wait, try again after a sweep interval
                level = logging.WARNING if isinstance(exc, DatabaseError) else logging.ERROR
                logger.log(level, "logout deliveries: sweep failed", exc_info=True)
                soonest = timezone.now() + timedelta(seconds=_sweep_seconds())
            finally:
                try:
                    close_old_connections()
                    connections.close_all()
                except Exception:  # a connection this thread may not close (tests share one): keep running
                    logger.debug("logout deliveries: closing connections failed", exc_info=True)
            sweep = _sweep_seconds()
            if soonest is None and not self.resident:
                with self.lock:
                    if not self.event.is_set():
                        self.thread = None
                        return
                continue
            wait = sweep if soonest is None else (soonest - timezone.now()).total_seconds()
            self.event.wait(min(max(wait, 0.05), sweep))


def _sweep_seconds() -> float:
    try:
        return flows_settings().LOGOUT_SWEEP_SECONDS
    except Exception:  # settings being changed under the thread (tests) must not kill the worker
        return 15.0


_worker = _Worker()


def wake() -> None:
    """Have this process's worker look for due rows now (starting it if needed)."""
    _worker.ensure()


def start_worker() -> None:
    """Keep a delivery worker in this process (the WSGI module calls it): retries survive restarts."""
    _worker.ensure(resident=True)


def run_forever() -> None:
    """``oidc_deliver_logouts --loop``: the worker in the foreground."""
    with _worker.lock:
        _worker.thread, _worker.pid, _worker.resident = threading.current_thread(), os.getpid(), True
    _worker.run()
