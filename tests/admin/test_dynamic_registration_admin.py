"""The admin side of dynamic client registration: initial access tokens (issued once, revoked) and the
"registered dynamically" origin of the applications they register."""

from __future__ import annotations

import re

from django.test import Client

from oidc_flows.models import Application, InitialAccessToken
from tests.factories import RP_REDIRECT, make_client


TOKENS = "/admin/oidc_flows/initialaccesstoken/"
APPS = "/admin/oidc_flows/application/"


def test_an_issued_token_is_shown_once_registers_a_client_that_shows_as_registered_dynamically(admin_client):
    page = admin_client.post(f"{TOKENS}add/", {"name": "Partner X", "max_uses": "1"}, follow=True)
    token = re.search(r'id="initial-access-token">([^<]+)<', page.content.decode()).group(1)
    row = InitialAccessToken.objects.get()
    assert row.created_by.username == "root" and token not in row.token_hash
    assert token not in admin_client.get(f"{TOKENS}{row.pk}/change/").content.decode()  # never shown again

    registered = Client().post(
        "/oauth2/v1/clients",
        {"client_name": "Partner portal", "application_type": "browser", "redirect_uris": [RP_REDIRECT]},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    assert registered.status_code == 201, registered.content
    app = Application.objects.get(client_id=registered.json()["client_id"])
    make_client(app_type="web")  # one an administrator created

    change = admin_client.get(f"{APPS}{app.pk}/change/").content.decode()
    assert "Single-page application" in change
    assert "Registered dynamically (RFC 7591)" in change and "Partner X" in change
    dynamic = admin_client.get(APPS, {"origin": "dcr"}).content.decode()
    assert "Partner portal" in dynamic and "web app" not in dynamic
    assert "web app" in admin_client.get(APPS, {"origin": "manual"}).content.decode()
    assert "Partner portal" in admin_client.get(f"{TOKENS}{row.pk}/change/").content.decode()


def test_revoking_a_token_in_the_admin_stops_registrations(admin_client):
    row, token = InitialAccessToken.issue("Partner Y", max_uses=None)
    admin_client.post(TOKENS, {"action": "revoke", "_selected_action": [row.pk]})

    refused = Client().post(
        "/oauth2/v1/clients",
        {"client_name": "Late", "redirect_uris": [RP_REDIRECT]},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    assert refused.status_code == 401 and "revoked" in refused.json()["error_description"]
