"""openid-client v6 (npm, panva) against the IdP under gunicorn: discovery, code + PKCE, hybrid, refresh, userinfo.

Scenario: the `default` server, a confidential web client (`openid-client`, client_secret_basic, code +
refresh). js/openid_client_flow.mjs does every protocol step with the library; pytest is the user's
browser on our sign-in and consent pages, and checks what the library accepted.
"""

from __future__ import annotations

import hashlib
import json
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.support.jose import half_hash, verify_jwt

from .conftest import drive


SCOPES = "openid profile email offline_access"
pytestmark = pytest.mark.usefixtures("node")  # skip (or fail) before starting anything


def run_flow(idp, node: str, response_type: str, *, client_name: str = "openid-client", dpop: bool = False) -> dict:
    """Run the script, be the browser in between, and return its final JSON; fail with its error otherwise."""
    client = idp.clients[client_name]
    settings = {
        "dpop": dpop,
        "issuer": idp.issuer,
        "client_id": client.client_id,
        "client_secret": client.secret,
        "redirect_uri": client.redirect_uri,
        "scope": SCOPES,
        "response_type": response_type,
    }
    return drive(idp, node, "openid_client_flow.mjs", settings)


@pytest.fixture(scope="module")
def code_flow(idp, node) -> dict:
    return run_flow(idp, node, "code")


@pytest.fixture(scope="module")
def hybrid_flow(idp, node) -> dict:
    return run_flow(idp, node, "code id_token")


def test_discovery_names_our_issuer_and_endpoints(idp, code_flow):
    assert code_flow["issuer"] == idp.issuer
    assert code_flow["token_endpoint"] == idp.endpoint("token")


@pytest.mark.parametrize("flow", ["code_flow", "hybrid_flow"])
def test_the_library_accepts_the_id_token_and_we_agree(request, idp, flow):
    result = request.getfixturevalue(flow)
    client_id = idp.clients["openid-client"].client_id

    claims = result["id_token_claims"]
    assert claims["iss"] == idp.issuer
    assert claims["aud"] in (client_id, [client_id])
    assert claims["nonce"] == result["nonce"]
    assert claims["email"] == "alice@example.com"
    verified = verify_jwt(
        result["tokens"]["id_token"], jwks_url=idp.endpoint("keys"), issuer=idp.issuer, audience=client_id
    )
    assert verified == claims
    assert claims["at_hash"] == half_hash(result["tokens"]["access_token"])


def test_hybrid_front_channel_id_token_carries_c_hash(idp, hybrid_flow):
    # openid-client checked this ID token (signature, nonce, c_hash: OIDC Core §3.3.2.11) before it redeemed
    # the code; check the same with joserfc.
    params = parse_qs(urlsplit(hybrid_flow["callback"]).fragment)
    client_id = idp.clients["openid-client"].client_id

    claims = verify_jwt(params["id_token"][0], jwks_url=idp.endpoint("keys"), issuer=idp.issuer, audience=client_id)

    assert claims["c_hash"] == half_hash(params["code"][0])
    assert claims["nonce"] == hybrid_flow["nonce"]
    assert claims["sub"] == hybrid_flow["id_token_claims"]["sub"]  # the token endpoint's ID token: same user


@pytest.mark.parametrize("flow", ["code_flow", "hybrid_flow"])
def test_userinfo_names_the_signed_in_user(request, flow):
    result = request.getfixturevalue(flow)

    userinfo = result["userinfo"]
    assert userinfo["sub"] == result["id_token_claims"]["sub"]
    assert userinfo["email"] == "alice@example.com"
    assert userinfo["email_verified"] is True
    assert userinfo["given_name"] == "Alice"


def test_refresh_rotates_the_tokens(idp, code_flow):
    before, after = code_flow["tokens"], code_flow["refreshed"]

    assert after["refresh_token"] != before["refresh_token"]
    assert after["access_token"] != before["access_token"]
    assert set(after["scope"].split()) == set(SCOPES.split())
    assert code_flow["refreshed_id_token_claims"]["sub"] == code_flow["id_token_claims"]["sub"]
    claims = verify_jwt(
        after["access_token"], jwks_url=idp.endpoint("keys"), issuer=idp.issuer, audience="api://default", typ="at+jwt"
    )
    assert claims["client_id"] == idp.clients["openid-client"].client_id


# -- DPoP (RFC 9449): a client that must use it, so /token demands the server's nonce ----------------
@pytest.fixture(scope="module")
def dpop_flow(idp, node) -> dict:
    return run_flow(idp, node, "code", client_name="openid-client-dpop", dpop=True)


def test_openid_client_gets_dpop_bound_tokens_and_uses_them(idp, dpop_flow):
    from tests.support.dpop import b64

    public = dpop_flow["dpop_public_key"]
    canonical = json.dumps({m: public[m] for m in ("crv", "kty", "x", "y")}, separators=(",", ":"), sort_keys=True)
    jkt = b64(hashlib.sha256(canonical.encode()).digest())
    for tokens in (dpop_flow["tokens"], dpop_flow["refreshed"]):
        assert tokens["token_type"].lower() == "dpop"
        claims = verify_jwt(
            tokens["access_token"],
            jwks_url=idp.endpoint("keys"),
            issuer=idp.issuer,
            audience="api://default",
            typ="at+jwt",
        )
        assert claims["cnf"] == {"jkt": jkt}
    # The library answered use_dpop_nonce at /token by itself, then called userinfo with the DPoP scheme.
    assert dpop_flow["userinfo"]["sub"] == dpop_flow["id_token_claims"]["sub"]
