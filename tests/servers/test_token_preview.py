"""Token preview: the claims a request would get and the rule that decides it, with nothing issued."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from oidc_flows.models import AccessPolicy, AccessToken, AuthorizationServer, Claim, PolicyRule, Scope
from oidc_flows.preview import preview
from tests.factories import make_client, make_user


@pytest.fixture
def payments(db) -> AuthorizationServer:
    from tests.factories import make_server

    server = make_server("payments", default_policy=False)
    Scope.objects.create(server=server, name="payments:read", description="Read payments.")
    Claim.objects.create(server=server, name="department", value="department", in_id_token=True)
    access_policy = AccessPolicy.objects.create(server=server, name="Services")
    PolicyRule.objects.create(
        policy=access_policy, name="CC 5 min", grant_types="client_credentials", access_token_seconds=300
    )
    PolicyRule.objects.create(
        policy=access_policy, name="People", grant_types="authorization_code password", priority=2
    )
    return server


def test_preview_shows_the_deciding_rule_and_the_claims(payments):
    service = make_client(app_type="service")

    result = preview(payments, service, "client_credentials", ["payments:read"])

    assert result.error == ""
    assert result.decided_by == "policy “Services”, rule “CC 5 min”"
    assert result.issued == ["access_token"]
    assert result.access_token["aud"] == "api://payments" and result.access_token["scp"] == ["payments:read"]
    assert result.access_token["exp"] - result.access_token["iat"] == 300
    assert AccessToken.objects.count() == 0  # nothing issued


def test_preview_for_a_user_includes_the_id_token(payments):
    user = make_user(attributes={"department": "Finance"})
    web = make_client(app_type="web")

    result = preview(payments, web, "authorization_code", ["openid", "profile"], user)

    assert result.decided_by.endswith("rule “People”")
    assert result.issued == ["access_token", "id_token"]
    assert result.id_token["department"] == "Finance" and result.id_token["aud"] == web.client_id
    assert result.id_token["preferred_username"] == "alice" and result.id_token["iss"] == payments.issuer


@pytest.mark.parametrize(
    ("app_type", "grant", "scopes", "error"),
    [
        ("web", "refresh_token", ["openid"], "unauthorized_client"),  # no rule allows it
        ("spa", "client_credentials", [], "unauthorized_client"),
        ("service", "client_credentials", ["nope"], "invalid_scope"),
        ("service", "client_credentials", ["openid"], "invalid_scope"),
    ],
)
def test_preview_explains_refusals(payments, app_type, grant, scopes, error):
    user = make_user() if grant != "client_credentials" else None

    result = preview(payments, make_client(app_type=app_type), grant, scopes, user)

    assert result.error == error and result.error_description
    assert result.access_token is None


def test_admin_token_preview_page(payments):
    admin = get_user_model().objects.create_superuser("root", "root@example.com", "pw")
    service = make_client(app_type="service")
    browser = Client()
    browser.force_login(admin)
    url = f"/admin/oidc_flows/authorizationserver/{payments.pk}/preview/"

    form = browser.get(url)
    page = browser.post(url, {"client": service.pk, "grant_type": "client_credentials", "scopes": "payments:read"})

    assert form.status_code == 200 and "Token preview" in form.content.decode()
    text = page.content.decode()
    assert "CC 5 min" in text and "api://payments" in text and "payments:read" in text
    assert AccessToken.objects.count() == 0
