"""DPoP (RFC 9449): sender-constrained tokens, over HTTP against a live server.

Scenario: a native app (public client) signs in with code + PKCE and holds a DPoP key; its access
and refresh tokens are bound to that key. A service and a web portal get bound tokens with client
credentials, the password grant and refreshes. The proofs are built with jwcrypto
(tests/support/dpop.py); the tokens are checked with joserfc (tests/support/jose.py).
"""

from __future__ import annotations

import base64
import http.client
from urllib.parse import urlencode, urlsplit

import pytest
import requests

from oidc_flows.models import AccessToken, Grant, RefreshToken
from tests.factories import PASSWORD, make_client
from tests.support.dpop import DPoPKey, claims_of
from tests.support.jose import verify_jwt
from tests.support.oauth import AuthorizationRequest, location_params


SCOPE = "openid profile offline_access"


@pytest.fixture
def key() -> DPoPKey:
    return DPoPKey()


@pytest.fixture
def native(transactional_db):
    return make_client(app_type="native")


@pytest.fixture
def service(transactional_db):
    return make_client(app_type="service")


@pytest.fixture
def portal(user):
    return make_client(app_type="web", grant_types=["authorization_code", "password", "refresh_token"])


# -- helpers -----------------------------------------------------------------------------------------
def token_url(server) -> str:
    return server.endpoint_url("token")


def post_token(server, client, data: dict, *, proof: str | None = None, **headers) -> requests.Response:
    if proof is not None:
        headers["DPoP"] = proof
    auth = (client.client_id, client.secret) if client.secret else None
    if auth is None:
        data = {"client_id": client.client_id, **data}
    return requests.post(token_url(server), data=data, auth=auth, headers=headers, timeout=10)


def code_for(browser, server, client, **extra) -> tuple[AuthorizationRequest, str]:
    auth = AuthorizationRequest(client, server, scope=SCOPE, extra=extra)
    return auth, location_params(browser.authorize(auth.url))["code"]


def exchange(server, client, auth: AuthorizationRequest, code: str, key: DPoPKey | None, **proof_args):
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": auth.redirect_uri,
        "code_verifier": auth.code_verifier,
    }
    proof = key.proof("POST", token_url(server), **proof_args) if key else None
    return post_token(server, client, data, proof=proof)


def refresh(server, client, refresh_token: str, key: DPoPKey | None) -> requests.Response:
    proof = key.proof("POST", token_url(server)) if key else None
    return post_token(server, client, {"grant_type": "refresh_token", "refresh_token": refresh_token}, proof=proof)


def userinfo(server, token: str, key: DPoPKey | None, *, scheme: str = "DPoP", **proof_args) -> requests.Response:
    headers = {"Authorization": f"{scheme} {token}"}
    if key is not None:
        proof_args.setdefault("access_token", token)
        headers["DPoP"] = key.proof("GET", server.endpoint_url("userinfo"), **proof_args)
    return requests.get(server.endpoint_url("userinfo"), headers=headers, timeout=10)


def assert_token_error(response: requests.Response, error: str) -> None:
    assert response.status_code == 400, response.text
    assert response.json()["error"] == error, response.text
    assert response.headers["Cache-Control"] == "no-store"


def assert_resource_error(response: requests.Response, error: str) -> None:
    assert response.status_code == 401, response.text
    challenge = response.headers["WWW-Authenticate"]
    assert challenge.startswith(f'DPoP error="{error}"'), challenge
    assert 'algs="' in challenge


def bound_jwt(server, token: str) -> dict:
    return verify_jwt(
        token,
        jwks_url=server.endpoint_url("keys"),
        issuer=server.issuer,
        audience=server.effective_audience,
        typ="at+jwt",
    )


@pytest.fixture
def native_tokens(browser, default_server, native, key) -> dict:
    auth, code = code_for(browser, default_server, native)
    response = exchange(default_server, native, auth, code, key)
    assert response.status_code == 200, response.text
    return response.json()


# -- bound tokens ------------------------------------------------------------------------------------
def test_code_with_pkce_gives_a_public_client_bound_tokens(default_server, native, key, native_tokens):
    assert native_tokens["token_type"] == "DPoP"
    assert bound_jwt(default_server, native_tokens["access_token"])["cnf"] == {"jkt": key.jkt}
    # RFC 9449 §5: a public client's refresh token is bound to the same key.
    assert RefreshToken.objects.get(application=native).dpop_jkt == key.jkt

    response = userinfo(default_server, native_tokens["access_token"], key)

    assert response.status_code == 200, response.text
    assert response.json()["sub"]
    assert response.headers["DPoP-Nonce"]  # RFC 9449 §8.2: the nonce for the next proof


def test_token_response_carries_a_nonce_and_no_store(browser, default_server, native, key):
    auth, code = code_for(browser, default_server, native)

    response = exchange(default_server, native, auth, code, key)

    assert response.status_code == 200, response.text
    assert response.headers["DPoP-Nonce"] and response.headers["Cache-Control"] == "no-store"


def test_refresh_of_a_bound_refresh_token_with_the_same_key(default_server, native, key, native_tokens):
    response = refresh(default_server, native, native_tokens["refresh_token"], key)

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "DPoP"
    assert bound_jwt(default_server, body["access_token"])["cnf"]["jkt"] == key.jkt
    assert userinfo(default_server, body["access_token"], key).status_code == 200


def test_refresh_of_a_bound_refresh_token_with_another_key_is_invalid_grant(default_server, native, native_tokens):
    response = refresh(default_server, native, native_tokens["refresh_token"], DPoPKey())

    assert_token_error(response, "invalid_grant")


def test_refresh_of_a_bound_refresh_token_without_a_proof_is_invalid_grant(default_server, native, native_tokens):
    assert_token_error(refresh(default_server, native, native_tokens["refresh_token"], None), "invalid_grant")


def test_refused_refresh_leaves_the_refresh_token_usable(default_server, native, key, native_tokens):
    refresh(default_server, native, native_tokens["refresh_token"], DPoPKey())

    assert refresh(default_server, native, native_tokens["refresh_token"], key).status_code == 200


def test_client_credentials_token_is_bound(default_server, service, key):
    response = post_token(
        default_server,
        service,
        {"grant_type": "client_credentials"},
        proof=key.proof("POST", token_url(default_server)),
    )

    assert response.status_code == 200, response.text
    assert response.json()["token_type"] == "DPoP"
    assert bound_jwt(default_server, response.json()["access_token"])["cnf"] == {"jkt": key.jkt}


def test_without_a_proof_tokens_stay_bearer(default_server, service):
    response = post_token(default_server, service, {"grant_type": "client_credentials"})

    assert response.json()["token_type"] == "Bearer"
    assert "cnf" not in claims_of(response.json()["access_token"])
    assert "DPoP-Nonce" not in response.headers


def test_org_server_opaque_token_is_bound_and_introspects_with_cnf(org_server, portal, key):
    proof = key.proof("POST", token_url(org_server))
    data = {"grant_type": "password", "username": "alice", "password": PASSWORD, "scope": "openid"}

    response = post_token(org_server, portal, data, proof=proof)

    assert response.status_code == 200, response.text
    token = response.json()["access_token"]
    assert response.json()["token_type"] == "DPoP"
    assert AccessToken.objects.get(application=portal).dpop_jkt == key.jkt
    introspected = requests.post(
        org_server.endpoint_url("introspect"), data={"token": token}, auth=(portal.client_id, portal.secret), timeout=10
    ).json()
    assert introspected["active"] is True
    assert introspected["token_type"] == "DPoP" and introspected["cnf"] == {"jkt": key.jkt}
    assert userinfo(org_server, token, key).status_code == 200
    assert userinfo(org_server, token, None, scheme="Bearer").status_code == 401


def test_jwt_token_introspects_with_cnf(default_server, service, key):
    proof = key.proof("POST", token_url(default_server))
    token = post_token(default_server, service, {"grant_type": "client_credentials"}, proof=proof).json()[
        "access_token"
    ]

    introspected = requests.post(
        default_server.endpoint_url("introspect"),
        data={"token": token},
        auth=(service.client_id, service.secret),
        timeout=10,
    ).json()

    assert introspected["active"] is True
    assert introspected["token_type"] == "DPoP" and introspected["cnf"] == {"jkt": key.jkt}


def test_confidential_client_refresh_token_is_not_bound_but_the_new_access_token_is(default_server, portal, key):
    data = {"grant_type": "password", "username": "alice", "password": PASSWORD, "scope": SCOPE}
    first = post_token(default_server, portal, data, proof=key.proof("POST", token_url(default_server))).json()
    assert RefreshToken.objects.get(application=portal).dpop_jkt == ""  # RFC 9449 §5: sender-constrained by its secret

    other = DPoPKey()
    second = refresh(default_server, portal, first["refresh_token"], other)

    assert second.status_code == 200, second.text
    assert bound_jwt(default_server, second.json()["access_token"])["cnf"]["jkt"] == other.jkt


# -- the proof's checks at /token (RFC 9449 §4.3): each refused with invalid_dpop_proof --------------
def test_a_replayed_proof_is_refused(default_server, service, key):
    proof = key.proof("POST", token_url(default_server))
    assert post_token(default_server, service, {"grant_type": "client_credentials"}, proof=proof).status_code == 200

    replay = post_token(default_server, service, {"grant_type": "client_credentials"}, proof=proof)

    assert_token_error(replay, "invalid_dpop_proof")


@pytest.mark.parametrize(
    "proof_args",
    [
        pytest.param({"iat_offset": -600}, id="stale-iat"),
        pytest.param({"iat_offset": 600}, id="future-iat"),
        pytest.param({"url": "https://evil.example/oauth2/default/v1/token"}, id="wrong-htu"),
        pytest.param({"url": "/oauth2/default/v1/userinfo"}, id="another-endpoint"),
        pytest.param({"method": "GET"}, id="wrong-htm"),
        pytest.param({"header": {"typ": "JWT"}}, id="typ"),
        pytest.param({"header": {"alg": "HS256"}}, id="hmac-alg"),
        pytest.param({"claims": {"jti": None}}, id="no-jti"),
    ],
)
def test_a_bad_proof_is_invalid_dpop_proof(default_server, service, key, proof_args):
    url = proof_args.pop("url", token_url(default_server))
    if url.startswith("/"):
        url = default_server.issuer.split("/oauth2")[0] + url
    method = proof_args.pop("method", "POST")

    response = post_token(
        default_server, service, {"grant_type": "client_credentials"}, proof=key.proof(method, url, **proof_args)
    )

    assert_token_error(response, "invalid_dpop_proof")


def test_htu_is_compared_normalised(default_server, service, key):
    parts = urlsplit(token_url(default_server))
    port = parts.port
    url = f"{parts.scheme.upper()}://{parts.hostname.upper()}:{port}{parts.path}?ignored=1#frag"

    response = post_token(default_server, service, {"grant_type": "client_credentials"}, proof=key.proof("POST", url))

    assert response.status_code == 200, response.text


def test_a_proof_with_a_private_key_in_its_header_is_refused(default_server, service, key):
    proof = key.proof("POST", token_url(default_server), header={"jwk": key.key.export_private(as_dict=True)})

    assert_token_error(
        post_token(default_server, service, {"grant_type": "client_credentials"}, proof=proof), "invalid_dpop_proof"
    )


def test_a_proof_signed_by_another_key_is_refused(default_server, service, key):
    proof = DPoPKey().proof("POST", token_url(default_server), header={"jwk": key.key.export_public(as_dict=True)})

    assert_token_error(
        post_token(default_server, service, {"grant_type": "client_credentials"}, proof=proof), "invalid_dpop_proof"
    )


def test_two_dpop_headers_are_refused(default_server, service, key):
    parts = urlsplit(token_url(default_server))
    body = urlencode({"grant_type": "client_credentials"})
    basic = base64.b64encode(f"{service.client_id}:{service.secret}".encode()).decode()
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    connection.putrequest("POST", parts.path)
    connection.putheader("Authorization", f"Basic {basic}")
    connection.putheader("Content-Type", "application/x-www-form-urlencoded")
    connection.putheader("Content-Length", str(len(body)))
    connection.putheader("DPoP", key.proof("POST", token_url(default_server)))
    connection.putheader("DPoP", key.proof("POST", token_url(default_server)))
    connection.endheaders(body.encode())
    response = connection.getresponse()
    payload = response.read()
    connection.close()

    assert response.status == 400, payload
    assert b'"invalid_dpop_proof"' in payload


# -- resources: userinfo (RFC 9449 §7) ---------------------------------------------------------------
def test_a_bound_token_sent_as_bearer_is_invalid_token(default_server, native_tokens):
    response = userinfo(default_server, native_tokens["access_token"], None, scheme="Bearer")

    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


def test_a_bound_token_with_a_proof_of_another_key_is_invalid_token(default_server, native_tokens):
    response = userinfo(default_server, native_tokens["access_token"], DPoPKey())

    assert_resource_error(response, "invalid_token")


@pytest.mark.parametrize(
    "proof_args",
    [
        pytest.param({"access_token": "another-token"}, id="wrong-ath"),
        pytest.param({"claims": {"ath": None}}, id="missing-ath"),
        pytest.param({"iat_offset": -600}, id="stale-iat"),
    ],
)
def test_a_bad_proof_at_userinfo_is_invalid_dpop_proof(default_server, key, native_tokens, proof_args):
    response = userinfo(default_server, native_tokens["access_token"], key, **proof_args)

    assert_resource_error(response, "invalid_dpop_proof")
    assert response.json()["error"] == "invalid_dpop_proof"


def test_a_proof_replayed_at_userinfo_is_refused(default_server, key, native_tokens):
    token = native_tokens["access_token"]
    proof = key.proof("GET", default_server.endpoint_url("userinfo"), access_token=token)
    headers = {"Authorization": f"DPoP {token}", "DPoP": proof}
    assert requests.get(default_server.endpoint_url("userinfo"), headers=headers, timeout=10).status_code == 200

    replay = requests.get(default_server.endpoint_url("userinfo"), headers=headers, timeout=10)

    assert_resource_error(replay, "invalid_dpop_proof")


def test_an_unbound_token_sent_with_the_dpop_scheme_is_refused(default_server, service, key):
    token = post_token(default_server, service, {"grant_type": "client_credentials"}).json()["access_token"]

    response = userinfo(default_server, token, key)

    assert_resource_error(response, "invalid_token")


# -- dpop_jkt at /authorize (RFC 9449 §10) ----------------------------------------------------------
def test_a_code_bound_with_dpop_jkt_is_redeemed_with_that_key_only(browser, default_server, native, key):
    auth, code = code_for(browser, default_server, native, dpop_jkt=key.jkt)
    assert Grant.objects.get(code=code).dpop_jkt == key.jkt

    assert_token_error(exchange(default_server, native, auth, code, DPoPKey()), "invalid_grant")
    assert_token_error(exchange(default_server, native, auth, code, None), "invalid_grant")
    # The refusals did not spend the code: its key holder redeems it.
    response = exchange(default_server, native, auth, code, key)
    assert response.status_code == 200, response.text
    assert bound_jwt(default_server, response.json()["access_token"])["cnf"]["jkt"] == key.jkt


def test_a_malformed_dpop_jkt_is_invalid_request(browser, default_server, native):
    auth = AuthorizationRequest(native, default_server, scope=SCOPE, extra={"dpop_jkt": "not-a-thumbprint"})

    params = location_params(browser.authorize(auth.url))

    assert params["error"] == "invalid_request" and "dpop_jkt" in params["error_description"]


# -- applications that must use DPoP, and server nonces (RFC 9449 §5.2, §8) ---------------------------
@pytest.fixture
def dpop_service(transactional_db):
    client = make_client(app_type="service")
    client.dpop_bound_access_tokens = True
    client.save()
    return client


def test_an_application_that_requires_dpop_gets_nothing_without_a_proof(default_server, dpop_service):
    response = post_token(default_server, dpop_service, {"grant_type": "client_credentials"})

    assert_token_error(response, "invalid_request")


def test_nonce_required_then_success(default_server, dpop_service, key):
    first = post_token(
        default_server,
        dpop_service,
        {"grant_type": "client_credentials"},
        proof=key.proof("POST", token_url(default_server)),
    )

    # RFC 9449 §8: 400 use_dpop_nonce with the nonce to use in DPoP-Nonce.
    assert_token_error(first, "use_dpop_nonce")
    nonce = first.headers["DPoP-Nonce"]
    second = post_token(
        default_server,
        dpop_service,
        {"grant_type": "client_credentials"},
        proof=key.proof("POST", token_url(default_server), nonce=nonce),
    )
    assert second.status_code == 200, second.text
    assert second.json()["token_type"] == "DPoP"
    assert second.headers["DPoP-Nonce"]


def test_a_made_up_nonce_is_use_dpop_nonce(default_server, dpop_service, key):
    proof = key.proof("POST", token_url(default_server), nonce="made-up")

    response = post_token(default_server, dpop_service, {"grant_type": "client_credentials"}, proof=proof)

    assert_token_error(response, "use_dpop_nonce")


def test_use_dpop_nonce_leaves_the_code_usable(settings, browser, default_server, native, key):
    settings.OIDC_FLOWS = {**getattr(settings, "OIDC_FLOWS", {}), "DPOP_NONCES": "always"}
    auth, code = code_for(browser, default_server, native)

    first = exchange(default_server, native, auth, code, key)
    assert_token_error(first, "use_dpop_nonce")
    second = exchange(default_server, native, auth, code, key, nonce=first.headers["DPoP-Nonce"])

    assert second.status_code == 200, second.text
    token = second.json()["access_token"]
    # Userinfo demands the nonce too when nonces are always required (RFC 9449 §9).
    at_userinfo = userinfo(default_server, token, key)
    assert_resource_error(at_userinfo, "use_dpop_nonce")
    again = userinfo(default_server, token, key, nonce=at_userinfo.headers["DPoP-Nonce"])
    assert again.status_code == 200, again.text


def test_discovery_names_the_dpop_algorithms(default_server):
    metadata = requests.get(default_server.discovery_url, timeout=10).json()

    assert metadata["dpop_signing_alg_values_supported"] == ["RS256", "PS256", "ES256", "EdDSA"]
