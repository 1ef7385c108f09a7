"""The FAPI 2.0 switch and the signing algorithm on a server's admin page (Django's test client).

Scenario: a superuser signed into /admin/ and the custom server ``bank``, made with RS256 keys; an
application's page for the warning a FAPI server gives.
"""

from __future__ import annotations

import pytest
from django import forms
from django.test import Client
from django.utils.html import escape

from oidc_flows import keys, policy, profiles
from oidc_flows.models import AuthorizationServer, SigningKey
from tests.factories import make_client, make_server


@pytest.fixture
def bank(db) -> AuthorizationServer:
    return make_server("bank")


def change_url(server: AuthorizationServer) -> str:
    return f"/admin/oidc_flows/authorizationserver/{server.pk}/change/"


def form_data(page) -> dict:
    """What the browser would post back unchanged: the form's values and its inlines' management data."""
    data = {}
    form = page.context["adminform"].form
    for name, field in form.fields.items():
        value = form[name].value()
        if isinstance(field, forms.BooleanField):
            if value:
                data[name] = "on"
        elif value is not None:
            data[name] = value
    for inline in page.context["inline_admin_formsets"]:
        formset = inline.formset
        data |= {f"{formset.prefix}-{k}": v for k, v in formset.management_form.initial.items()}
        for each in formset.initial_forms:
            for name in each.fields:
                value = each[name].value()
                if value not in (None, False):
                    data[each.add_prefix(name)] = "on" if value is True else value
    return data


def save(admin_client: Client, server: AuthorizationServer, **changes):
    data = form_data(admin_client.get(change_url(server)))
    for name, value in changes.items():
        if value is False:
            data.pop(name, None)
        else:
            data[name] = "on" if value is True else value
    return admin_client.post(change_url(server), data, follow=True)


def active_alg(server: AuthorizationServer) -> str:
    return SigningKey.objects.get(server=server, status="active").alg


def test_the_page_explains_the_switch_from_the_profiles_rules(admin_client, bank):
    page = admin_client.get(change_url(bank)).content.decode()

    for rule in profiles.rules(policy.FAPI2):
        assert escape(rule) in page
    assert "60 seconds" in page and "private_key_jwt" in page  # the data, not a second copy of it
    assert "FAPI 2.0 Security Profile: off" in page and "active RS256" in page


def test_switching_on_with_an_rs256_key_rotates_to_ps256(admin_client, bank):
    old = SigningKey.objects.get(server=bank, status="active")

    response = save(admin_client, bank, fapi_profile=True)

    bank.refresh_from_db()
    old.refresh_from_db()
    assert response.status_code == 200 and bank.fapi_profile
    assert active_alg(bank) == "PS256" and SigningKey.objects.get(server=bank, status="next").alg == "PS256"
    assert old.status == "retired" and old in keys.published(bank)  # its tokens keep verifying
    assert "now signs with a PS256 key" in response.content.decode()
    page = admin_client.get(change_url(bank)).content.decode()
    assert "FAPI 2.0 Security Profile: on" in page and "active PS256, next PS256" in page


def test_an_algorithm_the_profile_forbids_is_refused_with_a_reason(admin_client, bank):
    save(admin_client, bank, signing_alg="ES256")
    assert active_alg(bank) == "ES256"

    response = save(admin_client, bank, fapi_profile=True, signing_alg="RS256")

    bank.refresh_from_db()
    assert response.status_code == 200 and not bank.fapi_profile
    assert "signs with ES256 or PS256 only" in response.content.decode()
    assert active_alg(bank) == "ES256"


def test_an_allowed_key_stays_when_the_switch_goes_on(admin_client, bank):
    save(admin_client, bank, signing_alg="ES256")
    es256 = SigningKey.objects.get(server=bank, status="active")

    save(admin_client, bank, fapi_profile=True)

    assert SigningKey.objects.get(server=bank, status="active") == es256


def test_choosing_another_algorithm_rotates_now(admin_client, bank):
    upcoming = SigningKey.objects.get(server=bank, status="next")

    save(admin_client, bank, signing_alg="PS256")

    upcoming.refresh_from_db()
    assert active_alg(bank) == "PS256"
    assert upcoming.status == "retired" and upcoming.activated_at is None  # the RS256 next key never signed


def test_a_new_server_with_the_switch_gets_ps256_keys_only(admin_client, db):
    data = {
        "server_id": "bank",
        "name": "Bank",
        "key_rotation_days": 90,
        "is_active": "on",
        "default_policy": "on",
        "fapi_profile": "on",
        "signing_alg": "RS256",  # the default, left alone
    }

    response = admin_client.post("/admin/oidc_flows/authorizationserver/add/", data)

    assert response.status_code == 302, response.context["adminform"].form.errors
    server = AuthorizationServer.objects.get(server_id="bank")
    assert server.fapi_profile
    assert sorted(SigningKey.objects.filter(server=server).values_list("alg", "status")) == [
        ("PS256", "active"),
        ("PS256", "next"),
    ]


def test_an_application_page_warns_when_a_fapi_server_refuses_it(admin_client, bank):
    web = make_client(app_type="web")  # client_secret_basic; default policies admit every application
    bank.fapi_profile = True
    bank.save()

    page = admin_client.get(f"/admin/oidc_flows/application/{web.pk}/change/").content.decode()

    assert "Gets no tokens here" in page and "private_key_jwt" in page
    assert page.count("Gets no tokens here") == 1  # only at bank, not at default or the org server
