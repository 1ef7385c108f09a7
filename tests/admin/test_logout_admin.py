"""The admin and back-channel logout: ending a session owes its applications a logout; the deliveries list.

Scenario: a superuser signed into /admin/; alice signed in to "Mail" (with a back-channel logout URI).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.utils import timezone

from oidc_flows.models import AuthorizationServer, BrowserSession, LogoutDelivery, SessionApplication
from tests.factories import make_client, make_user


pytestmark = pytest.mark.django_db

SESSIONS = "/admin/oidc_flows/browsersession/"
DELIVERIES = "/admin/oidc_flows/logoutdelivery/"


@pytest.fixture
def server():
    return AuthorizationServer.objects.get(server_id="default")


@pytest.fixture
def mail(db):
    return make_client(client_id="mail", backchannel_logout_uri="https://mail.example/bcl")


@pytest.fixture
def alice_session(mail, server) -> BrowserSession:
    store = SessionStore()
    store.create()
    record = BrowserSession.objects.create(
        user=make_user(), session_key=store.session_key, last_seen=timezone.now(), expires=timezone.now() + timedelta(1)
    )
    SessionApplication.objects.create(session=record, application=mail, server=server, last_seen=timezone.now())
    return record


def test_ending_a_session_in_the_admin_owes_its_applications_a_logout(admin_client, alice_session, mail):
    response = admin_client.post(
        SESSIONS, {"action": "end_selected_sessions", "_selected_action": [alice_session.pk]}, follow=True
    )

    assert response.status_code == 200 and "Ended 1 session(s)." in response.content.decode()
    delivery = LogoutDelivery.objects.get()
    assert (delivery.application, delivery.sid, delivery.status) == (mail, str(alice_session.sid), "pending")


def test_the_deliveries_list_shows_failures_and_retries_now(admin_client, mail, server):
    failed = LogoutDelivery.objects.create(
        application=mail, server=server, sid="s", sub="u", attempts=10, last_error="HTTP 503: busy", next_attempt=None
    )

    page = admin_client.get(f"{DELIVERIES}?status=failed").content.decode()
    assert "failed: no more retries" in page and "HTTP 503: busy" in page

    response = admin_client.post(DELIVERIES, {"action": "retry_now", "_selected_action": [failed.pk]}, follow=True)

    assert "1 delivery(ies) will be sent again now." in response.content.decode()
    failed.refresh_from_db()
    assert failed.next_attempt is not None and failed.status == "retrying"
    assert admin_client.get(f"{DELIVERIES}{failed.pk}/change/").status_code == 200


def test_the_application_form_has_the_logout_uris_and_checks_them(admin_client, mail):
    page = admin_client.get(f"/admin/oidc_flows/application/{mail.pk}/change/").content.decode()
    assert 'name="backchannel_logout_uri"' in page and 'name="frontchannel_logout_session_required"' in page

    form = admin_client.get(f"/admin/oidc_flows/application/{mail.pk}/change/").context["adminform"].form
    data = {name: value for name, value in form.initial.items() if value not in (None, False)}
    data |= {"redirect_uris": "https://rp.example/cb", "backchannel_logout_uri": "http://mail.example/bcl"}
    response = admin_client.post(f"/admin/oidc_flows/application/{mail.pk}/change/", data)

    assert response.status_code == 200, "the form is shown again with the error"
    assert "plain http only for 127.0.0.1" in response.content.decode()
