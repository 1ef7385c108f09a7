"""Servers sign with their own key: RS256 by default, PS256 or ES256 when chosen (RFC 7518 §3.3-3.5).

Scenario: a custom server ``payments`` whose first keys have the configured algorithm, a native client
(authorization code + PKCE) for ID tokens and a service client for access tokens. Tokens are verified
as relying parties and APIs would: joserfc and jwcrypto with the JWKS fetched over HTTP, and the
``oidc_flows.resource`` package with its default settings.
"""

from __future__ import annotations

import base64
import json
import threading
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlencode

import pytest
import requests
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.utils import timezone
from jwcrypto import jwk
from jwcrypto import jwt as jwcrypto_jwt

from oidc_flows import tokens
from oidc_flows.models import AuthorizationServer, SigningKey
from oidc_flows.resource import jwks as resource_jwks
from oidc_flows.resource.settings import ResourceSettings
from oidc_flows.resource.tokens import verify_jwt as resource_verify
from tests.factories import make_client, make_server
from tests.support.jose import verify_jwt
from tests.support.oauth import AuthorizationRequest, location_params


ALGS = ["RS256", "PS256", "ES256"]


@pytest.fixture(autouse=True)
def fresh_resource_keys():
    """The resource package caches JWKS per process; every test's database has new keys."""
    resource_jwks.keys.clear()
    yield
    resource_jwks.keys.clear()


def use_alg(settings, alg: str) -> None:
    settings.OIDC_FLOWS = {**settings.OIDC_FLOWS, "SIGNING_ALG": alg}


def header(token: str) -> dict:
    head = token.split(".")[0]
    return json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))


def jwks(server) -> dict:
    return requests.get(server.endpoint_url("keys"), timeout=10).json()


def service_token(server, client) -> str:
    response = requests.post(
        server.endpoint_url("token"),
        data={"grant_type": "client_credentials"},
        auth=(client.client_id, client.secret),
        timeout=10,
    )
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


def resource_conf(server, **overrides) -> ResourceSettings:
    """An API's settings as README shows them: issuer and audience; everything else its defaults."""
    given = {"ISSUER": server.issuer, "AUDIENCE": server.effective_audience, "JWKS_URL": server.endpoint_url("keys")}
    return ResourceSettings.build(given | overrides)


def jwcrypto_claims(token: str, server, alg: str) -> dict:
    key_set = jwk.JWKSet.from_json(json.dumps(jwks(server)))
    return json.loads(jwcrypto_jwt.JWT(jwt=token, key=key_set, algs=[alg]).claims)


@pytest.mark.parametrize("alg", ALGS)
def test_new_server_signs_tokens_with_the_configured_algorithm(browser, settings, alg):
    use_alg(settings, alg)
    server = make_server("payments")
    client = make_client(app_type="native", redirect_uris=("http://127.0.0.1/callback",))
    auth = AuthorizationRequest(client, server, scope="openid", redirect_uri="http://127.0.0.1:49152/callback")

    token = auth.exchange(browser.authorize(auth.url))

    key = SigningKey.objects.get(server=server, status="active")
    assert key.alg == alg
    for jwt, audience in ((token["id_token"], client.client_id), (token["access_token"], "api://payments")):
        assert header(jwt)["alg"] == alg
        claims = verify_jwt(jwt, jwks_url=server.endpoint_url("keys"), issuer=server.issuer, audience=audience)
        assert claims["iss"] == server.issuer
        assert jwcrypto_claims(jwt, server, alg)["iss"] == server.issuer


@pytest.mark.parametrize("alg", ALGS)
def test_the_jwks_publishes_keys_of_the_servers_algorithm(base_url, settings, alg):
    use_alg(settings, alg)
    server = make_server("payments")

    published = jwks(server)["keys"]

    assert len(published) == 2 and {k["alg"] for k in published} == {alg}  # active and next
    for key in published:
        assert key["use"] == "sig" and "d" not in key
        if alg in ("RS256", "PS256"):
            # RFC 7518 §3.3, §3.5: RSA keys of 2048 bits or more.
            assert key["kty"] == "RSA" and len(base64.urlsafe_b64decode(key["n"] + "==")) * 8 >= 2048
        else:
            assert (key["kty"], key["crv"]) == ("EC", "P-256")


@pytest.mark.parametrize("alg", ALGS)
def test_the_resource_package_accepts_the_servers_tokens_by_default(base_url, settings, alg):
    use_alg(settings, alg)
    server = make_server("payments")
    token = service_token(server, make_client(app_type="service"))

    claims = resource_verify(token, resource_conf(server))

    assert header(token)["alg"] == alg and claims["iss"] == server.issuer


@pytest.mark.parametrize("alg", ALGS)
def test_id_tokens_of_every_algorithm_are_recognised_as_hints(browser, settings, alg):
    """id_token_hint at /authorize (prompt=none) and at logout: both verify our own signature."""
    use_alg(settings, alg)
    server = make_server("payments")
    signed_out = "https://rp.example/signed-out"
    client = make_client(app_type="web", post_logout_redirect_uris=(signed_out,), skip_consent=True)
    first = AuthorizationRequest(client, server, scope="openid")
    hint = first.exchange(browser.authorize(first.url))["id_token"]
    assert header(hint)["alg"] == alg

    silent = AuthorizationRequest(client, server, scope="openid", extra={"prompt": "none", "id_token_hint": hint})
    back = location_params(browser.get(silent.url))
    logout = browser.get(
        f"{server.endpoint_url('logout')}?"
        + urlencode({"id_token_hint": hint, "post_logout_redirect_uri": signed_out, "state": "s"})
    )

    assert "code" in back, back
    assert logout.status_code == 302 and logout.headers["Location"] == f"{signed_out}?state=s"


def test_discovery_names_the_algorithms_of_the_keys(base_url, settings):
    use_alg(settings, "PS256")
    server = make_server("payments")

    document = requests.get(server.discovery_url, timeout=10).json()

    assert document["id_token_signing_alg_values_supported"] == ["PS256"]


def test_rotation_from_rs256_to_ps256_keeps_old_tokens_verifiable(base_url):
    server = make_server("payments")  # RS256, the default
    service = make_client(app_type="service")
    before = service_token(server, service)
    conf = resource_conf(server, JWKS_MIN_REFETCH_SECONDS=0)
    resource_verify(before, conf)  # the API now holds the RS256-only JWKS

    call_command("oidc_rotate_keys", "payments", "--alg", "PS256")
    after = service_token(server, service)
    published = {k["kid"]: k["alg"] for k in jwks(server)["keys"]}

    assert header(before)["alg"] == "RS256" and header(after)["alg"] == "PS256"
    assert published[header(before)["kid"]] == "RS256"  # retired, still published
    assert sorted(published.values()) == ["PS256", "PS256", "RS256", "RS256"]  # + the RS256 next that never signed
    for token in (before, after):
        assert resource_verify(token, conf)["iss"] == server.issuer  # an unknown kid makes it fetch the JWKS again
        verify_jwt(token, jwks_url=server.endpoint_url("keys"), issuer=server.issuer, audience="api://payments")
        jwcrypto_claims(token, server, header(token)["alg"])


def test_later_rotations_keep_the_chosen_algorithm(base_url):
    server = make_server("payments")
    call_command("oidc_rotate_keys", "payments", "--alg", "PS256")
    upcoming = SigningKey.objects.get(server=server, status="next")
    assert upcoming.alg == "PS256"

    call_command("oidc_rotate_keys", "payments")

    # The published next key signs: a verifier holding yesterday's JWKS already has it.
    assert SigningKey.objects.get(server=server, status="active") == upcoming
    assert SigningKey.objects.get(server=server, status="next").alg == "PS256"


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks: PostgreSQL (SQLite serialises writers)")
def test_concurrent_first_signatures_after_the_switch_rotate_once(transactional_db):
    """A script turned the FAPI switch on: eight requests sign at once, each with a PS256 key, and
    exactly one of them rotates (the others wait for its lock, then use its key)."""
    bank = make_server("bank")
    AuthorizationServer.objects.filter(pk=bank.pk).update(fapi_profile=True, updated=timezone.now())
    start = threading.Barrier(8)

    def sign_once(_: int) -> dict:
        try:
            server = AuthorizationServer.objects.get(pk=bank.pk)
            start.wait(timeout=30)
            return header(tokens.sign(server, {"iss": server.issuer, "sub": "alice"}))
        finally:
            connection.close()

    with ThreadPoolExecutor(8) as pool:
        headers = list(pool.map(sign_once, range(8)))

    active = SigningKey.objects.get(server=bank, status="active")
    assert {(h["alg"], h["kid"]) for h in headers} == {("PS256", active.kid)}
    assert SigningKey.objects.filter(server=bank, alg="PS256").count() == 2  # active and next: one rotation


def test_an_unknown_algorithm_is_refused(base_url):
    make_server("payments")

    with pytest.raises(CommandError):
        call_command("oidc_rotate_keys", "payments", "--alg", "HS256")


def test_private_key_is_sealed_at_rest(transactional_db):
    key = SigningKey.objects.filter(server__server_id="default").first()
    assert '"d"' not in key.sealed_private_jwk  # encrypted, not a JSON JWK
    assert key.private_key().has_private
    assert "d" not in key.public_jwk
