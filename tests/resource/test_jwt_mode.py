"""An API project that does not install the IdP verifies the IdP's JWT access tokens (RFC 9068 §4).

Scenario: the job service gets tokens from the real IdP's ``/oauth2/default/v1/token``; the API
(tests/resource/site) checks them against the JWKS it fetches from the IdP, in DRF views and in
plain Django views.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import pytest
import requests
from django.test import Client
from jwcrypto import jwk

from oidc_flows.resource import fetch, jwks


pytestmark = pytest.mark.usefixtures("jwt_mode")

DRF_AND_PLAIN = ["/api/reports", "/plain/reports"]


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def parts(token: str) -> tuple[dict, dict, str]:
    header, payload, signature = token.split(".")
    decode = lambda part: json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))  # noqa: E731
    return decode(header), decode(payload), signature


def forge(token: str, *, header: dict | None = None, payload: dict | None = None, signature: str | None = None) -> str:
    """The token with a changed header, payload or signature (the rest kept byte for byte)."""
    h, p, s = token.split(".")
    real_header, real_payload, _ = parts(token)
    if header is not None:
        h = b64(json.dumps(real_header | header).encode())
    if payload is not None:
        p = b64(json.dumps(real_payload | payload).encode())
    return f"{h}.{p}.{s if signature is None else signature}"


def get(client, path: str, token: str | None = None, **headers):
    if token is not None:
        headers["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return client.get(path, **headers)


def assert_invalid_token(response, token: str | None = None) -> None:
    assert response.status_code == 401, response.content
    challenge = response["WWW-Authenticate"]
    assert challenge.startswith('Bearer error="invalid_token", error_description="'), challenge
    body = response.json()
    assert body["error"] == "invalid_token" and body["error_description"] in challenge
    if token is not None:
        assert token not in response.content.decode() and token.split(".")[-1] not in challenge


# -- a good token ---------------------------------------------------------------------------------
def test_drf_view_accepts_a_token_of_the_default_server(client, idp):
    token = idp.token("reports:read")

    response = get(client, "/api/whoami", token)

    assert response.status_code == 200, response.content
    assert response.json() == {
        "sub": idp.job.client_id,
        "client_id": idp.job.client_id,
        "scopes": ["reports:read"],
        "auth_iss": idp.issuer(),
    }


@pytest.mark.parametrize("path", DRF_AND_PLAIN)
def test_views_with_a_required_scope_accept_a_token_that_holds_it(client, idp, path):
    response = get(client, path, idp.token("reports:read reports:write"))

    assert response.status_code == 200, response.content
    assert response.json()["for"] == idp.job.client_id


def test_plain_view_sees_the_token_user(client, idp):
    response = get(client, "/plain/whoami", idp.token())

    assert response.status_code == 200
    assert response.json() == {"sub": idp.job.client_id, "client_id": idp.job.client_id, "scopes": []}


@pytest.mark.parametrize(("path", "status"), [("/api/reports/admin", 201), ("/plain/reports", 200)])
def test_a_post_needs_no_csrf_token_with_a_bearer_token(idp, path, status):
    strict = Client(enforce_csrf_checks=True)  # a bearer token is never sent by a browser on its own

    response = strict.post(path, HTTP_AUTHORIZATION=f"Bearer {idp.token('reports:read reports:write')}")

    assert response.status_code == status


# -- RFC 6750 §3.1: no token, a malformed header, a missing scope ----------------------------------
@pytest.mark.parametrize("path", ["/api/whoami", "/plain/whoami", *DRF_AND_PLAIN])
def test_no_token_is_401_with_a_bare_bearer_challenge(client, path):
    response = get(client, path)

    assert response.status_code == 401
    # RFC 6750 §3.1: no error code without credentials; RFC 9449 §7.1: the DPoP scheme is offered too.
    assert response["WWW-Authenticate"] == 'Bearer, DPoP algs="RS256 PS256 ES256 EdDSA"'
    assert "error" not in response.json()


@pytest.mark.parametrize("path", ["/api/whoami", "/plain/whoami"])
def test_another_scheme_is_no_token(client, path):
    assert get(client, path, HTTP_AUTHORIZATION="Basic YTpi")["WWW-Authenticate"].startswith("Bearer, DPoP ")


@pytest.mark.parametrize("header", ["Bearer", "Bearer ", "Bearer a b", "Bearer tok\u00e9n", 'Bearer "x"'])
@pytest.mark.parametrize("path", ["/api/whoami", "/plain/whoami"])
def test_a_malformed_authorization_header_is_invalid_request(client, path, header):
    response = get(client, path, HTTP_AUTHORIZATION=header)

    assert response.status_code == 400
    assert response["WWW-Authenticate"].startswith('Bearer error="invalid_request"')
    assert response.json()["error"] == "invalid_request"


@pytest.mark.parametrize("path", DRF_AND_PLAIN)
def test_a_token_without_the_scope_is_403_insufficient_scope(client, idp, path):
    response = get(client, path, idp.token("reports:write"))

    assert response.status_code == 403
    assert response["WWW-Authenticate"] == (
        'Bearer error="insufficient_scope", '
        'error_description="The access token lacks a scope: reports:read.", scope="reports:read"'
    )
    assert response.json() == {
        "error": "insufficient_scope",
        "error_description": "The access token lacks a scope: reports:read.",
        "scope": "reports:read",
    }


def test_require_scopes_needs_every_scope(client, idp):
    response = client.post("/api/reports/admin", HTTP_AUTHORIZATION=f"Bearer {idp.token('reports:read')}")

    assert response.status_code == 403
    assert response["WWW-Authenticate"].endswith('scope="reports:read reports:write"')


# -- RFC 9068 §4: tokens that must be refused ----------------------------------------------------
@pytest.mark.parametrize("path", ["/api/whoami", "/plain/whoami"])
def test_a_token_of_another_server_is_refused(client, idp, path):
    token = idp.token(server="other")

    assert_invalid_token(get(client, path, token), token)


def test_a_token_for_another_audience_is_refused(client, idp, settings):
    settings.OIDC_RESOURCE = {"ISSUER": idp.issuer(), "AUDIENCE": "api://other"}
    token = idp.token()

    response = get(client, "/api/whoami", token)

    assert_invalid_token(response, token)
    assert "another audience" in response.json()["error_description"]


def test_a_token_of_another_issuer_is_refused_even_with_keys_that_verify(client, idp, settings):
    # The API trusts `other`, and is pointed at default's keys: the signature verifies, iss does not.
    settings.OIDC_RESOURCE = {
        "ISSUER": idp.issuer("other"),
        "AUDIENCE": "api://default",
        "JWKS_URL": idp.endpoint("keys"),
    }
    token = idp.token()

    response = get(client, "/api/whoami", token)

    assert_invalid_token(response, token)
    assert "another authorization server" in response.json()["error_description"]


def test_an_opaque_org_token_is_refused(client, idp):
    token = idp.token(server="org")

    assert_invalid_token(get(client, "/api/whoami", token), token)


def test_a_tampered_signature_is_refused(client, idp):
    token = idp.token("reports:read")
    signature = token.split(".")[2]
    middle = len(signature) // 2
    flipped = signature[:middle] + ("A" if signature[middle] != "A" else "B") + signature[middle + 1 :]

    response = get(client, "/api/reports", forge(token, signature=flipped))

    assert_invalid_token(response, token)
    assert "signature" in response.json()["error_description"]


def test_a_tampered_payload_is_refused(client, idp):
    token = idp.token("reports:write")

    forged = forge(token, payload={"scope": "reports:read", "scp": ["reports:read"]})

    assert_invalid_token(get(client, "/api/reports", forged), token)


@pytest.mark.parametrize("path", ["/api/whoami", "/plain/whoami"])
def test_alg_none_is_refused(client, idp, path):
    token = idp.token()

    unsigned = forge(token, header={"alg": "none"}, signature="")

    response = get(client, path, unsigned)
    assert_invalid_token(response, token)
    assert "algorithm" in response.json()["error_description"]


def test_hs256_signed_with_the_public_key_is_refused(client, idp):
    """The classic key confusion: HMAC keyed with the (public) JWKS."""
    token = idp.token("reports:read")
    header, _, _ = parts(token)
    jwk_json = json.dumps(requests.get(idp.endpoint("keys"), timeout=10).json()["keys"][0]).encode()
    h = b64(json.dumps(header | {"alg": "HS256"}).encode())
    p = token.split(".")[1]
    mac = b64(hmac.new(jwk_json, f"{h}.{p}".encode(), hashlib.sha256).digest())

    response = get(client, "/api/reports", f"{h}.{p}.{mac}")

    assert_invalid_token(response)
    assert "algorithm" in response.json()["error_description"]


def test_a_token_of_another_type_is_refused(client, idp):
    # RFC 9068 §4: typ must be at+jwt (an ID token says JWT). The header is signed, so changing typ
    # alone also breaks the signature; the typ check answers first.
    token = idp.token()

    response = get(client, "/api/whoami", forge(token, header={"typ": "JWT"}))

    assert_invalid_token(response, token)
    assert "at+jwt" in response.json()["error_description"]


@pytest.mark.parametrize("garbage", ["x", "a.b.c", "e30.e30.e30", "a.b.c.d.e", "eyJhbGciOiJSUzI1NiJ9.e30.", "~~.~~.~~"])
def test_garbage_tokens_are_invalid_tokens_not_errors(client, garbage):
    response = get(client, "/api/whoami", garbage)

    assert_invalid_token(response)


# -- time -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("path", ["/api/whoami", "/plain/whoami"])
def test_an_expired_token_is_refused_after_the_leeway(client, idp, clock, path):
    token = idp.token()
    _, payload, _ = parts(token)
    now = time.time()

    clock.advance(payload["exp"] - now + 29)  # within LEEWAY (30 s) of exp
    assert get(client, path, token).status_code == 200
    clock.advance(2)  # past exp + LEEWAY
    response = get(client, path, token)

    assert_invalid_token(response, token)
    assert response.json()["error_description"] == "The access token expired."


def test_a_token_issued_in_the_future_is_refused(client, idp, clock):
    token = idp.token()

    clock.advance(-120)  # our clock is two minutes behind the IdP's: iat is in our future

    assert_invalid_token(get(client, "/api/whoami", token), token)


# -- JWKS caching and refetching ------------------------------------------------------------------
def test_keys_are_fetched_once_and_reused(client, idp):
    for _ in range(3):
        assert get(client, "/api/whoami", idp.token()).status_code == 200

    assert jwks.keys.fetches == 1


def test_an_unknown_kid_refetches_the_jwks_at_most_once_per_interval(client, idp, clock, monkeypatch):
    """A rotation reaches the API at once; made-up kids do not make it hammer the IdP."""
    stale = {"keys": [jwk.JWK.generate(kty="EC", crv="P-256", kid="retired").export_public(as_dict=True)]}
    answers = iter([stale])
    monkeypatch.setattr(jwks.keys, "fetcher", lambda url: next(answers, None) or fetch.get_json(url, timeout=5))
    token = idp.token()

    # The API holds an old JWKS (fetched just now): an unknown kid may not refetch yet.
    assert_invalid_token(get(client, "/api/whoami", token), token)
    assert jwks.keys.fetches == 1
    clock.advance(61)  # JWKS_MIN_REFETCH_SECONDS (60) later, the same token: refetch, and the key is there
    assert get(client, "/api/whoami", token).status_code == 200
    assert jwks.keys.fetches == 2

    made_up = forge(token, header={"kid": "made-up"})
    for _ in range(5):
        assert_invalid_token(get(client, "/api/whoami", made_up), token)
    assert jwks.keys.fetches == 2  # the interval since the last refetch has not passed
    clock.advance(61)
    assert_invalid_token(get(client, "/api/whoami", made_up), token)
    assert jwks.keys.fetches == 3  # one refetch per interval, no more


def test_the_idp_unreachable_is_503_not_an_invalid_token(client, settings, idp):
    settings.OIDC_RESOURCE = {"ISSUER": idp.issuer(), "AUDIENCE": "api://default", "JWKS_URL": "http://127.0.0.1:9/"}
    token = idp.token()

    response = get(client, "/api/whoami", token)

    assert response.status_code == 503
    assert "WWW-Authenticate" not in response
    assert response.json()["error"] == "temporarily_unavailable"
