"""openid-client v6 (npm, panva) completing a FAPI 2.0 flow against a server under the FAPI 2.0 profile.

The `fapi` server has the profile switched on and ES256 keys; the client `openid-client-fapi` authenticates
with private_key_jwt (its public key registered inline). js/openid_client_fapi.mjs does every protocol step
with the library: discovery, a pushed authorization request, PKCE S256, the code exchange with a DPoP
proof, userinfo with the DPoP-bound access token, and a refresh. pytest is the user's browser.
"""

from __future__ import annotations

import base64
import json
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from tests.support.jose import verify_jwt

from .conftest import drive


SERVER = "fapi"
SCOPES = "openid profile email offline_access"
pytestmark = pytest.mark.usefixtures("node")


def claims_of(token: str) -> dict:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


@pytest.fixture(scope="module")
def fapi_flow(idp, node) -> dict:
    client = idp.clients["openid-client-fapi"]
    settings = {
        "issuer": idp.issuer_of(SERVER),
        "client_id": client.client_id,
        "private_jwk": client.private_key,
        "redirect_uri": client.redirect_uri,
        "scope": SCOPES,
    }
    return drive(idp, node, "openid_client_fapi.mjs", settings)


def test_the_authorization_request_went_through_par(idp, fapi_flow):
    # FAPI 2.0 §5.3.2.2: the front channel carries only client_id and the pushed request's URI.
    query = parse_qs(urlsplit(fapi_flow["authorization_url"]).query)
    assert set(query) == {"client_id", "request_uri"}
    assert query["request_uri"][0].startswith("urn:ietf:params:oauth:request_uri:")
    assert fapi_flow["par_endpoint"] == f"{idp.issuer_of(SERVER)}/v1/par"


def test_the_authorization_response_names_the_issuer(idp, fapi_flow):
    # RFC 9207; openid-client checked it too, since discovery says the parameter is supported.
    assert parse_qs(urlsplit(fapi_flow["callback"]).query)["iss"] == [idp.issuer_of(SERVER)]


def test_tokens_are_dpop_bound_and_signed_es256(idp, fapi_flow):
    issuer = idp.issuer_of(SERVER)
    tokens = fapi_flow["tokens"]
    assert tokens["token_type"].lower() == "dpop"
    access = verify_jwt(tokens["access_token"], jwks_url=f"{issuer}/v1/keys", issuer=issuer, audience="api://fapi")
    assert set(access["cnf"]) == {"jkt"}
    assert json.loads(base64.urlsafe_b64decode(tokens["access_token"].split(".")[0] + "==="))["alg"] == "ES256"
    refreshed = claims_of(fapi_flow["refreshed"]["access_token"])
    assert refreshed["cnf"] == access["cnf"], "the refreshed access token is bound to the same DPoP key"
    client_id = idp.clients["openid-client-fapi"].client_id
    id_token = verify_jwt(tokens["id_token"], jwks_url=f"{issuer}/v1/keys", issuer=issuer, audience=client_id)
    assert id_token["nonce"] == fapi_flow["nonce"]


def test_userinfo_answered_the_dpop_bound_token(fapi_flow):
    assert fapi_flow["userinfo"]["sub"] == fapi_flow["id_token_claims"]["sub"]
    assert fapi_flow["userinfo"]["email"] == "alice@example.com"


def test_the_bound_token_is_refused_as_a_bearer_token(idp, fapi_flow):
    # RFC 9449 §7.2: whoever stole the token lacks the key, and may not fall back to Bearer.
    answer = requests.get(
        f"{idp.issuer_of(SERVER)}/v1/userinfo",
        headers={"Authorization": f"Bearer {fapi_flow['refreshed']['access_token']}"},
        timeout=10,
    )
    assert answer.status_code == 401
    assert "invalid_token" in answer.headers["WWW-Authenticate"]
