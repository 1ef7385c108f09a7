"""Authorization servers are apart (seed 003: "You can't mix tokens between different authorization
servers"), and each describes itself (OIDC Discovery §3-4, RFC 8414 §2-3, RFC 7517).

Scenario: the org server (/oauth2/v1, opaque access tokens), the built-in ``default`` custom server
and a second custom server ``payments`` created for the test; alice signs in with a web client.
Every expected URL below is written by hand from the URL scheme, not built with endpoint_url().
"""

from __future__ import annotations

import re

import pytest
import requests
from django.core.exceptions import ValidationError
from joserfc import jwt
from joserfc.errors import JoseError

from oidc_flows.models import AuthorizationServer, SigningKey
from tests.factories import make_client, make_server
from tests.support.jose import fetch_jwks, verify_jwt
from tests.support.oauth import AuthorizationRequest, Browser


pytestmark = pytest.mark.django_db(transaction=True)

SCENARIO = {"servers": ("org", "default", "payments"), "scopes": "openid profile email"}
SYSTEM_SCOPES = {"openid", "profile", "email", "address", "phone", "offline_access"}
RESPONSE_TYPES = {"code", "token", "id_token", "code id_token", "code token", "id_token token", "code id_token token"}
PRIVATE_JWK_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}


@pytest.fixture
def servers(base_url) -> dict[str, AuthorizationServer]:
    return {
        "org": AuthorizationServer.objects.get(is_org=True),
        "default": AuthorizationServer.objects.get(server_id="default"),
        "payments": make_server("payments"),
    }


def issuer_of(base_url: str, name: str) -> str:
    return base_url if name == "org" else f"{base_url}/oauth2/{name}"


def endpoints_base_of(base_url: str, name: str) -> str:
    return f"{base_url}/oauth2/v1" if name == "org" else f"{base_url}/oauth2/{name}/v1"


def well_known_urls(base_url: str, name: str) -> list[str]:
    if name == "org":
        return [f"{base_url}/.well-known/openid-configuration", f"{base_url}/.well-known/oauth-authorization-server"]
    return [
        f"{base_url}/oauth2/{name}/.well-known/openid-configuration",
        f"{base_url}/oauth2/{name}/.well-known/oauth-authorization-server",
        f"{base_url}/.well-known/oauth-authorization-server/oauth2/{name}",  # RFC 8414 §3.1
    ]


def get_json(url: str, **headers: str) -> requests.Response:
    return requests.get(url, headers=headers, timeout=10)


def kids_of(server: AuthorizationServer) -> set[str]:
    return set(SigningKey.objects.filter(server=server).values_list("kid", flat=True))


def tokens_from(base_url: str, server: AuthorizationServer, client) -> dict:
    auth = AuthorizationRequest(client, server, scope=SCENARIO["scopes"])
    return auth.exchange(Browser(base_url).authorize(auth.url))


def userinfo_status(base_url: str, name: str, access_token: str) -> int:
    url = f"{endpoints_base_of(base_url, name)}/userinfo"
    return requests.get(url, headers={"Authorization": f"Bearer {access_token}"}, timeout=10).status_code


# -- isolation ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("issuer", "other"),
    [
        ("default", "org"),
        ("default", "payments"),
        ("org", "default"),
        ("payments", "default"),
    ],
)
def test_an_access_token_is_refused_by_every_other_server(base_url, servers, user, issuer, other):
    token = tokens_from(base_url, servers[issuer], make_client(app_type="web"))
    assert userinfo_status(base_url, issuer, token["access_token"]) == 200

    assert userinfo_status(base_url, other, token["access_token"]) == 401


@pytest.mark.parametrize(("issuer", "other"), [("default", "org"), ("org", "default"), ("default", "payments")])
def test_an_id_token_does_not_verify_with_another_servers_keys(base_url, servers, user, issuer, other):
    client = make_client(app_type="web")
    id_token = tokens_from(base_url, servers[issuer], client)["id_token"]
    verify_jwt(
        id_token,
        jwks_url=f"{endpoints_base_of(base_url, issuer)}/keys",
        issuer=issuer_of(base_url, issuer),
        audience=client.client_id,
    )

    other_keys = fetch_jwks(f"{endpoints_base_of(base_url, other)}/keys")

    kid = jwt.decode(id_token, fetch_jwks(f"{endpoints_base_of(base_url, issuer)}/keys")).header["kid"]
    assert kid not in {key.kid for key in other_keys.keys}
    with pytest.raises((JoseError, ValueError)):
        jwt.decode(id_token, other_keys, algorithms=["RS256", "ES256"])


def test_a_server_named_v1_is_refused(base_url):
    with pytest.raises(ValidationError):
        make_server("v1")
    assert not AuthorizationServer.objects.filter(server_id="v1", is_org=False).exists()


def test_oauth2_v1_is_the_org_server(base_url, servers):
    jwks = get_json(f"{base_url}/oauth2/v1/keys").json()

    served = {key["kid"] for key in jwks["keys"]}
    assert served == kids_of(servers["org"])
    assert not served & kids_of(servers["default"])


# -- discovery -------------------------------------------------------------------------------------------


@pytest.fixture(params=SCENARIO["servers"])
def name(request, servers) -> str:
    return request.param


@pytest.fixture
def metadata(base_url, name) -> dict:
    response = get_json(well_known_urls(base_url, name)[0])
    assert response.status_code == 200
    return response.json()


def test_discovery_names_the_servers_issuer_and_endpoints(base_url, name, metadata):
    base = endpoints_base_of(base_url, name)

    assert metadata["issuer"] == issuer_of(base_url, name)
    assert metadata["authorization_endpoint"] == f"{base}/authorize"
    assert metadata["token_endpoint"] == f"{base}/token"
    assert metadata["userinfo_endpoint"] == f"{base}/userinfo"
    assert metadata["jwks_uri"] == f"{base}/keys"
    # Dynamic client registration is the org's endpoint for every server, as at Okta (oidc_flows.dcr).
    assert metadata["registration_endpoint"] == f"{base_url}/oauth2/v1/clients"
    own = {key: value for key, value in metadata.items() if key != "registration_endpoint"}
    endpoints = [value for key, value in own.items() if key.endswith(("_endpoint", "_uri"))]
    assert all(url.startswith(f"{base}/") for url in endpoints), endpoints


def test_the_jwks_uri_serves_the_servers_public_keys(name, servers, metadata):
    response = get_json(metadata["jwks_uri"])

    assert response.status_code == 200
    keys = response.json()["keys"]
    assert {key["kid"] for key in keys} == kids_of(servers[name])
    assert all(key.get("use") == "sig" and key.get("alg") for key in keys)


def test_the_jwks_has_no_private_key_members(metadata):
    keys = get_json(metadata["jwks_uri"]).json()["keys"]

    assert keys
    for key in keys:
        assert not PRIVATE_JWK_MEMBERS & key.keys(), key.keys()


def test_discovery_lists_the_system_scopes(metadata):
    assert set(metadata["scopes_supported"]) >= SYSTEM_SCOPES


def test_discovery_offers_only_s256_for_pkce(metadata):
    assert metadata["code_challenge_methods_supported"] == ["S256"]


def test_discovery_lists_the_seven_response_types(metadata):
    listed = metadata["response_types_supported"]

    assert len(listed) == len(RESPONSE_TYPES)
    assert {frozenset(value.split()) for value in listed} == {frozenset(value.split()) for value in RESPONSE_TYPES}


def test_every_well_known_address_serves_the_same_document(base_url, name, metadata):
    for url in well_known_urls(base_url, name)[1:]:
        response = get_json(url)
        assert response.status_code == 200, url
        assert response.json() == metadata, url


@pytest.mark.parametrize(
    "path",
    [
        "/oauth2/nope/.well-known/openid-configuration",
        "/oauth2/nope/.well-known/oauth-authorization-server",
        "/.well-known/oauth-authorization-server/oauth2/nope",
        "/oauth2/nope/v1/keys",
        "/oauth2/nope/v1/token",
        "/oauth2/nope/v1/userinfo",
    ],
)
def test_an_unknown_server_gets_a_404_json_error(base_url, servers, path):
    response = requests.request("POST" if path.endswith("/token") else "GET", base_url + path, timeout=10)

    assert response.status_code == 404
    assert response.headers["Content-Type"].startswith("application/json")
    assert "error" in response.json()


def test_an_inactive_server_is_unknown(base_url, servers):
    AuthorizationServer.objects.filter(server_id="payments").update(is_active=False)

    response = get_json(f"{base_url}/oauth2/payments/.well-known/openid-configuration")

    assert response.status_code == 404


@pytest.mark.parametrize("document", ["discovery", "jwks"])
def test_public_documents_may_be_cached(base_url, name, metadata, document):
    url = well_known_urls(base_url, name)[0] if document == "discovery" else metadata["jwks_uri"]

    cache_control = get_json(url).headers.get("Cache-Control", "")

    directives = {d.strip().split("=")[0]: d.strip() for d in cache_control.split(",")}
    assert "public" in directives, cache_control
    assert re.fullmatch(r"max-age=[1-9]\d*", directives.get("max-age", "")), cache_control
