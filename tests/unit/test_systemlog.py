"""The system log (oidc_flows/systemlog.py): what is recorded, by whom, and that it never holds a secret.

Django's test client against the real views: the admin, /token, /revoke and the management commands.
"""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from urllib.parse import urlencode

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from oidc_flows import cleanup, systemlog
from oidc_flows.models import AuthEvent
from tests.factories import PASSWORD, make_client, make_server, make_user


FORM = "application/x-www-form-urlencoded"  # RFC 6749 §4.4.2: multipart is refused


def token_request(client, *, server: str = "default", **fields: str):
    basic = base64.b64encode(f"{client.client_id}:{client.secret}".encode()).decode()
    return Client(REMOTE_ADDR="203.0.113.9").post(
        f"/oauth2/{server}/v1/token",
        urlencode({"grant_type": "client_credentials", **fields}),
        content_type=FORM,
        HTTP_AUTHORIZATION=f"Basic {basic}",
        HTTP_X_REQUEST_ID="req-0123456789",
    )


def everything_logged() -> str:
    """Every column of every event, as one string: what a secret must never appear in."""
    return json.dumps(list(AuthEvent.objects.values()), default=str)


def test_an_admin_change_is_recorded_with_its_actor_and_never_the_password(admin_client, admin_user):
    alice = make_user(username="alice")
    new_password = "a brand new password 1234"

    response = admin_client.post(
        f"/admin/auth/user/{alice.pk}/password/",
        {"password1": new_password, "password2": new_password, "usable_password": "true"},
        HTTP_X_REQUEST_ID="admin-request-0001",
        REMOTE_ADDR="198.51.100.7",
    )

    assert response.status_code == 302
    event = AuthEvent.objects.get(event_type="user.account.update_profile")
    assert (event.actor_type, event.actor_id, event.actor_alternate_id) == ("User", str(admin_user.pk), "admin")
    assert (event.target_type, event.target_id, event.target_alternate_id) == ("User", str(alice.pk), "alice")
    assert (event.outcome, event.client_ip, event.request_id) == ("SUCCESS", "198.51.100.7", "admin-request-0001")
    logged = everything_logged()
    assert new_password not in logged and alice.password not in logged


def test_a_secret_rotation_in_the_admin_is_recorded_without_the_secret(admin_client, admin_user):
    service = make_client(app_type="service")

    response = admin_client.post(f"/admin/oidc_flows/application/{service.pk}/rotate-secret/", {"confirm": "yes"})

    assert response.status_code == 302
    event = AuthEvent.objects.get(event_type=systemlog.SECRET_ROTATE)
    assert (event.actor_alternate_id, event.target_type, event.target_id) == (
        "admin",
        "PublicClientApp",
        service.client_id,
    )
    service.refresh_from_db()
    assert service.client_secret not in everything_logged()  # nor its hash


def test_management_commands_are_recorded_with_the_command_as_actor(db):
    call_command("oidc_rotate_keys", "default", stdout=open("/dev/null", "w"))  # noqa: SIM115
    call_command("oidc_create_user", "carol", "--password", "carol's password 99", stdout=open("/dev/null", "w"))  # noqa: SIM115

    rotation = AuthEvent.objects.get(event_type=systemlog.KEY_ROLLOVER)
    assert (rotation.actor_type, rotation.actor_alternate_id) == ("SystemPrincipal", "manage.py oidc_rotate_keys")
    assert (rotation.target_type, rotation.target_id, rotation.detail["via"]) == (
        "AuthorizationServer",
        "default",
        "command",
    )
    created = AuthEvent.objects.get(event_type="user.lifecycle.create")
    assert (created.actor_alternate_id, created.target_alternate_id) == ("manage.py oidc_create_user", "carol")
    assert "carol's password 99" not in everything_logged()


def test_a_successful_token_request_writes_nothing_to_the_log(db):
    service = make_client(app_type="service")
    token_request(service)  # warm: keys, caches

    with CaptureQueriesContext(connection) as queries:
        response = token_request(service)

    assert response.status_code == 200
    table = AuthEvent._meta.db_table
    assert not [q["sql"] for q in queries if table in q["sql"]]
    assert not AuthEvent.objects.exists()


def test_a_token_request_refused_by_the_access_policy_is_recorded(db):
    make_server("payments", default_policy=False)  # no access policy: nothing is allowed
    service = make_client(app_type="service")

    response = token_request(service, server="payments")

    assert response.status_code == 400 and json.loads(response.content)["error"] == "unauthorized_client"
    event = AuthEvent.objects.get(event_type=systemlog.TOKEN_REFUSED)
    assert (event.outcome, event.actor_id, event.target_id) == ("DENY", service.client_id, "payments")
    assert (event.client_ip, event.request_id, event.detail["grant_type"]) == (
        "203.0.113.9",
        "req-0123456789",
        "client_credentials",
    )


def test_a_revocation_at_the_revoke_endpoint_is_recorded_without_the_token(db):
    service = make_client(app_type="service")
    token = token_request(service).json()["access_token"]
    basic = base64.b64encode(f"{service.client_id}:{service.secret}".encode()).decode()

    response = Client().post(
        "/oauth2/default/v1/revoke",
        urlencode({"token": token}),
        content_type=FORM,
        HTTP_AUTHORIZATION=f"Basic {basic}",
        REMOTE_ADDR="192.0.2.4",
    )

    assert response.status_code == 200
    event = AuthEvent.objects.get(event_type=systemlog.TOKEN_REVOKE)
    assert (event.actor_id, event.target_type, event.client_ip) == (service.client_id, "access_token", "192.0.2.4")
    logged = everything_logged()
    assert token not in logged and token.split(".")[1] not in logged


def test_detail_never_keeps_a_secret_whatever_the_caller_passes(db):
    jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl"
    event = systemlog.record(
        "test.event",
        detail={
            "client_secret": "s3cr3t",
            "password1": "hunter2",
            "refresh_token": "abc",
            "code": "xyz",
            "nested": {"id_token": "def", "kept": 1},
            "note": jwt,
            "count": 3,
        },
        reason=f"because {jwt}",
    )

    event.refresh_from_db()
    assert event.detail == {"nested": {"kept": 1}, "note": "[dropped]", "count": 3}
    assert jwt not in event.reason and (event.actor_type, event.actor_id) == ("SystemPrincipal", "system")


def test_retention_deletes_old_events_and_keeps_recent_ones(db, settings):
    settings.OIDC_FLOWS = {**settings.OIDC_FLOWS, "SYSTEM_LOG_RETENTION_DAYS": 30}
    old, recent = systemlog.record("test.old"), systemlog.record("test.recent")
    AuthEvent.objects.filter(pk=old.pk).update(created=timezone.now() - timedelta(days=31))

    counts = cleanup.clear_expired()

    assert counts["system log events"] == 1
    assert list(AuthEvent.objects.filter(event_type__startswith="test.").values_list("pk", flat=True)) == [recent.pk]


@pytest.mark.parametrize("outcome", ["SUCCESS", "DENY"])
def test_okta_shape_helpers(db, outcome):
    event = systemlog.record(systemlog.KEY_ROLLOVER, outcome=outcome)
    assert systemlog.severity(event) == ("INFO" if outcome == "SUCCESS" else "WARN")
    assert systemlog.display_message(event) == "Authorization server signing key rotated"


def test_the_admin_lists_and_searches_the_log_read_only(admin_client, admin_user):
    systemlog.record(systemlog.KEY_ROLLOVER, actor="manage.py oidc_rotate_keys", target=("Thing", "7", "seven"))
    systemlog.record("test.other", actor=admin_user)

    found = admin_client.get("/admin/oidc_flows/authevent/", {"q": "oidc_rotate_keys"})

    assert found.status_code == 200
    assert [event.event_type for event in found.context["cl"].result_list] == [systemlog.KEY_ROLLOVER]
    assert "manage.py oidc_rotate_keys (SystemPrincipal)" in found.content.decode()
    assert admin_client.get("/admin/oidc_flows/authevent/add/").status_code == 403


def test_a_spent_refresh_token_presented_again_is_recorded(db):
    trusted = make_client(app_type="web", grant_types=["authorization_code", "password", "refresh_token"])
    make_user(username="dana")
    first = token_request(
        trusted, grant_type="password", username="dana", password=PASSWORD, scope="openid offline_access"
    ).json()
    token_request(trusted, grant_type="refresh_token", refresh_token=first["refresh_token"])

    replay = token_request(trusted, grant_type="refresh_token", refresh_token=first["refresh_token"])

    assert replay.status_code == 400
    event = AuthEvent.objects.get(event_type=systemlog.TOKEN_REUSE)
    assert (event.outcome, event.actor_id, event.detail["grant_type"]) == ("DENY", trusted.client_id, "refresh_token")
    assert first["refresh_token"] not in everything_logged()
