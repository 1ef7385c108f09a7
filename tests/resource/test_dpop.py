"""oidc_flows.resource protects an API with DPoP-bound tokens (RFC 9449 §7).

Scenario: the job service gets a DPoP-bound token from the real IdP (a proof with its key at /token);
the API (tests/resource/site) accepts it with the DPoP scheme and a proof of each request, in DRF
views and plain views, and refuses it as a bearer token.
"""

from __future__ import annotations

import pytest
import requests

from tests.support.dpop import DPoPKey


DRF_AND_PLAIN = ["/api/reports", "/plain/reports"]
ALGS = 'algs="RS256 PS256 ES256 EdDSA"'


@pytest.fixture
def key() -> DPoPKey:
    return DPoPKey()


def bound_token(idp, key: DPoPKey, scope: str = "reports:read") -> str:
    url = idp.endpoint("token")
    response = requests.post(
        url,
        data={"grant_type": "client_credentials", "scope": scope},
        auth=(idp.job.client_id, idp.job.secret),
        headers={"DPoP": key.proof("POST", url)},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    assert response.json()["token_type"] == "DPoP"
    return response.json()["access_token"]


def call(client, path: str, token: str, key: DPoPKey | None, *, scheme: str = "DPoP", method: str = "GET", **proof):
    headers = {"HTTP_AUTHORIZATION": f"{scheme} {token}"}
    if key is not None:
        proof.setdefault("access_token", token)
        headers["HTTP_DPOP"] = key.proof(method, proof.pop("url", f"http://testserver{path}"), **proof)
    return client.generic(method, path, **headers)


def assert_dpop_error(response, error: str) -> None:
    assert response.status_code == 401, response.content
    challenge = response["WWW-Authenticate"]
    assert challenge.startswith(f'DPoP error="{error}", error_description="'), challenge
    assert challenge.endswith(ALGS)
    assert response.json()["error"] == error


@pytest.mark.usefixtures("jwt_mode")
@pytest.mark.parametrize("path", DRF_AND_PLAIN)
def test_a_bound_token_with_its_proof_is_accepted(client, idp, key, path):
    response = call(client, path, bound_token(idp, key), key)

    assert response.status_code == 200, response.content
    assert response.json()["for"] == idp.job.client_id


@pytest.mark.usefixtures("introspection_mode")
@pytest.mark.parametrize("path", DRF_AND_PLAIN)
def test_introspection_mode_reads_the_binding_from_cnf(client, idp, key, path):
    token = bound_token(idp, key)

    assert call(client, path, token, key).status_code == 200
    assert call(client, path, token, DPoPKey())["WWW-Authenticate"].startswith('DPoP error="invalid_token"')
    assert call(client, path, token, None, scheme="Bearer").status_code == 401


@pytest.mark.usefixtures("jwt_mode")
@pytest.mark.parametrize("path", DRF_AND_PLAIN)
def test_a_bound_token_sent_as_bearer_is_invalid_token(client, idp, key, path):
    response = call(client, path, bound_token(idp, key), None, scheme="Bearer")

    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith('Bearer error="invalid_token"')


@pytest.mark.usefixtures("jwt_mode")
@pytest.mark.parametrize("path", DRF_AND_PLAIN)
def test_a_proof_by_another_key_is_invalid_token(client, idp, key, path):
    assert_dpop_error(call(client, path, bound_token(idp, key), DPoPKey()), "invalid_token")


@pytest.mark.usefixtures("jwt_mode")
@pytest.mark.parametrize("path", DRF_AND_PLAIN)
def test_a_replayed_proof_is_invalid_dpop_proof(client, idp, key, path):
    token = bound_token(idp, key)
    proof = key.proof("GET", f"http://testserver{path}", access_token=token)
    headers = {"HTTP_AUTHORIZATION": f"DPoP {token}", "HTTP_DPOP": proof}
    assert client.get(path, **headers).status_code == 200

    assert_dpop_error(client.get(path, **headers), "invalid_dpop_proof")


@pytest.mark.usefixtures("jwt_mode")
@pytest.mark.parametrize(
    "proof",
    [
        pytest.param({"access_token": "another"}, id="wrong-ath"),
        pytest.param({"claims": {"ath": None}}, id="missing-ath"),
        pytest.param({"url": "http://testserver/api/whoami"}, id="wrong-htu"),
        pytest.param({"method_override": "POST"}, id="wrong-htm"),
        pytest.param({"iat_offset": -600}, id="stale-iat"),
    ],
)
@pytest.mark.parametrize("path", DRF_AND_PLAIN)
def test_a_bad_proof_is_invalid_dpop_proof(client, idp, key, path, proof):
    token = bound_token(idp, key)
    proof = dict(proof)
    htm = proof.pop("method_override", "GET")
    proof.setdefault("access_token", token)
    dpop = key.proof(htm, proof.pop("url", f"http://testserver{path}"), **proof)

    response = client.get(path, HTTP_AUTHORIZATION=f"DPoP {token}", HTTP_DPOP=dpop)

    assert_dpop_error(response, "invalid_dpop_proof")


@pytest.mark.usefixtures("jwt_mode")
@pytest.mark.parametrize("path", DRF_AND_PLAIN)
def test_a_missing_proof_is_invalid_dpop_proof(client, idp, key, path):
    response = client.get(path, HTTP_AUTHORIZATION=f"DPoP {bound_token(idp, key)}")

    assert_dpop_error(response, "invalid_dpop_proof")


@pytest.mark.usefixtures("jwt_mode")
@pytest.mark.parametrize("path", DRF_AND_PLAIN)
def test_an_unbound_token_with_the_dpop_scheme_is_invalid_token(client, idp, key, path):
    assert_dpop_error(call(client, path, idp.token("reports:read"), key), "invalid_token")


@pytest.mark.usefixtures("jwt_mode")
@pytest.mark.parametrize("path", ["/api/whoami", "/plain/whoami"])
def test_no_token_offers_both_schemes(client, path):
    response = client.get(path)

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == f"Bearer, DPoP {ALGS}"


def test_public_url_decides_htu(client, idp, key, settings, jwt_mode):
    settings.OIDC_RESOURCE = jwt_mode | {"PUBLIC_URL": "https://api.example.com"}
    token = bound_token(idp, key)

    assert call(client, "/api/reports", token, key, url="https://api.example.com/api/reports").status_code == 200
    assert_dpop_error(call(client, "/api/reports", token, key), "invalid_dpop_proof")  # http://testserver/...


@pytest.mark.usefixtures("jwt_mode")
def test_an_expired_bound_token_is_invalid_token_with_a_dpop_challenge(client, idp, key, clock):
    token = bound_token(idp, key)
    clock.advance(3600 + 60)

    response = call(client, "/api/reports", token, key, iat_offset=3600 + 60)

    assert_dpop_error(response, "invalid_token")
