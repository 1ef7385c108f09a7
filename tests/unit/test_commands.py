"""The management commands an administrator runs: create a server, an application, a user."""

from __future__ import annotations

import io
import re

import pytest
from django.contrib.auth import authenticate
from django.contrib.auth.hashers import check_password
from django.core.management import CommandError, call_command

from oidc_flows.models import Application, AuthorizationServer, Scope, SigningKey


pytestmark = pytest.mark.django_db

SYSTEM_SCOPES = {"openid", "profile", "email", "address", "phone", "offline_access"}
SECRET = "s3cret-long-value-0123456789"


def run(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_create_server_makes_a_usable_server():
    run("oidc_create_server", "payments", "--name", "Payments")

    server = AuthorizationServer.objects.get(server_id="payments")
    assert server.name == "Payments"
    assert server.issuer.endswith("/oauth2/payments")
    assert set(Scope.objects.filter(server=server, is_system=True).values_list("name", flat=True)) == SYSTEM_SCOPES
    assert SigningKey.objects.filter(server=server, status="active").count() == 1


def test_create_server_twice_is_refused():
    run("oidc_create_server", "payments", "--name", "Payments")
    with pytest.raises(CommandError, match="payments"):
        run("oidc_create_server", "payments", "--name", "Payments again")
    assert AuthorizationServer.objects.get(server_id="payments").name == "Payments"


def test_create_server_with_the_fapi_profile_has_ps256_keys_only():
    out = run("oidc_create_server", "bank", "--fapi", "--default-policy")

    server = AuthorizationServer.objects.get(server_id="bank")
    assert server.fapi_profile and "PS256 (FAPI 2.0 Security Profile)" in out
    assert set(SigningKey.objects.filter(server=server).values_list("alg", flat=True)) == {"PS256"}


@pytest.mark.parametrize(("args", "alg"), [(["--alg", "ES256"], "ES256"), (["--fapi", "--alg", "ES256"], "ES256")])
def test_create_server_with_a_chosen_algorithm(args, alg):
    run("oidc_create_server", "bank", *args)

    assert set(SigningKey.objects.filter(server__server_id="bank").values_list("alg", flat=True)) == {alg}


def test_create_server_with_the_fapi_profile_and_rs256_is_refused():
    with pytest.raises(CommandError, match="ES256 or PS256 only"):
        run("oidc_create_server", "bank", "--fapi", "--alg", "RS256")
    assert not AuthorizationServer.objects.filter(server_id="bank").exists()


@pytest.mark.parametrize("server_id", ["v1", "org", "Payments", "-pay", "pay_ments"])
def test_create_server_with_a_reserved_or_malformed_id_is_refused(server_id):
    with pytest.raises(CommandError):
        run("oidc_create_server", server_id)
    assert not AuthorizationServer.objects.filter(server_id=server_id, is_org=False).exists()


def test_create_application_prints_the_secret_once_and_stores_its_hash():
    out = run(
        "oidc_create_application",
        "web",
        "X",
        "--redirect-uri",
        "https://x.example/cb",
        "--client-id",
        "myapp",
        "--client-secret",
        SECRET,
    )

    assert "myapp" in out
    assert out.count(SECRET) == 1
    stored = Application.objects.get(client_id="myapp").client_secret
    assert stored.startswith("oidc_hmac_sha256$")
    assert SECRET not in stored
    assert check_password(SECRET, stored)


def test_create_application_prints_a_generated_secret_that_verifies():
    out = run("oidc_create_application", "web", "X", "--redirect-uri", "https://x.example/cb", "--client-id", "gen")

    secret = re.search(r"client_secret:\s*(\S+)", out).group(1)
    assert check_password(secret, Application.objects.get(client_id="gen").client_secret)


@pytest.mark.parametrize(
    ("app_type", "uri"),
    [
        ("spa", "http://spa.example/cb"),
        ("native", "http://native.example/cb"),
        ("web", "javascript:alert(1)"),
        ("web", "https://x.example/cb#fragment"),
    ],
)
def test_create_application_refuses_a_redirect_uri_its_type_may_not_use(app_type, uri):
    with pytest.raises(CommandError, match=re.escape(uri)):
        run("oidc_create_application", app_type, "X", "--redirect-uri", uri, "--client-id", "refused")
    assert not Application.objects.filter(client_id="refused").exists()


def test_create_application_refuses_redirect_uris_for_a_service():
    with pytest.raises(CommandError, match="redirect"):
        run("oidc_create_application", "service", "X", "--redirect-uri", "https://x.example/cb", "--client-id", "svc")
    assert not Application.objects.filter(client_id="svc").exists()


def test_create_user_prints_a_password_that_signs_in():
    out = run("oidc_create_user", "bob", "--email", "bob@example.com")

    password = re.search(r"password:\s*(\S+)", out).group(1)
    user = authenticate(username="bob", password=password)
    assert user is not None
    assert user.email == "bob@example.com"
    assert authenticate(username="bob", password=password + "x") is None
