"""The admin's client authentication settings: the method, the assertion algorithm and the public keys
(RFC 7523), and the secret of a client_secret_jwt application, shown once and kept sealed.

Scenario: a superuser signed into /admin/ (Django's test client); the applications prove themselves
at /token afterwards, with assertions made by joserfc.
"""

from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest
from django.test import Client
from joserfc.jwk import ECKey, OctKey, RSAKey

from oidc_flows import sealing
from oidc_flows.models import Application, AuthorizationServer
from tests.factories import make_client
from tests.support.assertions import assertion_form, claims_for, public_jwks, signed


APPS = "/admin/oidc_flows/application/"


@pytest.fixture(scope="module")
def rsa_key() -> RSAKey:
    return RSAKey.generate_key(2048, private=True)


def token_url() -> str:
    return AuthorizationServer.objects.get(server_id="default").endpoint_url("token")


def assertion_status(client_id: str, assertion: str) -> int:
    response = Client().post(
        "/oauth2/default/v1/token",
        urlencode({"grant_type": "client_credentials", **assertion_form(assertion)}),
        content_type="application/x-www-form-urlencoded",
    )
    return response.status_code


def shown_secret(response) -> str:
    message = next(m.message for m in response.context["messages"] if "oidc-secret" in m.tags)
    return message.split('class="oidc-secret"')[1].split(">", 1)[1].split("<", 1)[0]


def service_form(**fields) -> dict:
    return {
        "name": "Ledger",
        "client_id": "ledger",
        "grant_types": ["client_credentials"],
        "token_endpoint_auth_method": "client_secret_basic",
        "is_active": "on",
        **fields,
    }


def add_service(admin_client: Client, **fields):
    return admin_client.post(f"{APPS}add/?application_type=service", service_form(**fields), follow=True)


def form_errors(response) -> dict:
    return response.context["adminform"].form.errors


@pytest.mark.parametrize(
    ("app_type", "present", "absent"),
    [
        ("service", ["jwks", "jwks_uri", "token_endpoint_auth_signing_alg", "token_endpoint_auth_method"], []),
        ("web", ["jwks", "jwks_uri", "token_endpoint_auth_signing_alg"], []),
        # Public clients sign no assertions (their method is "none"); their keys serve signed request objects.
        ("spa", ["jwks", "jwks_uri"], ["token_endpoint_auth_signing_alg", "token_endpoint_auth_method"]),
    ],
)
def test_each_type_form_has_its_key_settings(admin_client, app_type, present, absent):
    form = admin_client.get(f"{APPS}add/", {"application_type": app_type}).context["adminform"].form

    assert set(present) <= set(form.fields) and not set(absent) & set(form.fields)


def test_the_method_choices_of_a_confidential_type_include_the_assertions(admin_client):
    form = admin_client.get(f"{APPS}add/", {"application_type": "service"}).context["adminform"].form

    methods = [value for value, _ in form.fields["token_endpoint_auth_method"].choices]
    assert methods == ["client_secret_basic", "client_secret_post", "client_secret_jwt", "private_key_jwt"]


def test_a_private_key_jwt_service_registered_in_the_admin_authenticates_with_its_key(admin_client, rsa_key):
    response = add_service(
        admin_client, token_endpoint_auth_method="private_key_jwt", jwks=json.dumps(public_jwks(rsa_key))
    )

    assert response.status_code == 200 and not response.context.get("errors")
    app = Application.objects.get(client_id="ledger")
    assert app.jwks == public_jwks(rsa_key) and app.sealed_client_secret == ""
    assert assertion_status("ledger", signed(claims_for("ledger", token_url()), rsa_key, "RS256")) == 200


@pytest.mark.parametrize(
    ("fields", "field", "says"),
    [
        ({"token_endpoint_auth_method": "private_key_jwt"}, "jwks", "needs the application's public keys"),
        ({"jwks": '{"keys": []}'}, "jwks", "non-empty"),
        ({"jwks": "{not json"}, "jwks", "JSON"),
        ({"jwks": "private"}, "jwks", "private key material"),
        ({"jwks": "oct"}, "jwks", "Symmetric keys"),
        ({"jwks": "public", "jwks_uri": "https://ledger.example/jwks.json"}, "jwks_uri", "not both"),
        ({"jwks_uri": "http://ledger.example/jwks.json"}, "jwks_uri", "https"),
        (
            {
                "token_endpoint_auth_method": "private_key_jwt",
                "jwks": "public",
                "token_endpoint_auth_signing_alg": "HS256",
            },
            "token_endpoint_auth_signing_alg",
            "not an algorithm of private_key_jwt",
        ),
        ({"token_endpoint_auth_signing_alg": "RS256"}, "token_endpoint_auth_signing_alg", "Only for private_key_jwt"),
    ],
    ids=[
        "private_key_jwt-without-keys",
        "empty-set",
        "not-json",
        "private-key",
        "symmetric-key",
        "inline-and-uri",
        "plain-http-uri",
        "hmac-alg-for-a-key",
        "alg-for-a-secret-method",
    ],
)
def test_key_settings_that_cannot_work_are_refused(admin_client, rsa_key, fields, field, says):
    jwks = {
        "public": json.dumps(public_jwks(rsa_key)),
        "private": json.dumps({"keys": [rsa_key.as_dict(private=True)]}),
        "oct": json.dumps({"keys": [OctKey.generate_key(256).as_dict(private=True)]}),
    }
    if fields.get("jwks") in jwks:
        fields = fields | {"jwks": jwks[fields["jwks"]]}

    response = add_service(admin_client, **fields)

    assert says in " ".join(form_errors(response)[field])
    assert not Application.objects.filter(client_id="ledger").exists()


def test_a_client_secret_jwt_service_gets_its_secret_once_and_the_server_keeps_it_sealed(admin_client):
    response = add_service(admin_client, token_endpoint_auth_method="client_secret_jwt")

    secret = shown_secret(response)
    app = Application.objects.get(client_id="ledger")
    assert app.sealed_client_secret and secret not in app.sealed_client_secret
    assert sealing.unseal(app.sealed_client_secret) == secret
    assert secret not in admin_client.get(f"{APPS}{app.pk}/change/").content.decode()
    hs256 = signed(claims_for("ledger", token_url()), OctKey.import_key(secret), "HS256")
    assert assertion_status("ledger", hs256) == 200


def test_switching_to_client_secret_jwt_issues_a_new_secret_and_switching_back_forgets_it(admin_client):
    service = make_client(app_type="service", client_id="ledger")
    change = f"{APPS}{service.pk}/change/"

    switched = admin_client.post(change, service_form(token_endpoint_auth_method="client_secret_jwt"), follow=True)

    # The old secret's hash cannot give the HMAC key back: a new secret, shown once, replaces it.
    new_secret = shown_secret(switched)
    assert new_secret != service.secret
    hs256 = signed(claims_for("ledger", token_url()), OctKey.import_key(new_secret), "HS256")
    assert assertion_status("ledger", hs256) == 200
    stale = signed(claims_for("ledger", token_url()), OctKey.import_key(service.secret), "HS256")
    assert assertion_status("ledger", stale) == 401

    admin_client.post(change, service_form(token_endpoint_auth_method="client_secret_basic"), follow=True)
    assert Application.objects.get(pk=service.pk).sealed_client_secret == ""


def test_rotating_a_client_secret_jwt_secret_reseals_it(admin_client):
    service = make_client(app_type="service", token_endpoint_auth_method="client_secret_jwt")

    response = admin_client.post(f"{APPS}{service.pk}/rotate-secret/", {"confirm": "yes"}, follow=True)

    new_secret = shown_secret(response)
    old = signed(claims_for(service.client_id, token_url()), OctKey.import_key(service.secret), "HS256")
    new = signed(claims_for(service.client_id, token_url()), OctKey.import_key(new_secret), "HS256")
    assert assertion_status(service.client_id, old) == 401
    assert assertion_status(service.client_id, new) == 200


def test_registration_keeps_the_sealed_secret_only_for_client_secret_jwt(db):
    ec_key = ECKey.generate_key("P-256", private=True)
    secret_jwt = make_client(app_type="service", token_endpoint_auth_method="client_secret_jwt")
    key_jwt = make_client(app_type="service", token_endpoint_auth_method="private_key_jwt", jwks=public_jwks(ec_key))
    basic = make_client(app_type="service")

    assert sealing.unseal(secret_jwt.sealed_client_secret) == secret_jwt.secret
    assert key_jwt.sealed_client_secret == "" and basic.sealed_client_secret == ""
