"""The admin's application form reads its choices from policy.py and enforces the type's rules."""

from __future__ import annotations

import pytest

from oidc_flows import policy
from oidc_flows.admin import ApplicationForm


def form(**data) -> ApplicationForm:
    base = {
        "name": "App",
        "client_id": "app-1",
        "redirect_uris": "https://rp.example/cb",
        "token_endpoint_auth_method": "client_secret_basic",
        "is_active": True,
    }
    return ApplicationForm(data=base | data)


@pytest.mark.django_db
def test_grant_choices_are_the_protocol_tables():
    assert [c for c, _ in form().fields["grant_types"].choices] == [g.value for g in policy.Grant]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("app_type", "grants", "ok"),
    [
        ("web", ["authorization_code", "password"], True),
        ("spa", ["authorization_code", "password"], False),
        ("service", ["client_credentials"], True),
        ("native", ["client_credentials"], False),
    ],
)
def test_grants_a_type_may_not_hold_are_refused(app_type, grants, ok):
    data = {"application_type": app_type, "grant_types": grants}
    if app_type == "service":
        data["redirect_uris"] = ""
    f = form(**data)

    assert f.is_valid() is ok, f.errors
    if not ok:
        assert "cannot use" in str(f.errors["grant_types"])


@pytest.mark.django_db
@pytest.mark.parametrize("uri", ["javascript:alert(1)", "https://rp.example/out#frag", "http://rp.example/out"])
def test_unsafe_post_logout_redirect_uris_are_refused(uri):
    f = form(application_type="web", post_logout_redirect_uris=uri)

    assert not f.is_valid()
    assert "post_logout_redirect_uris" in f.errors
