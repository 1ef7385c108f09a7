"""The admin's settings for pushed authorization requests (RFC 9126) and signed request objects (RFC 9101).

An administrator requires PAR or signed request objects per application and per server, and
registers the URLs an application hosts its request objects at (https only, or loopback http).
"""

from __future__ import annotations

import pytest

from oidc_flows.models import Application, AuthorizationServer
from tests.factories import make_client


APPS = "/admin/oidc_flows/application/"
SERVERS = "/admin/oidc_flows/authorizationserver/"
REQUEST_FIELDS = {"request_uris", "require_pushed_authorization_requests", "require_signed_request_object"}


def web_form(**changes) -> dict:
    return {
        "name": "Bank portal",
        "grant_types": ["authorization_code", "refresh_token"],
        "redirect_uris": "https://bank.example/cb",
        "token_endpoint_auth_method": "client_secret_basic",
        "is_active": "on",
    } | changes


@pytest.mark.parametrize(("app_type", "shown"), [("web", True), ("spa", True), ("native", True), ("service", False)])
def test_applications_that_redirect_have_the_request_settings(admin_client, app_type, shown):
    form = admin_client.get(f"{APPS}add/", {"application_type": app_type}).context["adminform"].form

    present = REQUEST_FIELDS & set(form.fields)
    assert present == (REQUEST_FIELDS if shown else set())


def test_an_application_can_be_made_to_require_par_and_signed_objects(admin_client):
    client = make_client(app_type="web")

    response = admin_client.post(
        f"{APPS}{client.pk}/change/",
        web_form(
            require_pushed_authorization_requests="on",
            require_signed_request_object="on",
            request_uris="https://bank.example/requests/\nhttps://bank.example/one.jwt",
        ),
    )

    assert response.status_code == 302, response.context["adminform"].form.errors
    client.refresh_from_db()
    assert client.require_pushed_authorization_requests and client.require_signed_request_object
    assert client.request_uris == "https://bank.example/requests/ https://bank.example/one.jwt"


@pytest.mark.parametrize("uri", ["http://bank.example/requests/", "https://bank.example/r#frag", "javascript:alert(1)"])
def test_request_uris_must_be_https(admin_client, uri):
    client = make_client(app_type="web")

    response = admin_client.post(f"{APPS}{client.pk}/change/", web_form(request_uris=uri))

    assert response.status_code == 200
    assert "use an https URL" in str(response.context["adminform"].form.errors["request_uris"])
    assert Application.objects.get(pk=client.pk).request_uris == ""


def test_a_server_can_require_par_and_signed_objects(admin_client):
    server = AuthorizationServer.objects.get(server_id="default")
    page = admin_client.get(f"{SERVERS}{server.pk}/change/")
    assert {"require_pushed_authorization_requests", "require_signed_request_object"} <= set(
        page.context["adminform"].form.fields
    )

    response = admin_client.post(
        f"{SERVERS}{server.pk}/change/",
        {
            "name": server.name,
            "description": server.description,
            "audience": server.audience,
            "key_rotation_days": server.key_rotation_days,
            "is_active": "on",
            "require_pushed_authorization_requests": "on",
            "require_signed_request_object": "on",
            # the access policies inline's management form
            "access_policies-TOTAL_FORMS": "0",
            "access_policies-INITIAL_FORMS": "0",
        },
    )

    assert response.status_code == 302, response.context["adminform"].form.errors
    server.refresh_from_db()
    assert server.require_pushed_authorization_requests and server.require_signed_request_object
    assert server.requires_par
