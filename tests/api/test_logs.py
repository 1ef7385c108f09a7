"""GET /api/v1/logs: Okta's System Log API over the system log, with real org tokens."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, quote, urlsplit

import pytest
from django.utils import timezone

from oidc_flows import systemlog
from oidc_flows.models import AuthEvent
from tests.factories import PASSWORD, make_client, make_server, make_user


pytestmark = pytest.mark.django_db

READ = "oidc_flows.logs.read"


def iso(moment) -> str:
    return quote(moment.isoformat())


def next_link(response) -> str | None:
    for part in response.headers.get("Link", "").split(","):
        if 'rel="next"' in part:
            url = part.split(";")[0].strip()[1:-1]
            return urlsplit(url).path + "?" + urlsplit(url).query
    return None


def test_the_log_lists_events_in_oktas_shape_with_since_until_filter_q_and_pages(django_api):
    server = make_server("payments")
    app = make_client(app_type="service")
    api = django_api(READ)
    AuthEvent.objects.all().delete()  # the token request's own events (none on success, but be exact)
    old = systemlog.record("test.old", target=server)
    AuthEvent.objects.filter(pk=old.pk).update(created=timezone.now() - timedelta(days=3))
    rotated = systemlog.record(systemlog.KEY_ROLLOVER, actor="manage.py oidc_rotate_keys", target=server)
    refused = systemlog.record(
        systemlog.TOKEN_REFUSED, actor=app, target=server, outcome="DENY", reason="no access policy allows it"
    )
    for n in range(3):
        systemlog.record("test.page", detail={"n": n})

    everything = api.get("/api/v1/logs")
    assert everything.status_code == 200
    events = everything.json()
    assert [e["eventType"] for e in events] == [
        "test.old",
        systemlog.KEY_ROLLOVER,
        systemlog.TOKEN_REFUSED,
        "test.page",
        "test.page",
        "test.page",
    ]
    shown = events[2]
    assert shown["uuid"] == str(refused.uuid) and shown["published"].endswith("Z")
    assert (shown["severity"], shown["outcome"]) == ("WARN", {"result": "DENY", "reason": "no access policy allows it"})
    assert shown["actor"] == {
        "id": app.client_id,
        "type": "PublicClientApp",
        "alternateId": app.client_id,
        "displayName": app.name,
    }
    assert shown["target"] == [
        {"id": "payments", "type": "AuthorizationServer", "alternateId": "payments", "displayName": "Payments"}
    ]
    assert set(shown["client"]) == {"ipAddress", "userAgent"} and "debugData" in shown["debugContext"]

    since = api.get(f"/api/v1/logs?since={iso(timezone.now() - timedelta(days=1))}&limit=200").json()
    assert "test.old" not in [e["eventType"] for e in since]
    until = api.get(f"/api/v1/logs?since={iso(timezone.now() - timedelta(days=5))}&until={iso(rotated.created)}")
    assert [e["eventType"] for e in until.json()] == ["test.old"]

    filtered = api.get(
        "/api/v1/logs", data={"filter": f'eventType eq "{systemlog.KEY_ROLLOVER}" and target.id eq "payments"'}
    )
    assert [e["uuid"] for e in filtered.json()] == [str(rotated.uuid)]
    by_actor = api.get("/api/v1/logs", data={"filter": f'actor.id eq "{app.client_id}" and outcome.result eq "DENY"'})
    assert [e["uuid"] for e in by_actor.json()] == [str(refused.uuid)]
    keywords = api.get("/api/v1/logs", data={"q": "oidc_rotate_keys payments"})
    assert [e["uuid"] for e in keywords.json()] == [str(rotated.uuid)]

    first = api.get("/api/v1/logs?filter=" + quote('eventType eq "test.page"') + "&limit=2&sortOrder=DESCENDING")
    assert [e["debugContext"]["debugData"]["n"] for e in first.json()] == [2, 1]
    following = next_link(first)
    assert following and parse_qs(urlsplit(following).query)["filter"] == ['eventType eq "test.page"']
    second = api.get(following)
    assert [e["debugContext"]["debugData"]["n"] for e in second.json()] == [0] and next_link(second) is None


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"filter": 'eventType co "key"'}, "Unsupported operator 'co'"),
        ({"filter": 'password eq "x"'}, "Unsupported attribute 'password'"),
        ({"filter": 'eventType eq "a" or actor.id eq "b"'}, "Unsupported expression: 'or actor.id"),
        ({"filter": "__import__('os')"}, "Unsupported expression"),
        ({"filter": 'client.ipAddress eq "nope"'}, "is not an IP address"),
        ({"since": "yesterday"}, "since: Not an ISO 8601"),
        ({"sortOrder": "up"}, "sortOrder"),
    ],
)
def test_an_unsupported_query_is_a_400_naming_it(django_api, params, named):
    response = django_api(READ).get("/api/v1/logs", data=params)

    assert response.status_code == 400
    body = response.json()
    assert body["errorCode"] == "E0000001"
    assert named in " ".join(cause["errorSummary"] for cause in body["errorCauses"]), body


def test_reading_the_log_needs_the_logs_scope_and_a_users_view_permission(django_api, staff_token):
    assert django_api("oidc_flows.apps.read").get("/api/v1/logs").status_code == 403
    staff = make_user(username="viewer")
    staff.is_staff = True
    staff.save()
    token = staff_token(staff, READ, password=PASSWORD)
    from django.test import Client

    refused = Client().get("/api/v1/logs", headers={"Authorization": f"Bearer {token}"})
    assert refused.status_code == 403 and refused.json()["error"] == "insufficient_scope"


def test_over_http_a_service_app_reads_the_refusal_it_caused(management_client, base_url):
    make_server("closed", default_policy=False)
    app = make_client(app_type="service")
    import requests

    refused = requests.post(
        f"{base_url}/oauth2/closed/v1/token",
        data={"grant_type": "client_credentials"},
        auth=(app.client_id, app.secret),
        timeout=10,
    )
    assert refused.status_code == 400
    api = management_client(READ)

    response = api.get("/api/v1/logs", params={"filter": f'actor.id eq "{app.client_id}"'})

    assert response.status_code == 200
    (event,) = response.json()
    assert (event["eventType"], event["outcome"]["result"], event["target"][0]["id"]) == (
        systemlog.TOKEN_REFUSED,
        "DENY",
        "closed",
    )
    assert event["client"]["ipAddress"] == "127.0.0.1" and event["debugContext"]["debugData"]["requestId"]
