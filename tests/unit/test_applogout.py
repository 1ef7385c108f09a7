"""Logout that reaches every application (oidc_flows.applogout), without a live server.

Scenario: alice signed in to "Mail" (back- and front-channel logout URIs) in two browsers; ending a
session owes Mail a logout token. The end-to-end flow, with a relying party that verifies the tokens,
is tests/flows/test_backchannel_logout.py.
"""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from io import StringIO
from types import SimpleNamespace

import pytest
import requests
from django.contrib.sessions.backends.db import SessionStore
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.core.management import call_command
from django.utils import timezone
from joserfc import jwt
from joserfc.jwk import KeySet

from oidc_flows import applogout, keys, sessions, subjects
from oidc_flows.models import Application, AuthorizationServer, BrowserSession, LogoutDelivery, SessionApplication
from oidc_flows.settings import flows_settings
from tests.factories import make_client, make_user


pytestmark = pytest.mark.django_db

BACK_CHANNEL = "https://mail.example/backchannel-logout"
FRONT_CHANNEL = "https://rp.example/frontchannel-logout"  # the origin of tests.factories.RP_REDIRECT


@pytest.fixture
def server():
    return AuthorizationServer.objects.get(server_id="default")


@pytest.fixture
def mail(db):
    return make_client(
        client_id="mail",
        backchannel_logout_uri=BACK_CHANNEL,
        frontchannel_logout_uri=FRONT_CHANNEL,
        frontchannel_logout_session_required=True,
    )


def signed_in(user, client, server) -> BrowserSession:
    """A real Django session of ``user`` and its record, which signed ``client`` in."""
    store = SessionStore()
    store.create()
    record = BrowserSession.objects.create(
        user=user, session_key=store.session_key, last_seen=timezone.now(), expires=timezone.now() + timedelta(days=1)
    )
    SessionApplication.objects.create(session=record, application=client, server=server, last_seen=timezone.now())
    return record


# -- application settings ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "uri"),
    [
        ("backchannel_logout_uri", "http://mail.example/logout"),  # plain http off loopback: tokens in clear
        ("backchannel_logout_uri", "https://mail.example/logout#frag"),
        ("backchannel_logout_uri", "mail.example/logout"),
        ("frontchannel_logout_uri", "http://rp.example/logout"),
        ("frontchannel_logout_uri", "https://other.example/logout"),  # Front-Channel §2: a redirect URI's origin
        ("frontchannel_logout_uri", "https://rp.example:8443/logout"),
    ],
)
def test_unusable_logout_uris_are_refused(field, uri):
    with pytest.raises(ValidationError) as refused:
        make_client(**{field: uri})
    assert list(refused.value.message_dict) == [field]


def test_https_and_loopback_logout_uris_are_accepted():
    app = make_client(backchannel_logout_uri="http://127.0.0.1:9000/bcl", frontchannel_logout_uri=FRONT_CHANNEL)
    assert app.backchannel_logout_uri == "http://127.0.0.1:9000/bcl"
    assert make_client(backchannel_logout_uri="https://mail.example/bcl?tenant=1").pk


def test_the_command_registers_the_logout_uris():
    out = StringIO()
    call_command(
        "oidc_create_application",
        "web",
        "Mail",
        "--client-id=mail-cli",
        "--redirect-uri=https://mail.example/cb",
        "--backchannel-logout-uri=https://mail.example/bcl",
        "--backchannel-logout-session-required",
        stdout=out,
    )
    app = Application.objects.get(client_id="mail-cli")
    assert (app.backchannel_logout_uri, app.backchannel_logout_session_required) == ("https://mail.example/bcl", True)


def test_retry_settings_are_checked(settings):
    settings.OIDC_FLOWS = {**settings.OIDC_FLOWS, "LOGOUT_RETRY_SECONDS": []}
    with pytest.raises(ImproperlyConfigured):
        flows_settings()


# -- discovery --------------------------------------------------------------------------------------


def test_discovery_advertises_both_logouts_with_sid(client):
    doc = client.get("/oauth2/default/.well-known/openid-configuration").json()
    flags = ("backchannel_logout", "backchannel_logout_session", "frontchannel_logout", "frontchannel_logout_session")
    assert {f"{flag}_supported": True for flag in flags}.items() <= doc.items()
    assert "sid" in doc["claims_supported"]


# -- ending a session owes a logout ------------------------------------------------------------------


@pytest.mark.parametrize("subject_type", ["public", "pairwise"])
def test_account_ending_another_browser_owes_its_applications_a_logout(client, mail, server, subject_type):
    mail.subject_type = subject_type
    mail.save()
    alice = make_user()
    other = signed_in(alice, mail, server)
    client.force_login(alice)

    response = client.post(f"/account/sessions/{other.sid}/end")

    assert response.status_code == 302
    delivery = LogoutDelivery.objects.get()
    assert (delivery.application, delivery.server, delivery.sid) == (mail, server, str(other.sid))
    # The sub the application knows: its pairwise one, never the public id, when it has pairwise subjects.
    assert delivery.sub == subjects.subject_for(alice, mail)
    assert (delivery.sub == subjects.public_id(alice)) is (subject_type == "public")
    assert delivery.status == "pending" and delivery.next_attempt is not None
    assert not BrowserSession.objects.filter(pk=other.pk).exists()


def test_signing_out_here_renders_the_front_channel_iframe(client, mail, server):
    alice = make_user()
    client.force_login(alice)
    record = BrowserSession.objects.get(session_key=client.session.session_key)
    SessionApplication.objects.create(session=record, application=mail, server=server, last_seen=timezone.now())

    page = client.post("/logout/", {"next": "/account/"})

    # The page asked for comes after the iframes (Front-Channel §3), with a link for browsers without JavaScript.
    assert page.status_code == 200
    assert f'<iframe src="{FRONT_CHANNEL}?iss=' in page.content.decode()
    assert f"sid={record.sid}" in page.content.decode()
    assert 'id="continue" href="/account/"' in page.content.decode()
    assert LogoutDelivery.objects.get().sid == str(record.sid)


def test_a_session_of_no_application_with_logout_uris_owes_nothing(client, server):
    alice = make_user()
    record = signed_in(alice, make_client(), server)
    sessions.end_session(record)
    assert not LogoutDelivery.objects.exists()


# -- delivery ---------------------------------------------------------------------------------------


def owed(mail, server) -> LogoutDelivery:
    return LogoutDelivery.objects.create(
        application=mail, server=server, sid="sid-1", sub="sub-1", next_attempt=timezone.now()
    )


def test_a_failed_attempt_is_recorded_and_retried_after_the_back_off(monkeypatch, settings, mail, server):
    settings.OIDC_FLOWS = {**settings.OIDC_FLOWS, "LOGOUT_RETRY_SECONDS": [10, 30]}
    answers = iter([SimpleNamespace(status_code=503, text='{"error":"busy"}'), requests.ConnectTimeout("slow")])

    def post(url, **kwargs):
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    monkeypatch.setattr(applogout.requests, "post", post)
    delivery = owed(mail, server)

    assert applogout.deliver_due() == (1, 0)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_error) == ("retrying", 1, 'HTTP 503: {"error":"busy"}')
    assert timedelta(seconds=9) < delivery.next_attempt - timezone.now() <= timedelta(seconds=10)
    assert applogout.deliver_due() == (0, 0), "not due yet"

    LogoutDelivery.objects.filter(pk=delivery.pk).update(next_attempt=timezone.now())
    applogout.deliver_due()
    delivery.refresh_from_db()
    assert delivery.attempts == 2 and delivery.last_error.startswith("ConnectTimeout")
    assert timedelta(seconds=29) < delivery.next_attempt - timezone.now() <= timedelta(seconds=30)


def test_after_the_last_retry_the_delivery_is_failed(monkeypatch, settings, mail, server):
    settings.OIDC_FLOWS = {**settings.OIDC_FLOWS, "LOGOUT_RETRY_SECONDS": [10]}
    monkeypatch.setattr(applogout.requests, "post", lambda url, **kw: SimpleNamespace(status_code=302, text=""))
    delivery = owed(mail, server)
    LogoutDelivery.objects.filter(pk=delivery.pk).update(attempts=1)

    applogout.deliver_due()

    delivery.refresh_from_db()
    assert (delivery.status, delivery.next_attempt, delivery.last_error) == ("failed", None, "HTTP 302")


def test_a_delivery_is_claimed_by_one_sender_only(mail, server):
    delivery = owed(mail, server)
    now = timezone.now()
    assert applogout.claim(delivery.pk, delivery.next_attempt, now)
    assert not applogout.claim(delivery.pk, delivery.next_attempt, now), "another node saw the same row"


def test_the_logout_token_is_signed_when_sent(monkeypatch, mail, server):
    sent = []

    def post(url, **kwargs):
        sent.append((url, kwargs))
        return SimpleNamespace(status_code=204, text="")

    monkeypatch.setattr(applogout.requests, "post", post)
    owed(mail, server)

    assert applogout.deliver_due() == (1, 1)
    [(url, kwargs)] = sent
    assert url == BACK_CHANNEL and kwargs["allow_redirects"] is False
    token = kwargs["data"]["logout_token"]
    key_set = KeySet.import_key_set(
        {"keys": [json.loads(k.public_key().export_public()) for k in keys.published(server)]}
    )
    decoded = jwt.decode(token, key_set, algorithms=["RS256", "ES256", "PS256"])
    assert decoded.header["typ"] == "logout+jwt"
    assert decoded.claims["events"] == {applogout.EVENT: {}} and "nonce" not in decoded.claims
    assert (decoded.claims["iss"], decoded.claims["aud"]) == (server.issuer, "mail")
    assert decoded.claims["exp"] - decoded.claims["iat"] == applogout.TOKEN_SECONDS


def test_the_command_sends_what_is_due(monkeypatch, mail, server):
    monkeypatch.setattr(applogout.requests, "post", lambda url, **kw: SimpleNamespace(status_code=200, text=""))
    owed(mail, server)
    out = StringIO()
    call_command("oidc_deliver_logouts", stdout=out)
    assert "delivered: 1" in out.getvalue()
    assert LogoutDelivery.objects.get().status == "delivered"


def test_a_delivery_worker_that_died_is_replaced(transactional_db):
    """A worker thread killed by anything (settings changed under it, say) must not silence every later logout."""
    dead = threading.Thread(target=lambda: None)
    dead.start()
    dead.join()
    applogout._worker.thread = dead

    applogout.wake()

    assert applogout._worker.thread is not dead
