"""Invariants of the protocol table (policy.py), against expectations written by hand from the seeds.

Seed 001 (grant types table): authorization_code and password give an access token plus a refresh
token with offline_access and an ID token with openid; client_credentials gives an access token
only. Seed 003 (flow by application type): web uses the code flow, SPAs and native apps the code
flow with PKCE (they are public), services client credentials and no user, so no redirects.
None of the expected values below is computed from policy.py.
"""

from __future__ import annotations

import pytest

from oidc_flows import policy


#: Seed 003 and OAuth 2.0 Multiple Response Types §3-5: the seven response_type values.
RESPONSE_TYPES = {
    "code": "authorization_code",
    "code id_token": "authorization_code",
    "code token": "authorization_code",
    "code id_token token": "authorization_code",
    "token": "implicit",
    "id_token": "implicit",
    "id_token token": "implicit",
}
PUBLIC_TYPES = ("spa", "native")
CONFIDENTIAL_TYPES = ("web", "service")


def test_the_table_knows_exactly_the_seven_response_types():
    assert {policy.response_type_rule(raw) is not None for raw in RESPONSE_TYPES} == {True}
    assert {frozenset(key.split()) for key in policy.RESPONSE_TYPES} == {frozenset(k.split()) for k in RESPONSE_TYPES}


@pytest.mark.parametrize(("response_type", "grant"), RESPONSE_TYPES.items())
def test_each_response_type_requires_the_grant_of_its_flow(response_type, grant):
    assert policy.response_type_rule(response_type).requires == grant


@pytest.mark.parametrize("response_type", RESPONSE_TYPES)
def test_every_response_type_is_usable_by_some_application_type(response_type):
    required = policy.response_type_rule(response_type).requires
    holders = [t for t, rule in policy.APP_TYPES.items() if required in rule.grants]
    assert holders, f"no application type can hold {required} for response_type={response_type}"


def test_a_service_uses_client_credentials_and_never_redirects():
    service = policy.APP_TYPES[policy.AppType("service")]
    assert service.default_grants == {"client_credentials"}
    # An API that calls another on a user's behalf (RFC 8693): only when an administrator enables it.
    assert service.optional_grants == {"urn:ietf:params:oauth:grant-type:token-exchange"}
    assert not service.redirects


def test_token_exchange_gives_an_access_token_only_and_only_on_custom_servers():
    exchange = "urn:ietf:params:oauth:grant-type:token-exchange"
    assert policy.issued_at_token_endpoint(exchange, frozenset({"openid", "offline_access"})) == {"access_token"}
    assert exchange in policy.CUSTOM_SERVER_GRANTS
    assert exchange not in policy.FAPI2.grants


@pytest.mark.parametrize("app_type", PUBLIC_TYPES)
def test_public_application_types_require_pkce_and_keep_no_secret(app_type):
    rule = policy.APP_TYPES[policy.AppType(app_type)]
    assert rule.pkce_required
    assert not rule.confidential


@pytest.mark.parametrize("app_type", CONFIDENTIAL_TYPES)
def test_confidential_application_types_keep_a_secret(app_type):
    assert policy.APP_TYPES[policy.AppType(app_type)].confidential


@pytest.mark.parametrize("app_type", ["web", "spa", "native"])
def test_user_facing_application_types_get_the_code_flow_by_default(app_type):
    assert "authorization_code" in policy.APP_TYPES[policy.AppType(app_type)].default_grants


@pytest.mark.parametrize(
    ("app_type", "grant", "allowed"),
    [
        ("service", "authorization_code", False),
        ("service", "password", False),
        ("spa", "client_credentials", False),  # a public client has nothing to authenticate with
        ("native", "client_credentials", False),
        ("web", "authorization_code", True),
        ("service", "client_credentials", True),
    ],
)
def test_may_use(app_type, grant, allowed):
    assert policy.may_use(app_type, grant) is allowed


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        ("token id_token", "id_token token"),
        ("id_token code", "code id_token"),
        ("token code", "code token"),
        ("token id_token code", "code id_token token"),
        ("id_token token code", "code id_token token"),
    ],
)
def test_response_type_rule_ignores_word_order(raw, canonical):
    assert policy.response_type_rule(raw) is not None
    assert policy.response_type_rule(raw) == policy.response_type_rule(canonical)


@pytest.mark.parametrize("raw", ["", "none", "code code_challenge", "tokens", "id_token  bogus"])
def test_response_type_rule_refuses_unknown_values(raw):
    assert policy.response_type_rule(raw) is None


@pytest.mark.parametrize(
    ("grant", "scopes", "issued"),
    [
        ("client_credentials", "openid offline_access", {"access_token"}),
        ("client_credentials", "", {"access_token"}),
        ("authorization_code", "", {"access_token"}),
        ("authorization_code", "openid", {"access_token", "id_token"}),
        ("authorization_code", "offline_access", {"access_token", "refresh_token"}),
        ("authorization_code", "openid offline_access", {"access_token", "id_token", "refresh_token"}),
        ("password", "openid offline_access", {"access_token", "id_token", "refresh_token"}),
        ("password", "profile", {"access_token"}),
    ],
)
def test_tokens_issued_at_the_token_endpoint(grant, scopes, issued):
    assert policy.issued_at_token_endpoint(grant, frozenset(scopes.split())) == issued


def test_plain_pkce_is_not_offered():
    assert policy.CODE_CHALLENGE_METHODS == ("S256",)
