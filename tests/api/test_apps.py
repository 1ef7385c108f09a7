"""/api/v1/apps with real org server tokens: the end-to-end flow over HTTP, then refusals (Django's client)."""

from __future__ import annotations

import pytest
import requests
from django.contrib.auth.models import Permission

from oidc_flows.admin.forms import ApplicationForm
from oidc_flows.models import Application
from tests.api.conftest import _basic
from tests.factories import PASSWORD, make_client, make_server, make_user


MANAGE = "oidc_flows.apps.manage"
READ = "oidc_flows.apps.read"
WEB_APP = {
    "label": "Payments",
    "settings": {"oauthClient": {"application_type": "web", "redirect_uris": ["https://pay.example/cb"]}},
}


def client_credentials(base_url: str, client_id: str, secret: str) -> requests.Response:
    return requests.post(
        f"{base_url}/oauth2/v1/token", data={"grant_type": "client_credentials"}, auth=(client_id, secret), timeout=10
    )


def test_a_service_app_creates_rotates_and_deactivates_a_web_application(management_client, base_url):
    api = management_client(MANAGE)
    created = api.post(
        "/api/v1/apps",
        {
            **WEB_APP,
            "settings": {
                "oauthClient": {
                    **WEB_APP["settings"]["oauthClient"],
                    "grant_types": ["authorization_code", "client_credentials"],
                }
            },
        },
    )
    assert created.status_code == 201, created.text
    assert created.headers["Cache-Control"] == "no-store"
    body = created.json()
    client_id, secret = body["id"], body["credentials"]["oauthClient"]["client_secret"]
    assert body["status"] == "ACTIVE" and body["settings"]["oauthClient"]["application_type"] == "web"
    assert Application.objects.get(client_id=client_id).client_secret != secret  # stored hashed
    assert client_credentials(base_url, client_id, secret).status_code == 200

    read = api.get(f"/api/v1/apps/{client_id}")
    assert read.status_code == 200 and "client_secret" not in read.json()["credentials"]["oauthClient"]
    assert read.headers["ETag"]

    rotated = api.post(f"/api/v1/apps/{client_id}/credentials/secret/rotate")
    assert rotated.status_code == 200
    new_secret = rotated.json()["client_secret"]
    assert client_credentials(base_url, client_id, secret).status_code == 401  # the old one stops working
    assert client_credentials(base_url, client_id, new_secret).status_code == 200

    deactivated = api.post(f"/api/v1/apps/{client_id}/lifecycle/deactivate")
    assert deactivated.json()["status"] == "INACTIVE"
    assert client_credentials(base_url, client_id, new_secret).status_code != 200


# -- refusals (Django's test client with real tokens: fast) ---------------------------------------------


@pytest.fixture
def app_row(db) -> Application:
    return make_client(app_type="web")


def test_no_token_is_401_with_a_bearer_challenge(client, app_row):
    response = client.get("/api/v1/apps")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="oidc_flows"'  # RFC 6750 §3.1: no error code
    assert response.json()["errorCode"] == "E0000011" and "error" not in response.json()


def test_an_unknown_or_custom_server_token_is_401_invalid_token(client, db):
    server = make_server("payments")
    service = make_client(app_type="service")
    issued = client.post(
        f"/oauth2/{server.server_id}/v1/token",
        "grant_type=client_credentials",
        content_type="application/x-www-form-urlencoded",
        headers={"Authorization": _basic(service.client_id, service.secret)},
    )
    assert issued.status_code == 200, issued.content
    for token in (issued.json()["access_token"], "not-a-token"):
        response = client.get("/api/v1/apps", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401
        assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]
        assert response.json()["error"] == "invalid_token"


def test_a_read_scope_cannot_write_403_insufficient_scope(django_api, app_row):
    api = django_api(READ)
    assert api.get("/api/v1/apps").status_code == 200
    response = api.post("/api/v1/apps", WEB_APP)
    assert response.status_code == 403
    challenge = response.headers["WWW-Authenticate"]
    assert 'error="insufficient_scope"' in challenge and f'scope="{MANAGE}"' in challenge
    assert response.json()["errorCode"] == "E0000006"


def test_a_grant_withdrawn_after_issuance_stops_working(django_api, app_row):
    api = django_api(READ)
    Application.objects.filter(pk=api.application.pk).update(management_scopes="")
    assert api.get("/api/v1/apps").status_code == 403


def test_a_view_only_staff_user_reads_but_cannot_write(staff_token, client, app_row):
    user = make_user(username="viewer")
    user.is_staff = True
    user.save()
    user.user_permissions.add(Permission.objects.get(codename="view_application"))
    token = staff_token(user, MANAGE, password=PASSWORD)  # the scope alone is not enough
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/apps", headers=headers).status_code == 200
    refused = client.post("/api/v1/apps", WEB_APP, content_type="application/json", headers=headers)
    assert refused.status_code == 403
    assert "add_application" in refused.json()["error_description"]


def test_a_stale_if_match_is_412_and_the_current_one_succeeds(django_api, app_row):
    api = django_api(MANAGE)
    path = f"/api/v1/apps/{app_row.client_id}"
    etag = api.get(path).headers["ETag"]
    assert api.patch(path, {"label": "Renamed"}, headers={"If-Match": etag}).status_code == 200
    stale = api.patch(path, {"label": "Again"}, headers={"If-Match": etag})
    assert stale.status_code == 412
    assert stale.json()["errorCode"] == "E0000412"
    assert api.get(path).json()["label"] == "Renamed"
    current = api.get(path).headers["ETag"]
    assert api.patch(path, {"label": "Again"}, headers={"If-Match": current}).status_code == 200


def test_a_bad_type_and_grant_combination_gives_the_admins_message(django_api):
    api = django_api(MANAGE)
    spa = {
        "application_type": "spa",
        "redirect_uris": ["https://spa.example/cb"],
        "grant_types": ["client_credentials"],
    }
    response = api.post("/api/v1/apps", {"label": "SPA", "settings": {"oauthClient": spa}})
    assert response.status_code == 400
    body = response.json()
    assert body["errorCode"] == "E0000001"
    assert body["errorSummary"] == "Api validation failed: settings.oauthClient.grant_types"
    admin = ApplicationForm(
        data={
            "name": "SPA",
            "application_type": "spa",
            "client_id": "x",
            "grant_types": ["client_credentials"],
            "redirect_uris": "https://spa.example/cb",
            "token_endpoint_auth_method": "none",
        }
    )
    assert not admin.is_valid()
    expected = admin.errors["grant_types"][0]
    assert {"errorSummary": f"settings.oauthClient.grant_types: {expected}"} in body["errorCauses"]
    assert not Application.objects.filter(name="SPA").exists()


def test_lists_page_with_link_headers_and_filter(django_api, db):
    for n in range(5):
        Application.objects.create(name=f"batch {n}", application_type="service", client_id=f"batch-{n}")
    api = django_api(READ, name="reader")
    first = api.get("/api/v1/apps?q=batch&limit=2")
    assert [a["label"] for a in first.json()] == ["batch 0", "batch 1"]
    link = first.headers["Link"]
    assert 'rel="next"' in link and "limit=2" in link and "after=" in link
    following = link.split('rel="self", <')[1].split(">")[0]
    second = api.get(following.split("testserver")[1])
    assert [a["label"] for a in second.json()] == ["batch 2", "batch 3"]
    active = api.get('/api/v1/apps?search=status eq "ACTIVE" and label sw "batch"&limit=200')
    assert len(active.json()) == 5 and 'rel="next"' not in active.headers["Link"]
    assert api.get("/api/v1/apps?limit=zero").status_code == 400


def test_too_many_requests_is_429_with_retry_after(django_api, app_row, settings):
    settings.OIDC_FLOWS = {**settings.OIDC_FLOWS, "API_RATE_LIMITS": {"read": "2/minute"}}
    api = django_api(READ)
    assert [api.get("/api/v1/apps").status_code for _ in range(3)] == [200, 200, 429]
    refused = api.get("/api/v1/apps")
    assert int(refused.headers["Retry-After"]) > 0
    assert refused.json()["errorCode"] == "E0000047"


def test_delete_needs_deactivation_first(django_api, app_row):
    api = django_api(MANAGE)
    path = f"/api/v1/apps/{app_row.client_id}"
    assert api.delete(path).status_code == 400
    api.post(f"{path}/lifecycle/deactivate")
    assert api.delete(path).status_code == 204
    assert api.get(path).status_code == 404


def test_origins_are_validated_as_in_the_admin(django_api, app_row):
    api = django_api(MANAGE)
    path = f"/api/v1/apps/{app_row.client_id}/origins"
    assert api.put(path, {"origins": ["https://app.example"]}).json() == {"origins": ["https://app.example"]}
    bad = api.put(path, {"origins": ["http://app.example/path"]})
    assert bad.status_code == 400 and bad.json()["errorSummary"].endswith("allowed_origins")


def test_a_service_token_cannot_grant_itself_more_scopes(django_api):
    api = django_api(MANAGE)
    path = f"/api/v1/apps/{api.application.client_id}"
    api.patch(path, {"managementScopes": ["oidc_flows.users.manage"]})
    assert Application.objects.get(pk=api.application.pk).management_scopes == MANAGE
