"""The management API's core: who obtains management scopes, the schema and its UI."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
import yaml
from django.test import Client
from django.urls import URLPattern, URLResolver

from oidc_flows import policy
from oidc_flows.api.urls import router
from oidc_flows.models import Scope
from tests.api.conftest import FORM, TOKEN_PATH, _basic, grant_service_app, token_request_data
from tests.factories import PASSWORD, make_user


pytestmark = pytest.mark.django_db


def token_response(client_id: str, secret: str, scope: str, **extra: str):
    data = token_request_data((scope,)) | extra
    return Client().post(
        TOKEN_PATH, urlencode(data), content_type=FORM, headers={"Authorization": _basic(client_id, secret)}
    )


def test_org_server_has_the_management_scopes_as_system_scopes():
    rows = Scope.objects.filter(server__is_org=True, name__in=list(policy.MANAGEMENT_SCOPES))
    assert sorted(rows.values_list("name", flat=True)) == sorted(policy.MANAGEMENT_SCOPES)
    assert all(row.is_system and row.consent_required for row in rows)
    assert not Scope.objects.filter(server__is_org=False, name__startswith="oidc_flows.").exists()


def test_a_service_app_gets_only_the_management_scopes_it_was_granted():
    app, secret = grant_service_app("oidc_flows.apps.read")
    assert token_response(app.client_id, secret, "oidc_flows.apps.read").status_code == 200
    refused = token_response(app.client_id, secret, "oidc_flows.apps.manage")
    assert refused.status_code == 400
    assert refused.json()["error"] == "invalid_scope"


def test_only_staff_users_get_management_scopes_for_their_own_tokens():
    from oidc_flows.registration import register_application

    app, secret = register_application("cli", "web", redirect_uris=["https://cli.example/cb"], grant_types=["password"])
    user = make_user(username="bob")
    creds = {"grant_type": "password", "username": "bob", "password": PASSWORD}
    assert token_response(app.client_id, secret, "oidc_flows.apps.read", **creds).json()["error"] == "invalid_scope"
    user.is_staff = True
    user.save()
    assert token_response(app.client_id, secret, "oidc_flows.apps.read", **creds).status_code == 200


def test_granting_unknown_scopes_or_to_an_app_without_client_credentials_is_refused():
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError, match="Unknown management API scopes"):
        grant_service_app("oidc_flows.everything")
    from oidc_flows.registration import register_application

    with pytest.raises(ValidationError, match="client_credentials"):
        register_application(
            "spa", "spa", redirect_uris=["https://spa.example/cb"], extra={"management_scopes": "oidc_flows.apps.read"}
        )


def _route_paths(patterns, prefix: str = "") -> set[str]:
    import re

    paths = set()
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            paths |= _route_paths(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            # ^apps/(?P<client_id>[^/.]+)$ → apps/{client_id}
            raw = prefix + str(pattern.pattern)
            raw = re.sub(r"\(\?P<(\w+)>[^)]*\)", r"{\1}", raw).strip("^$")
            paths.add("/api/v1/" + raw.replace("\\.", "."))
    return paths


def test_the_schema_is_served_and_lists_every_route_of_the_router():
    response = Client().get("/api/v1/schema")
    assert response.status_code == 200
    schema = yaml.safe_load(response.content)
    assert schema["info"]["title"] == "oidc_flows management API"
    assert "orgAccessToken" in schema["components"].get("securitySchemes", {}) or not router.urls
    missing = _route_paths(router.urls) - set(schema["paths"])
    assert not missing, f"routes missing from the schema: {sorted(missing)}"


def test_the_docs_page_uses_local_assets():
    page = Client().get("/api/v1/docs")
    assert page.status_code == 200
    html = page.content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html
    assert "cdn" not in html.lower()
