"""Any node serves any request: two gunicorn processes on one PostgreSQL database and one Redis.

Both nodes share SECRET_KEY and IDP_BASE_URL (node A's URL), as nodes behind one load balancer
do; the test plays the load balancer and sends each request to the node it names. The user
signs in on A and gets a code there, B redeems it, A refreshes, B rotates the signing key, and
tokens signed after the rotation, and before it, verify with A's JWKS.
"""

from __future__ import annotations

import re
import uuid
from urllib.parse import urlencode

import pytest
import requests
from authlib.common.security import generate_token
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from joserfc import jwt
from joserfc.jwk import KeySet

from tests.support.oauth import Browser, location_params

from .conftest import PASSWORD, RP_REDIRECT


SERVER = "default"
SCOPE = "openid profile offline_access"


def issuer(deployment) -> str:
    return f"{deployment.base_url}/oauth2/{SERVER}"


def endpoint(node, name: str) -> str:
    return f"{node.url}/oauth2/{SERVER}/v1/{name}"


def jwks(node) -> KeySet:
    response = requests.get(endpoint(node, "keys"), timeout=10)
    assert response.status_code == 200, response.text
    return KeySet.import_key_set(response.json())


def verify(token: str, node, deployment, audience: str) -> jwt.Token:
    """Check signature, iss and aud with ``node``'s JWKS, as a relying party would."""
    decoded = jwt.decode(token, jwks(node), algorithms=["RS256", "ES256"])
    jwt.JWTClaimsRegistry(
        iss={"essential": True, "value": issuer(deployment)}, aud={"essential": True, "value": audience}
    ).validate(decoded.claims)
    return decoded


def token_request(node, deployment, data: dict, **headers) -> requests.Response:
    auth = (deployment.web_id, deployment.web_secret)
    return requests.post(endpoint(node, "token"), data=data, auth=auth, headers=headers, timeout=20)


def refresh(node, deployment, refresh_token: str) -> requests.Response:
    return token_request(node, deployment, {"grant_type": "refresh_token", "refresh_token": refresh_token})


def kid(token: str, node, deployment, audience: str = f"api://{SERVER}") -> str:
    return verify(token, node, deployment, audience).header["kid"]


def sign_in_and_authorize(browser: Browser, node, deployment, **extra) -> tuple[dict, str, str]:
    """Walk /authorize on ``node`` with PKCE; return the redirect's parameters, the verifier and the nonce."""
    verifier, nonce, state = generate_token(48), generate_token(20), generate_token(20)
    query = {
        "response_type": "code",
        "client_id": deployment.web_id,
        "redirect_uri": RP_REDIRECT,
        "scope": SCOPE,
        "state": state,
        "nonce": nonce,
        "code_challenge": create_s256_code_challenge(verifier),
        "code_challenge_method": "S256",
    } | extra
    redirect = browser.authorize(f"{endpoint(node, 'authorize')}?{urlencode(query)}", password=PASSWORD)
    assert redirect.status_code == 302, redirect.text[:500]
    params = location_params(redirect)
    assert params.get("state") == state, params
    return params, verifier, nonce


@pytest.fixture
def browser(node_a):
    browser = Browser(node_a.url)
    yield browser
    browser.http.close()


def test_code_from_a_redeemed_on_b_refreshed_on_a_key_rotated_on_b(deployment, node_a, node_b, browser):
    # Node A: sign in and get the code.
    params, verifier, nonce = sign_in_and_authorize(browser, node_a, deployment)
    assert params["iss"] == issuer(deployment)
    code = params["code"]

    # Node B: redeem it, with the issuer of node A (the one issuer of the deployment).
    request_id = f"test-{uuid.uuid4().hex}"
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": RP_REDIRECT, "code_verifier": verifier}
    redeemed = token_request(node_b, deployment, data, **{"X-Request-ID": request_id})
    assert redeemed.status_code == 200, redeemed.text
    assert redeemed.headers["X-Request-ID"] == request_id
    tokens = redeemed.json()
    id_token = verify(tokens["id_token"], node_a, deployment, audience=deployment.web_id)
    assert id_token.claims["nonce"] == nonce
    verify(tokens["access_token"], node_a, deployment, audience=f"api://{SERVER}")

    # Node A: refresh what B issued.
    refreshed = refresh(node_a, deployment, tokens["refresh_token"])
    assert refreshed.status_code == 200, refreshed.text
    before_rotation = refreshed.json()
    old_kid = kid(before_rotation["access_token"], node_a, deployment)

    # Node B: rotate the signing key (the command runs against the same database).
    deployment.manage("oidc_rotate_keys", SERVER)

    # Tokens signed after the rotation, on either node, carry the new key and verify with A's JWKS;
    # the token signed before it still verifies.
    after_a = refresh(node_a, deployment, before_rotation["refresh_token"])
    assert after_a.status_code == 200, after_a.text
    new_kid = kid(after_a.json()["access_token"], node_a, deployment)
    assert new_kid != old_kid
    signed_on_b = refresh(node_b, deployment, after_a.json()["refresh_token"])
    assert signed_on_b.status_code == 200, signed_on_b.text
    assert kid(signed_on_b.json()["id_token"], node_a, deployment, audience=deployment.web_id) == new_kid
    assert kid(before_rotation["access_token"], node_a, deployment) == old_kid
    assert {old_kid, new_kid} <= {key.kid for key in jwks(node_a).keys}

    # Replaying the code on A is refused, and revokes what its first use on B issued (RFC 9700 §4.5).
    assert token_request(node_a, deployment, data).json()["error"] == "invalid_grant"
    assert refresh(node_b, deployment, signed_on_b.json()["refresh_token"]).json()["error"] == "invalid_grant"

    # The request log: B logged the redemption under the client's request id, and neither node
    # logged a code, a token, the client secret or the password.
    line = next(entry for entry in node_b.log_lines() if entry.get("request_id") == request_id)
    assert line | {"duration_ms": 0} == line | {
        "method": "POST",
        "path": f"/oauth2/{SERVER}/v1/token",
        "status": 200,
        "server": SERVER,
        "client_id": deployment.web_id,
        "duration_ms": 0,
    }
    secrets = [code, verifier, deployment.web_secret, PASSWORD, *tokens.values(), *before_rotation.values()]
    for node in (node_a, node_b):
        text = node.log.read_text()
        assert not [s for s in secrets if isinstance(s, str) and len(s) > 8 and s in text], node.name


def test_a_session_started_on_a_is_known_to_b(deployment, node_a, node_b, browser):
    sign_in_and_authorize(browser, node_a, deployment)
    # Same host, other port: the browser sends the same session cookie to B, which finds the session.
    params, _, _ = sign_in_and_authorize(browser, node_b, deployment, prompt="none")
    assert "code" in params, params


def test_static_files_are_collected_hashed_and_served_by_whitenoise(node_a):
    page = requests.get(f"{node_a.url}/admin/login/", timeout=10)
    stylesheet = re.search(r'href="(/static/admin/css/base\.[0-9a-f]{12}\.css)"', page.text)
    assert stylesheet, "the admin links a hashed stylesheet (ManifestStaticFilesStorage after collectstatic)"
    served = requests.get(f"{node_a.url}{stylesheet.group(1)}", headers={"Accept-Encoding": "gzip"}, timeout=10)
    assert served.status_code == 200
    assert "immutable" in served.headers["Cache-Control"]
    assert served.headers.get("Content-Encoding") == "gzip"
