"""/api/v1/authorizationServers through Django's test client with real org tokens (fast): validation
with the admin's messages, ETag/If-Match, pagination, the token preview, and keys without private parts."""

from __future__ import annotations

import re

import pytest

from oidc_flows.admin.forms import PolicyRuleForm
from oidc_flows.models import AccessPolicy, AuthorizationServer, PolicyRule, Scope
from tests.factories import make_client, make_server


MANAGE, READ = "oidc_flows.servers.manage", "oidc_flows.servers.read"
SERVERS = "/api/v1/authorizationServers"
#: Members of a private JWK (RFC 7518 §6.2.2, §6.3.2): none may ever leave the IdP.
PRIVATE_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}


@pytest.fixture
def api(django_api):
    return django_api(MANAGE)


@pytest.fixture
def payments(db) -> AuthorizationServer:
    return make_server("payments", default_policy=False)


def causes(response) -> list[str]:
    return [cause["errorSummary"] for cause in response.json()["errorCauses"]]


def test_create_a_server_with_the_oidc_scopes_and_keys(api):
    created = api.post(SERVERS, {"id": "billing", "name": "Billing", "audiences": ["api://billing"]})

    assert created.status_code == 201, created.content
    body = created.json()
    assert body["issuer"].endswith("/oauth2/billing")
    assert body["audiences"] == ["api://billing"]
    assert body["status"] == "ACTIVE" and body["credentials"]["signing"]["kid"]
    scopes = api.get(f"{SERVERS}/billing/scopes?limit=200").json()
    assert {s["name"] for s in scopes} >= {"openid", "profile", "email", "offline_access"}
    assert not AccessPolicy.objects.filter(server__server_id="billing").exists()  # as Okta: issues nothing yet


def test_server_validation_names_the_field_with_the_models_message(api, payments):
    reserved = api.post(SERVERS, {"id": "v1", "name": "Nope"})
    taken = api.post(SERVERS, {"id": "payments", "name": "Again"})
    fapi = api.post(SERVERS, {"id": "bank", "name": "Bank", "fapiProfile": True, "signingAlg": "RS256"})

    assert reserved.status_code == 400
    assert reserved.json()["errorSummary"] == "Api validation failed: id"
    assert causes(reserved) == ["id: 'v1' is reserved."]
    assert causes(taken) == ["id: Authorization server with this Server id already exists."]
    assert causes(fapi) == ["signingAlg: The FAPI 2.0 Security Profile signs with ES256 or PS256 only."]
    assert not AuthorizationServer.objects.filter(server_id__in=["v1", "bank"]).exists()


def test_a_rule_naming_an_unknown_scope_gets_the_admins_message(api, payments):
    policy = api.post(f"{SERVERS}/payments/policies", {"name": "Portal"}).json()
    rule = {"name": "Code", "conditions": {"scopes": {"include": ["openid", "payments:raed"]}}}

    refused = api.post(f"{SERVERS}/payments/policies/{policy['id']}/rules", rule)

    admin_form = PolicyRuleForm(
        data={"name": "Code", "priority": 1, "scopes": "openid payments:raed", "access_token_seconds": 3600},
        instance=PolicyRule(policy=AccessPolicy.objects.get(pk=policy["id"])),
    )
    assert refused.status_code == 400
    assert refused.json()["errorSummary"] == "Api validation failed: conditions.scopes.include"
    assert causes(refused) == [f"conditions.scopes.include: {admin_form.errors['scopes'][0]}"]
    assert "payments:raed: not a scope of payments" in causes(refused)[0]
    assert not PolicyRule.objects.filter(policy__server=payments).exists()


def test_the_org_server_has_no_policies_and_keeps_its_oidc_scopes(api):
    org = AuthorizationServer.objects.get(is_org=True)
    openid = Scope.objects.get(server=org, name="openid")

    policy = api.post(f"{SERVERS}/{org.server_id}/policies", {"name": "Nope"})
    deleted = api.delete(f"{SERVERS}/{org.server_id}/scopes/{openid.pk}")
    deactivated = api.post(f"{SERVERS}/{org.server_id}/lifecycle/deactivate")

    assert policy.status_code == deleted.status_code == deactivated.status_code == 400
    assert "no access policies" in causes(policy)[0]
    assert causes(deleted) == ["system: openid is an OpenID Connect scope: every server keeps it."]
    assert Scope.objects.filter(pk=openid.pk).exists()
    assert AuthorizationServer.objects.get(is_org=True).is_active


def test_a_stale_if_match_on_a_scope_is_refused_with_412(api, payments):
    scope = api.post(f"{SERVERS}/payments/scopes", {"name": "payments:read", "description": "Read"}).json()
    url = f"{SERVERS}/payments/scopes/{scope['id']}"
    read = api.get(url)
    etag = read.headers["ETag"]

    first = api.patch(url, {"description": "Read your payments"}, headers={"If-Match": etag})
    second = api.patch(url, {"description": "Something else"}, headers={"If-Match": etag})

    assert first.status_code == 200 and first.headers["ETag"] != etag
    assert second.status_code == 412
    assert Scope.objects.get(pk=scope["id"]).description == "Read your payments"


def test_scopes_are_paged_with_link_headers(api, payments):
    for n in range(5):
        Scope.objects.create(server=payments, name=f"payments:s{n}", description=f"scope {n}")
    seen, url = [], f"{SERVERS}/payments/scopes?limit=4"
    while url:
        page = api.get(url)
        assert page.status_code == 200
        assert len(page.json()) <= 4
        seen += [s["name"] for s in page.json()]
        following = re.search(r'<([^>]+)>; rel="next"', page.headers["Link"])
        url = following.group(1).removeprefix("http://testserver") if following else None

    assert sorted(seen) == sorted(Scope.objects.filter(server=payments).values_list("name", flat=True))
    assert len(seen) == len(set(seen)) == 11  # six OpenID Connect scopes and five of ours
    assert [s["name"] for s in api.get(f"{SERVERS}/payments/scopes?q=payments:s").json()] == [
        f"payments:s{n}" for n in range(5)
    ]


def test_token_preview_shows_the_deciding_rule_and_the_claims(api, payments):
    service = make_client(app_type="service")
    Scope.objects.create(server=payments, name="payments:read", description="Read")
    api.post(f"{SERVERS}/payments/claims", {"name": "tier", "valueType": "CONSTANT", "value": "gold"})
    policy = api.post(f"{SERVERS}/payments/policies", {"name": "Jobs"}).json()
    api.post(
        f"{SERVERS}/payments/policies/{policy['id']}/rules",
        {
            "name": "Five minutes",
            "conditions": {"grantTypes": {"include": ["client_credentials"]}},
            "actions": {"token": {"accessTokenLifetimeSeconds": 300}},
        },
    )

    url = f"{SERVERS}/payments/tokenPreview?clientId={service.client_id}&grantType=client_credentials"
    result = api.get(f"{url}&scope=payments:read").json()
    unknown = api.get(f"{SERVERS}/payments/tokenPreview?clientId=nobody&grantType=client_credentials")

    assert result["error"] == "" and result["decidedBy"] == "policy “Jobs”, rule “Five minutes”"
    token = result["accessToken"]
    assert token["scp"] == ["payments:read"] and token["tier"] == "gold"
    assert token["exp"] - token["iat"] == 300 and token["aud"] == "api://payments"
    assert unknown.status_code == 400 and causes(unknown)[0].startswith("clientId: Select a valid choice.")


def test_keys_show_public_parts_only_and_rotate(api, payments):
    before = api.get(f"{SERVERS}/payments/credentials/keys").json()
    upcoming = next(k["kid"] for k in before if k["status"] == "NEXT")

    rotated = api.post(f"{SERVERS}/payments/credentials/lifecycle/keyRotate", {"use": "sig"})

    assert rotated.status_code == 200, rotated.content
    after = {k["kid"]: k["status"] for k in rotated.json()}
    assert after[upcoming] == "ACTIVE" and list(after.values()).count("NEXT") == 1
    for key in before + rotated.json():
        assert not PRIVATE_MEMBERS & key.keys(), key
        assert {"kid", "kty", "alg", "use", "status"} <= key.keys()
    assert api.get(f"{SERVERS}/payments").json()["credentials"]["signing"]["kid"] == upcoming


def test_changing_the_signing_algorithm_rotates_the_key_as_the_admin_does(api, payments):
    before = api.get(f"{SERVERS}/payments").json()["credentials"]["signing"]

    changed = api.patch(f"{SERVERS}/payments", {"signingAlg": "ES256"})

    assert changed.status_code == 200, changed.content
    signing = changed.json()["credentials"]["signing"]
    assert (before["alg"], signing["alg"]) == ("RS256", "ES256") and signing["kid"] != before["kid"]
    published = {k["kid"]: k["status"] for k in api.get(f"{SERVERS}/payments/credentials/keys").json()}
    assert published[before["kid"]] == "EXPIRED"  # retired, still published for the tokens it signed


def test_a_read_token_reads_but_cannot_write(django_api, payments):
    reader = django_api(READ)

    assert reader.get(f"{SERVERS}/payments").status_code == 200
    refused = reader.post(f"{SERVERS}/payments/scopes", {"name": "x", "description": "x"})
    assert refused.status_code == 403
    assert 'error="insufficient_scope"' in refused.headers["WWW-Authenticate"]
    assert not Scope.objects.filter(name="x").exists()
