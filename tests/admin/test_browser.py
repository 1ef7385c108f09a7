"""The admin in a real browser: what an administrator does first, end to end against the live server.

Scenario: sign in as a superuser; create one application of each type (reading the secret the page
shows once); rotate a service's secret and use both at /token; create a server with a scope and an
access policy rule; run the token preview. Screenshots go to artifacts/screenshots/.
"""

from __future__ import annotations

import pytest
import requests
from django.contrib.auth.hashers import check_password

from oidc_flows.models import AccessPolicy, Application, AuthorizationServer, PolicyRule, Scope
from tests.admin.conftest import screenshot
from tests.factories import make_client, make_server


TYPE_FORMS = {
    "web": {"#id_redirect_uris": "https://web.example/cb"},
    "spa": {"#id_redirect_uris": "https://spa.example/cb", "#id_allowed_origins": "https://spa.example"},
    "native": {"#id_redirect_uris": "com.example.app:/callback\nhttp://127.0.0.1/callback"},
    "service": {},
}


def client_credentials(server: AuthorizationServer, client_id: str, secret: str) -> requests.Response:
    return requests.post(
        server.endpoint_url("token"), data={"grant_type": "client_credentials"}, auth=(client_id, secret), timeout=10
    )


@pytest.mark.parametrize("app_type", list(TYPE_FORMS))
def test_add_application_starts_from_its_type_and_shows_the_secret_once(admin_page, app_type):
    page = admin_page
    page.goto("/admin/oidc_flows/application/add/")
    page.click(f"a[data-app-type={app_type}]")
    page.fill("#id_name", f"My {app_type} app")
    for selector, value in TYPE_FORMS[app_type].items():
        page.fill(selector, value)
    if app_type == "service":
        assert page.locator("#id_redirect_uris").count() == 0  # a service never redirects
    assert (page.locator("#id_allowed_origins").count() == 1) is (app_type == "spa")

    page.click("input[name=_save]")

    page.wait_for_selector("text=Added")
    screenshot(page, f"application-added-{app_type}")
    client = Application.objects.get(name=f"My {app_type} app")
    secrets = page.locator("code.oidc-secret")
    if client.rule.confidential:
        secret = secrets.inner_text().strip()
        assert client.client_secret.startswith("oidc_hmac_sha256$") and secret not in client.client_secret
        assert check_password(secret, client.client_secret)
        page.reload()
        assert page.locator("code.oidc-secret").count() == 0  # shown once
    else:
        assert secrets.count() == 0 and client.client_type == Application.CLIENT_PUBLIC


def test_rotating_a_secret_shows_the_new_one_and_the_old_one_stops_working(admin_page, default_server):
    page = admin_page
    service = make_client(app_type="service")
    assert client_credentials(default_server, service.client_id, service.secret).status_code == 200

    page.goto(f"/admin/oidc_flows/application/{service.pk}/change/")
    page.click("#rotate-secret")
    screenshot(page, "rotate-secret-confirm")
    page.click("input[type=submit][value^='Yes']")

    new_secret = page.locator("code.oidc-secret").inner_text().strip()
    screenshot(page, "rotate-secret-done")
    assert new_secret and new_secret != service.secret
    assert client_credentials(default_server, service.client_id, service.secret).status_code == 401
    assert client_credentials(default_server, service.client_id, new_secret).status_code == 200


def test_create_a_server_with_a_scope_and_a_rule(admin_page):
    page = admin_page
    page.goto("/admin/oidc_flows/authorizationserver/add/")
    page.fill("#id_server_id", "payments")
    page.fill("#id_name", "Payments")
    page.uncheck("#id_default_policy")
    page.click("input[name=_save]")
    page.wait_for_selector("#scopes-panel")
    server = AuthorizationServer.objects.get(server_id="payments")

    page.click("#scopes-panel a.addlink")
    page.fill("#id_name", "payments:read")
    page.fill("#id_description", "Read your payments.")
    page.click("input[name=_save]")
    page.wait_for_selector("text=Scopes of Payments")

    page.goto("/admin/oidc_flows/accesspolicy/add/")
    page.select_option("#id_server", str(server.pk))
    page.fill("#id_name", "Services")
    page.click("#rules-group .add-row a")
    page.fill("#id_rules-0-name", "CC 5 min")
    page.check("#rules-group input[value=client_credentials]")
    page.fill("#id_rules-0-scopes", "payments:read")
    page.fill("#id_rules-0-access_token_seconds", "300")
    page.click("input[name=_save]")
    page.wait_for_selector("text=was added successfully")

    page.goto(f"/admin/oidc_flows/authorizationserver/{server.pk}/change/")
    screenshot(page, "server-page")
    assert Scope.objects.filter(server=server, name="payments:read").exists()
    rule = PolicyRule.objects.get(policy__server=server)
    assert (rule.name, rule.grant_types, rule.scopes, rule.access_token_seconds) == (
        "CC 5 min",
        "client_credentials",
        "payments:read",
        300,
    )
    assert page.locator("#scopes-panel").inner_text().count("payments:read") == 1


def test_a_rule_naming_an_unknown_scope_says_what_to_do(admin_page):
    page = admin_page
    server = make_server("payments", default_policy=False)
    access_policy = AccessPolicy.objects.create(server=server, name="Services")

    page.goto(f"/admin/oidc_flows/accesspolicy/{access_policy.pk}/change/")
    page.click("#rules-group .add-row a")
    page.fill("#id_rules-0-name", "Typo")
    page.fill("#id_rules-0-scopes", "payments:raed")
    page.click("input[name=_save]")

    error = page.locator("#rules-group .errorlist").first.inner_text()
    screenshot(page, "rule-validation-error")
    assert "payments:raed: not a scope of payments" in error and "Add it under the server's scopes" in error


def test_token_preview(admin_page):
    page = admin_page
    server = make_server("payments", default_policy=False)
    Scope.objects.create(server=server, name="payments:read", description="Read payments.")
    access_policy = AccessPolicy.objects.create(server=server, name="Services")
    PolicyRule.objects.create(
        policy=access_policy, name="CC 5 min", grant_types="client_credentials", access_token_seconds=300
    )
    service = make_client(app_type="service")

    page.goto(f"/admin/oidc_flows/authorizationserver/{server.pk}/change/")
    page.click("#token-preview-link")
    page.select_option("#id_client", str(service.pk))
    page.select_option("#id_grant_type", "client_credentials")
    page.click(".oidc-scope-picker button:text-is('payments:read')")
    page.click("input[type=submit][value='Preview tokens']")

    decision = page.locator("#preview-decision").inner_text()
    screenshot(page, "token-preview")
    assert "CC 5 min" in decision and "access_token" in decision
    claims = page.locator("#preview-access-token-panel").inner_text()
    assert "api://payments" in claims and "payments:read" in claims
