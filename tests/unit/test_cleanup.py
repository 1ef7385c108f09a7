"""``oidc_clear_expired`` (oidc_flows/cleanup.py): what goes, what stays, and in batches.

Scenario: alice, a web client and the ``default`` server; rows are written straight to the
database with the dates that matter, relative to a fixed ``NOW``; the grace period for dead
refresh tokens is seven days.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from io import StringIO

import pytest
from django.contrib.sessions.models import Session
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from oauth2_provider.models import set_token_value

from oidc_flows import cleanup
from oidc_flows.models import (
    AccessToken,
    AuthorizationServer,
    BrowserSession,
    DeviceAuthorization,
    Grant,
    IDToken,
    OneTimeUse,
    PushedAuthorizationRequest,
    RefreshToken,
    Revocation,
)
from tests.factories import make_client, make_user


pytestmark = pytest.mark.django_db

NOW = timezone.now()
GRACE = timedelta(days=7)
AGO = {"1 min": timedelta(minutes=1), "1 day": timedelta(days=1), "8 days": timedelta(days=8)}


@pytest.fixture
def owner(db) -> dict:
    return {
        "server": AuthorizationServer.objects.get(server_id="default"),
        "application": make_client(),
        "user": make_user(),
    }


def code(owner: dict, *, expires, redeemed: bool = True) -> Grant:
    return Grant.objects.create(
        **owner,
        code=secrets.token_urlsafe(16),
        expires=expires,
        redirect_uri="https://rp.example/cb",
        redeemed_at=NOW - timedelta(minutes=5) if redeemed else None,
    )


def id_token(owner: dict, *, expires) -> IDToken:
    return IDToken.objects.create(**owner, expires=expires)


def access_token(owner: dict, *, expires, id_token: IDToken | None = None, grant: Grant | None = None) -> AccessToken:
    token = AccessToken(**owner, expires=expires, id_token=id_token, grant=grant)
    set_token_value(token, secrets.token_urlsafe(32))
    token.save()
    return token


def refresh_token(
    owner: dict, *, access: AccessToken | None = None, created=None, grant: Grant | None = None, **fields
) -> RefreshToken:
    token = RefreshToken(**owner, access_token=access, grant=grant, **fields)
    set_token_value(token, secrets.token_urlsafe(32))
    token.save()
    if created is not None:  # auto_now_add: only an update can backdate it
        RefreshToken.objects.filter(pk=token.pk).update(created=created)
    return token


def session(*, expires) -> Session:
    return Session.objects.create(session_key=secrets.token_hex(16), session_data="", expire_date=expires)


def browser_session(owner: dict, django_session: Session | None, *, expires) -> BrowserSession:
    key = django_session.session_key if django_session else secrets.token_hex(16)
    return BrowserSession.objects.create(user=owner["user"], session_key=key, last_seen=NOW, expires=expires)


def exists(row) -> bool:
    return type(row).objects.filter(pk=row.pk).exists()


def clear(**kwargs) -> dict:
    return cleanup.clear_expired(now=NOW, grace=GRACE, **kwargs)


def test_expired_and_dead_rows_go(owner):
    past, long_ago = NOW - AGO["1 min"], NOW - AGO["8 days"]
    doomed = {
        "redeemed code": code(owner, expires=past),
        "unused code": code(owner, expires=past, redeemed=False),
        "access token without refresh token": access_token(owner, expires=past),
        "ID token without access token": id_token(owner, expires=past),
        "refresh token revoked 8 days ago": refresh_token(owner, revoked=long_ago),
        "refresh token past its family deadline": refresh_token(owner, family_expires=long_ago),
        "refresh token idle for 30 days (window 7)": refresh_token(
            owner, idle_seconds=7 * 86400, created=NOW - timedelta(days=30)
        ),
        "expired session": session(expires=past),
        "revocation whose tokens have all expired": Revocation.objects.create(key="jti:gone", expires=past),
        "pushed request past its 60 s": PushedAuthorizationRequest.objects.create(
            server=owner["server"], application=owner["application"], reference="gone", parameters={}, expires=past
        ),
        "used assertion id past its expiry": OneTimeUse.objects.create(key="gone", expires=past),
        "device authorization past its expiry": DeviceAuthorization.objects.create(
            server=owner["server"],
            application=owner["application"],
            device_code_hash="gone",
            user_code="BBBBBBBB",
            expires=past,
            interval=5,
        ),
    }
    live_revocation = Revocation.objects.create(key="jti:live", expires=NOW + timedelta(minutes=5))
    live_once = OneTimeUse.objects.create(key="live", expires=NOW + timedelta(minutes=5))
    # An access token whose refresh token was revoked long ago goes with it.
    freed = access_token(owner, expires=past)
    refresh_token(owner, access=freed, revoked=long_ago)
    record = browser_session(owner, doomed["expired session"], expires=NOW + timedelta(days=1))

    counts = clear()

    assert [name for name, row in doomed.items() if exists(row)] == []
    assert not exists(freed)
    assert not exists(record), "the record of an ended session goes too"
    assert exists(live_revocation), "a revocation stays while a token it ends can still be presented"
    assert exists(live_once), "a used jti stays recorded while its assertion could still be replayed"
    assert counts == {
        "refresh tokens": 4,
        "access tokens": 2,
        "ID tokens": 1,
        "authorization codes": 2,
        "sessions": 1,
        "browser session records": 1,
        "sign-in transactions": 0,
        "session and recovery tokens": 0,
        "system log events": 0,
        "revocation list entries": 1,
        "pushed authorization requests": 1,
        "device authorizations": 1,
        "used assertion and proof ids": 1,
        "finished logout deliveries": 0,
    }


def test_live_rows_and_what_they_need_stay(owner):
    past, future = NOW - AGO["1 min"], NOW + timedelta(hours=1)
    code_of_live_family = code(owner, expires=past)
    expired_id_token = id_token(owner, expires=past)
    expired_access = access_token(owner, expires=past, id_token=expired_id_token)
    live_session = session(expires=future)
    kept = {
        "code still valid": code(owner, expires=future, redeemed=False),
        "expired code of a live refresh token (auth_time)": code_of_live_family,
        "expired access token of a live refresh token (scopes)": expired_access,
        "expired ID token of a kept access token (cascade)": expired_id_token,
        "live refresh token": refresh_token(owner, access=expired_access, grant=code_of_live_family),
        "access token still valid": access_token(owner, expires=future),
        "ID token still valid": id_token(owner, expires=future),
        "refresh token revoked 1 day ago (reuse detection)": refresh_token(owner, revoked=NOW - AGO["1 day"]),
        "refresh token past its deadline 1 day ago": refresh_token(owner, family_expires=NOW - AGO["1 day"]),
        "refresh token idle for 3 days (window 7)": refresh_token(
            owner, idle_seconds=7 * 86400, created=NOW - timedelta(days=3)
        ),
        "refresh token without limits, years old": refresh_token(owner, created=NOW - timedelta(days=900)),
        "live session": live_session,
        "record of a live session": browser_session(owner, live_session, expires=future),
    }

    counts = clear()

    assert [name for name, row in kept.items() if not exists(row)] == []
    assert set(counts.values()) == {0}


def test_a_record_whose_django_session_vanished_goes(owner):
    orphan = browser_session(owner, None, expires=NOW + timedelta(days=1))  # e.g. flushed by another sign-in

    assert clear()["browser session records"] == 1
    assert not exists(orphan)


def test_deletes_in_batches_of_primary_keys(owner):
    tokens = [access_token(owner, expires=NOW - AGO["1 min"]) for _ in range(5)]
    table = AccessToken._meta.db_table

    with CaptureQueriesContext(connection) as queries:
        counts = clear(batch_size=2)

    deletes = [q["sql"] for q in queries if q["sql"].startswith(f'DELETE FROM "{table}"')]
    assert len(deletes) == 3, deletes  # 2 + 2 + 1
    assert all(" IN (" in sql for sql in deletes), "each DELETE names its primary keys"
    assert counts["access tokens"] == 5
    assert not any(exists(token) for token in tokens)


def test_a_dry_run_counts_and_deletes_nothing(owner):
    rows = [code(owner, expires=NOW - AGO["1 min"]), access_token(owner, expires=NOW - AGO["1 min"])]

    counts = clear(dry_run=True)

    assert counts["authorization codes"] == 1 and counts["access tokens"] == 1
    assert all(exists(row) for row in rows)


def test_the_command_prints_counts_per_kind(owner):
    code(owner, expires=NOW - timedelta(days=1))
    out = StringIO()

    call_command("oidc_clear_expired", "--dry-run", "--batch-size", "10", stdout=out)
    call_command("oidc_clear_expired", stdout=out)

    lines = [" ".join(line.split()) for line in out.getvalue().splitlines()]
    assert "authorization codes would delete 1" in lines
    assert "authorization codes deleted 1" in lines
    assert not Grant.objects.exists()


@pytest.mark.parametrize(
    "args", [["--batch-size", "0"], ["--batch-size", "x"], ["--grace-days", "-1"], ["--grace-days", "1e9"]]
)
def test_the_command_refuses_bad_options(db, args):
    with pytest.raises(CommandError):
        call_command("oidc_clear_expired", *args, stdout=StringIO())


def test_expired_sign_in_rows_and_old_events_go(owner):
    from oidc_flows.authn import onetime
    from oidc_flows.authn.models import AuthEvent, OneTimeToken, TokenPurpose, Transaction

    user = owner["user"]
    now = timezone.now()  # onetime.issue reads the clock: the module's NOW may be minutes old by now
    old_tx = Transaction.objects.create(
        token_hash="a" * 64, user=user, status="MFA_REQUIRED", expires=now - AGO["1 min"]
    )
    live_tx = Transaction.objects.create(
        token_hash="b" * 64, user=user, status="MFA_REQUIRED", expires=now + AGO["1 min"]
    )
    onetime.issue(TokenPurpose.SESSION, user, seconds=-60)
    onetime.issue(TokenPurpose.RECOVERY, user, seconds=3600)
    AuthEvent.objects.create(event_type="x", outcome="SUCCESS", created=now - timedelta(days=91))
    recent = AuthEvent.objects.create(event_type="x", outcome="SUCCESS", created=now - timedelta(days=89))

    counts = cleanup.clear_expired(now=now, grace=GRACE)

    assert (counts["sign-in transactions"], counts["session and recovery tokens"], counts["system log events"]) == (
        1,
        1,
        1,
    )
    assert not exists(old_tx) and exists(live_tx) and exists(recent)
    assert list(OneTimeToken.objects.values_list("purpose", flat=True)) == [TokenPurpose.RECOVERY]
