"""Custom claims: validation of their definitions and how values are resolved."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError

from oidc_flows.claims import claim_value, custom_claims
from oidc_flows.models import AuthorizationServer, Claim
from tests.factories import make_user


@pytest.fixture
def server(db) -> AuthorizationServer:
    return AuthorizationServer.objects.get(server_id="default")


@pytest.mark.parametrize("name", ["sub", "iss", "aud", "exp", "scp", "cid", "nonce"])
def test_protocol_claims_cannot_be_redefined(server, name):
    with pytest.raises(ValidationError):
        Claim(server=server, name=name, value="x").full_clean()


def test_a_claim_must_go_somewhere(server):
    with pytest.raises(ValidationError):
        Claim(server=server, name="x", value="x", in_access_token=False, in_id_token=False).full_clean()


def test_a_bad_group_regex_is_refused(server):
    with pytest.raises(ValidationError):
        Claim(server=server, name="g", value_type="groups", group_filter="regex", value="(").full_clean()


@pytest.mark.parametrize(
    ("group_filter", "value", "expected"),
    [
        ("starts_with", "app:", ["app:billing", "app:payments"]),
        ("equals", "staff", ["staff"]),
        ("contains", "pay", ["app:payments"]),
        ("regex", r"app:(bill|pay)\w+", ["app:billing", "app:payments"]),
    ],
)
def test_group_filters(server, group_filter, value, expected):
    user = make_user()
    for name in ("app:payments", "app:billing", "staff"):
        user.groups.add(Group.objects.create(name=name))

    claim = Claim(server=server, name="g", value_type="groups", group_filter=group_filter, value=value)

    assert claim_value(claim, user) == expected


def test_attributes_come_from_standard_claims_or_custom_attributes_only(server):
    user = make_user(attributes={"department": "Finance"})

    def value(name):
        return claim_value(Claim(server=server, name="c", value=name), user)

    assert value("department") == "Finance"
    assert value("email") == "alice@example.com"
    assert value("password") is None  # never the hash
    assert value("is_superuser") is None


def test_inactive_and_empty_claims_are_left_out(server):
    user = make_user()
    Claim.objects.create(server=server, name="off", value_type="constant", value="x", is_active=False)
    Claim.objects.create(server=server, name="missing", value="department")

    assert custom_claims(server, user, frozenset({"openid"}), for_id_token=False) == {}
