"""The IdP's browser session: when the user signed in, which applications it served, and hints about it.

Django's session (one per browser, shared by every server and application) *is* the IdP session:
signing in once is single sign-on everywhere, and signing out ends it everywhere. This module:

- stores ``auth_time`` on sign-in and decides ``max_age`` / ``prompt=login`` (OIDC Core §3.1.2.1);
- keeps a ``BrowserSession`` record per signed-in browser, with the applications it signed in to,
  so that the user can list and end their sessions (``/account/``);
- verifies ``id_token_hint`` values (OIDC Core §3.1.2.1, RP-Initiated Logout 1.0 §2): an ID token
  signed by one of *this* server's published keys (active, next or still-published retired ones),
  with this server's ``iss``. Expired tokens are fine: a hint names a user, it grants nothing.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from importlib import import_module

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.signals import user_logged_in, user_logged_out
from django.contrib.sessions.backends.base import SessionBase
from django.db import transaction
from django.db.models import Model
from django.dispatch import receiver
from django.http import HttpRequest
from django.utils import timezone
from jwcrypto import jwk, jwt
from jwcrypto.common import JWException

from . import applogout, keys, subjects
from .models import Application, AuthorizationServer, BrowserSession, KeyAlg, SessionApplication


AUTH_TIME_KEY = "oidc_flows.auth_time"
#: Set when /authorize sent the user to sign in because of an ``id_token_hint`` naming someone else.
HINT_SIGN_IN_KEY = "oidc_flows.hint_sign_in"
#: The pk of this session's BrowserSession record: /authorize refreshes it without looking it up.
RECORD_KEY = "oidc_flows.browser_session"
#: ``[pk, sid]`` of that record: the ``sid`` claim of the ID tokens issued in this session.
SID_KEY = "oidc_flows.sid"
#: Authorization requests this browser is signing in or consenting to, resolved from a pushed request
#: or a request object (oidc_flows.requestparams): /authorize finds them here when the browser returns.
CONTINUATIONS_KEY = "oidc_flows.authorize_continuations"
#: Session keys the sign-in page keeps when signing in flushes the session (another user signs in).
SURVIVES_SIGN_IN = (HINT_SIGN_IN_KEY, CONTINUATIONS_KEY)
#: Our ID tokens are about 1 kB; anything far larger is not one of them (and is not worth parsing).
MAX_HINT_CHARS = 16_384
#: JWS algorithms our keys use (models.keys.KeyAlg); never "none", never HMAC.
HINT_ALGS = list(KeyAlg.values)


# -- sign-in and sign-out ---------------------------------------------------------------------------


@receiver(user_logged_in)
def _remember_auth_time(sender, request: HttpRequest | None, user, **kwargs) -> None:
    if request is not None and hasattr(request, "session"):
        request.session[AUTH_TIME_KEY] = int(time.time())
        note_sign_in(request.session)
        record_sign_in(request, user)


@receiver(user_logged_out)
def _forget_browser_session(sender, request: HttpRequest | None, user, **kwargs) -> None:
    # Sent before Django flushes the session, so the key still names the record.
    if request is not None and hasattr(request, "session") and request.session.session_key:
        with transaction.atomic():
            records = list(BrowserSession.objects.filter(session_key=request.session.session_key))
            # Back-channel logouts are owed in this transaction; the signed-out page renders the front-channel ones.
            applogout.note_frontchannel(request, applogout.session_ended(records))
            BrowserSession.objects.filter(pk__in=[r.pk for r in records]).delete()


def auth_time(request: HttpRequest) -> int | None:
    """When the user of this session last entered their credentials (epoch seconds)."""
    if not request.user.is_authenticated:
        return None
    return request.session.get(AUTH_TIME_KEY)


def max_age(request: HttpRequest) -> int | None:
    """The request's ``max_age`` parameter, or ``None`` when absent or not a non-negative integer."""
    raw = request.GET.get("max_age", "")
    return int(raw) if raw.isdigit() and len(raw) <= 12 else None


def is_fresh(request: HttpRequest) -> bool:
    """Whether the user is signed in recently enough for this request's ``max_age``."""
    signed_in_at = auth_time(request)
    if signed_in_at is None:
        return False
    limit = max_age(request)
    return limit is None or time.time() - signed_in_at <= limit


# -- browser session records ------------------------------------------------------------------------


def _user_agent(request: HttpRequest) -> str:
    # Printable characters only: a NUL byte cannot even be stored in PostgreSQL text.
    raw = request.META.get("HTTP_USER_AGENT", "")[:255]
    return "".join(c for c in raw if c.isprintable())


def record_sign_in(request: HttpRequest, user: AbstractBaseUser) -> BrowserSession | None:
    """Create (or refresh) the record of this browser's session for ``user``.

    One statement, INSERT ... ON CONFLICT (session_key) DO UPDATE: signing in again in the same session
    refreshes the record and keeps its ``sid`` and ``created``.
    """
    key = request.session.session_key
    if not key:
        return None
    previous = request.session.get(RECORD_KEY)
    record = BrowserSession(
        session_key=key,
        user=user,
        user_agent=_user_agent(request),
        last_seen=timezone.now(),
        expires=request.session.get_expiry_date(),
    )
    BrowserSession.objects.bulk_create(
        [record],
        update_conflicts=True,
        unique_fields=["session_key"],
        update_fields=["user", "user_agent", "last_seen", "expires"],
    )
    if record.pk is not None:  # returned by PostgreSQL and SQLite (not MySQL): the existing row's on a conflict
        request.session[RECORD_KEY] = record.pk
        if record.pk != previous:
            # A new row, so the sid generated here is its own: /authorize needs no read (current_sid). The
            # same row again keeps its sid, which the session holds already (or current_sid reads once).
            request.session[SID_KEY] = [record.pk, str(record.sid)]
    return record


def forget_replaced_session(previous_key: str | None, request: HttpRequest) -> None:
    """Drop the record of a session that signing in replaced (Django flushes it for another user)."""
    if previous_key and previous_key != request.session.session_key:
        with transaction.atomic():
            records = list(BrowserSession.objects.filter(session_key=previous_key))
            applogout.session_ended(records)  # the previous user's applications are told
            BrowserSession.objects.filter(pk__in=[r.pk for r in records]).delete()


def current_sid(request: HttpRequest) -> str | None:
    """The ``sid`` of this browser's IdP session, for the ID tokens issued in it (Front-Channel §3).

    Kept in the session next to the record's pk, so that /authorize reads it once per session.
    """
    pk, cached = request.session.get(RECORD_KEY), request.session.get(SID_KEY)
    if pk is not None and isinstance(cached, list) and len(cached) == 2 and cached[0] == pk:
        return cached[1]
    record = current_record(request)
    if record is None or record.pk is None:
        return None
    request.session[RECORD_KEY] = record.pk
    request.session[SID_KEY] = [record.pk, str(record.sid)]
    return str(record.sid)


def current_record(request: HttpRequest) -> BrowserSession | None:
    """This browser's session record; created if the user signed in before records existed."""
    if not request.user.is_authenticated or not request.session.session_key:
        return None
    record = BrowserSession.objects.filter(session_key=request.session.session_key).first()
    return record or record_sign_in(request, request.user)


def record_authorization(request: HttpRequest, client: Application, server: AuthorizationServer) -> None:
    """Note that this session signed ``client`` in through ``server`` (single sign-on bookkeeping).

    Two statements: refresh the session's record by the pk the session holds (and its key, so a stale pk
    names nothing), then an upsert of the (record, client, server) row.
    """
    key = request.session.session_key
    if not request.user.is_authenticated or not key:
        return
    now, expires = timezone.now(), request.session.get_expiry_date()
    pk = request.session.get(RECORD_KEY)
    if not (
        isinstance(pk, int)
        and BrowserSession.objects.filter(pk=pk, session_key=key).update(last_seen=now, expires=expires)
    ):
        record = current_record(request)  # signed in before records kept their pk in the session
        if record is None or record.pk is None:
            return
        pk = request.session[RECORD_KEY] = record.pk
        BrowserSession.objects.filter(pk=pk).update(last_seen=now, expires=expires)
    SessionApplication.objects.bulk_create(
        [SessionApplication(session_id=pk, application=client, server=server, last_seen=now)],
        update_conflicts=True,
        unique_fields=["session", "application", "server"],
        update_fields=["last_seen"],
    )


def session_store() -> type[SessionBase]:
    return import_module(settings.SESSION_ENGINE).SessionStore


def session_model() -> type[Model] | None:
    """The model behind a database-backed session engine; ``None`` for cache, file or cookie sessions."""
    store = session_store()
    return store.get_model_class() if hasattr(store, "get_model_class") else None


def live_sessions(user: AbstractBaseUser) -> list[BrowserSession]:
    """The user's signed-in browsers, most recently used first; records of vanished sessions are skipped."""
    records = list(
        BrowserSession.objects.filter(user=user, expires__gt=timezone.now()).prefetch_related(
            "applications__application", "applications__server"
        )
    )
    if settings.SESSION_ENGINE.endswith("signed_cookies"):
        return records  # nothing on the server to check against
    store = session_store()
    return [record for record in records if store().exists(record.session_key)]


def end_session(record: BrowserSession) -> None:
    """Sign the browser of ``record`` out: delete its Django session (the IdP session) and the record.

    With signed-cookie sessions there is nothing on the server to delete; use a database or cache engine.
    """
    with transaction.atomic():
        applogout.session_ended([record])  # back-channel logouts, owed in the same transaction
        session_store()().delete(record.session_key)
        record.delete()


# -- id_token_hint ----------------------------------------------------------------------------------


class InvalidHint(ValueError):
    """The value is not an ID token of this server; the message says why, for error descriptions."""


@dataclass(frozen=True, slots=True)
class IdTokenHint:
    """A verified ``id_token_hint``: whom it names and for which client it was issued."""

    subject: str
    audiences: frozenset[str]
    authorized_party: str | None
    fingerprint: str

    def names(self, user: AbstractBaseUser) -> bool:
        """Whether the hint is about ``user``: its ``sub`` is the one the token's client sees (pairwise or public)."""
        if not user.is_authenticated:
            return False
        from .validators import _application  # the validator imports this module

        client_id = self.client_id
        return self.subject == subjects.subject_for(user, _application(client_id) if client_id else None)

    @property
    def client_id(self) -> str | None:
        """The client the ID token was issued to (OIDC Core §2: ``aud``, or ``azp`` with several)."""
        if len(self.audiences) == 1:
            return next(iter(self.audiences))
        return self.authorized_party if self.authorized_party in self.audiences else None


def verify_id_token_hint(server: AuthorizationServer, raw: str) -> IdTokenHint:
    """Verify that ``raw`` is an ID token that ``server`` signed; raise ``InvalidHint`` otherwise.

    OIDC Core §3.1.2.1 and RP-Initiated Logout §2: the OP verifies it issued the token; ``exp`` is
    not checked (an expired ID token is still a good hint). Another server's token fails twice: its
    key is not in this server's set and its ``iss`` differs. RFC 9068 access tokens, signed with the
    same keys, are refused by their ``typ`` (``at+jwt``).
    """
    if not raw or len(raw) > MAX_HINT_CHARS or raw.count(".") != 2:
        raise InvalidHint("id_token_hint is not a signed JWT.")
    key_set = jwk.JWKSet()
    for key in keys.published(server):
        key_set.add(key.public_key())
    try:
        token = jwt.JWT(
            jwt=raw,
            key=key_set,
            algs=HINT_ALGS,
            expected_type="JWS",
            check_claims={"iss": server.issuer, "sub": None, "aud": None},
        )
        header = json.loads(token.header)
        payload = json.loads(token.claims)
    except (JWException, ValueError, TypeError, KeyError) as exc:  # malformed, unknown key, bad signature, iss
        raise InvalidHint("id_token_hint is not an ID token issued by this authorization server.") from exc
    if not isinstance(header, dict) or str(header.get("typ", "JWT")).lower() not in ("jwt", "application/jwt"):
        raise InvalidHint("id_token_hint is not an ID token (an access token was given).")
    audiences = payload["aud"] if isinstance(payload["aud"], list) else [payload["aud"]]
    azp = payload.get("azp")
    return IdTokenHint(
        subject=payload["sub"],
        audiences=frozenset(a for a in audiences if isinstance(a, str)),
        authorized_party=azp if isinstance(azp, str) else None,
        fingerprint=hashlib.sha256(raw.encode()).hexdigest()[:32],
    )


def hint_sign_in_done(request: HttpRequest, hint: IdTokenHint) -> bool:
    """Whether the user was sent to sign in for ``hint`` and has signed in since (still as someone else)."""
    asked = request.session.get(HINT_SIGN_IN_KEY)
    return isinstance(asked, dict) and asked.get("hint") == hint.fingerprint and asked.get("signed_in") is True


def ask_sign_in_for_hint(request: HttpRequest, hint: IdTokenHint) -> None:
    """Remember that /authorize sends the user to sign in because ``hint`` names another user."""
    request.session[HINT_SIGN_IN_KEY] = {"hint": hint.fingerprint, "signed_in": False}


def note_sign_in(session: SessionBase) -> None:
    """A sign-in happened: an outstanding request to sign in for an ``id_token_hint`` is answered."""
    asked = session.get(HINT_SIGN_IN_KEY)
    if isinstance(asked, dict):
        session[HINT_SIGN_IN_KEY] = asked | {"signed_in": True}
