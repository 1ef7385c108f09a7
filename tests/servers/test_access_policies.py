"""Custom authorization servers as an administrator configures them: scopes, claims, access policies.

Scenario (issue 4's "done when"): a server `payments` with scope `payments:read`, a claim `department`
taken from a user attribute, and a rule that gives service applications 5-minute tokens.
"""

from __future__ import annotations

import time

import pytest
import requests
from django.contrib.auth.models import Group
from django.core.management import call_command

from oidc_flows.access import NO_MATCH
from oidc_flows.models import AccessPolicy, AuthorizationServer, Claim, PolicyRule, RefreshToken, Scope
from tests.factories import make_client, make_server
from tests.support.jose import verify_jwt
from tests.support.oauth import AuthorizationRequest, location_params


def client_credentials(server, client, scope: str = "") -> requests.Response:
    data = {"grant_type": "client_credentials"} | ({"scope": scope} if scope else {})
    return requests.post(server.endpoint_url("token"), data=data, auth=(client.client_id, client.secret), timeout=10)


@pytest.fixture
def payments(base_url, capsys) -> AuthorizationServer:
    call_command("oidc_create_server", "payments", "--name", "Payments")
    assert "no access policy yet" in capsys.readouterr().out
    server = AuthorizationServer.objects.get(server_id="payments")
    Scope.objects.create(server=server, name="payments:read", description="Read your payments.")
    Claim.objects.create(server=server, name="department", value="department", in_access_token=True, in_id_token=True)
    return server


@pytest.fixture
def service(transactional_db):
    return make_client(app_type="service")


def five_minute_rule_for(server, *clients) -> PolicyRule:
    access_policy = AccessPolicy.objects.create(server=server, name="Services", all_clients=False)
    access_policy.clients.set(clients)
    return PolicyRule.objects.create(
        policy=access_policy, name="5 minutes", grant_types="client_credentials", access_token_seconds=300
    )


def test_a_service_gets_exactly_the_token_the_rule_describes(payments, service):
    five_minute_rule_for(payments, service)

    response = client_credentials(payments, service, "payments:read")

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["expires_in"] == 300 and body["scope"] == "payments:read"
    claims = verify_jwt(
        body["access_token"],
        jwks_url=f"{payments.issuer}/v1/keys",
        issuer=payments.issuer,
        audience="api://payments",
        typ="at+jwt",
    )
    assert claims["exp"] - claims["iat"] == 300
    assert claims["scp"] == ["payments:read"] and claims["sub"] == service.client_id
    assert "department" not in claims  # a user attribute: there is no user in client_credentials


def test_a_new_server_issues_nothing_until_a_policy_allows_it(payments, service):
    response = client_credentials(payments, service, "payments:read")

    assert response.status_code == 400
    assert response.json() == {"error": "unauthorized_client", "error_description": NO_MATCH}


def test_a_policy_applies_only_to_its_assigned_clients(payments, service):
    five_minute_rule_for(payments, make_client(app_type="service"))

    assert client_credentials(payments, service, "payments:read").json()["error"] == "unauthorized_client"


def test_a_rule_with_listed_scopes_refuses_other_scopes(payments, service):
    Scope.objects.create(server=payments, name="payments:write", description="Move your money.")
    rule = five_minute_rule_for(payments, service)
    rule.scopes = "payments:read"
    rule.save()

    assert client_credentials(payments, service, "payments:read").status_code == 200
    assert (
        client_credentials(payments, service, "payments:read payments:write").json()["error"] == "unauthorized_client"
    )


def test_the_first_matching_rule_of_the_first_policy_decides(payments, service):
    first = AccessPolicy.objects.create(server=payments, name="First", priority=1)
    second = AccessPolicy.objects.create(server=payments, name="Second", priority=2)
    PolicyRule.objects.create(policy=second, name="Long", access_token_seconds=3600)
    finance_only = PolicyRule.objects.create(policy=first, name="Finance", priority=1, access_token_seconds=600)
    finance_only.groups.add(Group.objects.create(name="finance"))  # never matches a service
    PolicyRule.objects.create(policy=first, name="Short", priority=2, access_token_seconds=120)

    assert client_credentials(payments, service).json()["expires_in"] == 120


def test_inactive_policies_and_rules_are_skipped(payments, service):
    rule = five_minute_rule_for(payments, service)
    rule.is_active = False
    rule.save()

    assert client_credentials(payments, service).json()["error"] == "unauthorized_client"


def test_users_and_groups_condition_the_code_flow(payments, browser, user):
    web = make_client(app_type="web")
    access_policy = AccessPolicy.objects.create(server=payments, name="People")
    rule = PolicyRule.objects.create(policy=access_policy, name="Finance", grant_types="authorization_code")
    rule.groups.add(Group.objects.create(name="finance"))
    auth = AuthorizationRequest(web, payments, scope="openid")

    refused = location_params(browser.authorize(auth.url))
    user.groups.add(Group.objects.get(name="finance"))
    allowed = location_params(browser.authorize(AuthorizationRequest(web, payments, scope="openid").url))

    assert refused["error"] == "access_denied" and refused["error_description"] == NO_MATCH
    assert "code" in allowed


def test_user_attribute_and_group_claims_reach_the_tokens(payments, browser, user):
    user.oidc_profile.attributes = {"department": "Finance"}
    user.oidc_profile.save()
    user.groups.add(Group.objects.create(name="app:payments"), Group.objects.create(name="staff"))
    Claim.objects.create(
        server=payments, name="groups", value_type="groups", value="app:", in_id_token=True, in_access_token=False
    )
    Claim.objects.create(server=payments, name="tier", value_type="constant", value="gold", scopes="payments:read")
    AccessPolicy.objects.create(server=payments, name="All").rules.create(name="All")
    web = make_client(app_type="web")
    auth = AuthorizationRequest(web, payments, scope="openid payments:read")

    token = auth.exchange(browser.authorize(auth.url))

    keys = f"{payments.issuer}/v1/keys"
    access = verify_jwt(token["access_token"], jwks_url=keys, issuer=payments.issuer, audience="api://payments")
    id_claims = verify_jwt(token["id_token"], jwks_url=keys, issuer=payments.issuer, audience=web.client_id)
    userinfo = requests.get(
        payments.endpoint_url("userinfo"), timeout=10, headers={"Authorization": f"Bearer {token['access_token']}"}
    ).json()
    assert access["department"] == "Finance" and access["tier"] == "gold" and "groups" not in access
    assert id_claims["department"] == "Finance" and id_claims["groups"] == ["app:payments"]
    assert userinfo["department"] == "Finance" and userinfo["groups"] == ["app:payments"]


def test_a_claim_limited_to_a_scope_is_left_out_without_it(payments, service):
    Claim.objects.create(server=payments, name="tier", value_type="constant", value="gold", scopes="payments:read")
    five_minute_rule_for(payments, service)

    without = client_credentials(payments, service).json()["access_token"]
    with_scope = client_credentials(payments, service, "payments:read").json()["access_token"]

    keys = f"{payments.issuer}/v1/keys"
    assert "tier" not in verify_jwt(without, jwks_url=keys, issuer=payments.issuer, audience="api://payments")
    assert verify_jwt(with_scope, jwks_url=keys, issuer=payments.issuer, audience="api://payments")["tier"] == "gold"


@pytest.fixture
def refresh_setup(browser, transactional_db):
    server = make_server("ledger", default_policy=False)
    AccessPolicy.objects.create(server=server, name="Apps").rules.create(
        name="Short refresh", access_token_seconds=120, refresh_token_seconds=600, refresh_token_idle_seconds=1
    )
    web = make_client(app_type="web")
    auth = AuthorizationRequest(web, server, scope="openid offline_access")
    tokens = auth.exchange(browser.authorize(auth.url))
    return server, web, tokens


def refresh(server, client, token: str) -> requests.Response:
    data = {"grant_type": "refresh_token", "refresh_token": token}
    return requests.post(server.endpoint_url("token"), data=data, auth=(client.client_id, client.secret), timeout=10)


def test_the_rule_sets_access_and_refresh_token_lifetimes(refresh_setup):
    server, web, tokens = refresh_setup

    assert tokens["expires_in"] == 120
    family = RefreshToken.objects.get(server=server, revoked__isnull=True)
    assert 590 <= (family.family_expires - family.created).total_seconds() <= 600
    assert family.idle_seconds == 1


def test_an_idle_refresh_token_expires(refresh_setup):
    server, web, tokens = refresh_setup
    time.sleep(1.2)

    response = refresh(server, web, tokens["refresh_token"])

    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"


def test_rotation_never_extends_the_family_lifetime(refresh_setup):
    server, web, tokens = refresh_setup
    RefreshToken.objects.filter(server=server).update(idle_seconds=None)
    rotated = refresh(server, web, tokens["refresh_token"]).json()
    first, second = RefreshToken.objects.filter(server=server).order_by("pk")
    assert second.family_expires == first.family_expires
    RefreshToken.objects.filter(server=server).update(family_expires="2000-01-01T00:00:00Z")

    assert refresh(server, web, rotated["refresh_token"]).json()["error"] == "invalid_grant"


def test_the_org_server_needs_no_policy(org_server, service):
    response = client_credentials(org_server, service)

    assert response.status_code == 200 and response.json()["expires_in"] == 3600
    assert response.json()["access_token"].count(".") == 0  # opaque: only the IdP's own endpoints accept it
