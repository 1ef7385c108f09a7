"""Client authentication with JWT assertions (RFC 7523, OIDC Core §9) and one method per request
(RFC 6749 §2.3), over HTTP against a live server.

Scenario: the ``default`` server; services registered for ``private_key_jwt`` (an RSA and an EC key,
inline or at a ``jwks_uri``) and ``client_secret_jwt``; a web client with ``private_key_jwt`` for the
code flow. Authlib makes the good assertions; the bad ones are made with joserfc or by hand.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
from authlib.common.security import generate_token
from joserfc.jwk import ECKey, OctKey, RSAKey

from oidc_flows import clientkeys
from tests.factories import RP_REDIRECT, make_client
from tests.support.assertions import (
    assertion_form,
    b64url,
    claims_for,
    hand_signed,
    public_jwks,
    session,
    signed,
)
from tests.support.jose import verify_jwt


CC = {"grant_type": "client_credentials"}
ENDPOINTS = ("token", "introspect", "revoke")


@pytest.fixture(scope="module")
def rsa_key() -> RSAKey:
    return RSAKey.generate_key(2048, private=True)


@pytest.fixture
def ec_key() -> ECKey:
    return ECKey.generate_key("P-256", private=True)


@pytest.fixture
def pk_service(transactional_db, rsa_key, ec_key):
    """A service that signs its assertions with its private key; the IdP has the public keys."""
    return make_client(
        app_type="service", token_endpoint_auth_method="private_key_jwt", jwks=public_jwks(rsa_key, ec_key)
    )


@pytest.fixture
def cs_service(transactional_db):
    """A service that signs its assertions with its secret (HMAC)."""
    return make_client(app_type="service", token_endpoint_auth_method="client_secret_jwt")


@pytest.fixture
def basic_service(transactional_db):
    return make_client(app_type="service")


def post(server, endpoint: str, data: dict, auth: tuple[str, str] | None = None) -> requests.Response:
    return requests.post(server.endpoint_url(endpoint), data=data, auth=auth, timeout=10)


def token_with(server, assertion: str, **extra: str) -> requests.Response:
    return post(server, "token", CC | assertion_form(assertion, **extra))


def assert_refused(response: requests.Response, error: str, says: str, *secrets: str) -> None:
    """A standard error body (RFC 6749 §5.2) whose description says which check failed, echoing no credential."""
    status = 401 if error == "invalid_client" else 400
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"] == error, body
    assert says in body.get("error_description", ""), body
    assert response.headers["Cache-Control"] == "no-store"
    for secret in secrets:
        assert secret not in response.text


def access_token_claims(server, token: str) -> dict:
    return verify_jwt(
        token, jwks_url=server.endpoint_url("keys"), issuer=server.issuer, audience="api://default", typ="at+jwt"
    )


# -- Authlib authenticates with both methods --------------------------------------------------------------


@pytest.mark.parametrize("key_type", ["RSA", "EC"])
def test_authlib_private_key_jwt_gets_a_client_credentials_token(default_server, pk_service, rsa_key, ec_key, key_type):
    key, alg = (rsa_key, "RS256") if key_type == "RSA" else (ec_key, "ES256")
    with session(pk_service.client_id, key, "private_key_jwt", alg=alg) as client:
        token = client.fetch_token(default_server.endpoint_url("token"), grant_type="client_credentials")

    claims = access_token_claims(default_server, token["access_token"])
    assert claims["client_id"] == claims["sub"] == pk_service.client_id


@pytest.mark.parametrize("alg", ["HS256", "HS512"])
def test_authlib_client_secret_jwt_gets_a_client_credentials_token(default_server, cs_service, alg):
    with session(cs_service.client_id, cs_service.secret, "client_secret_jwt", alg=alg) as client:
        token = client.fetch_token(default_server.endpoint_url("token"), grant_type="client_credentials")

    assert access_token_claims(default_server, token["access_token"])["client_id"] == cs_service.client_id


def test_the_code_flow_with_private_key_jwt(browser, default_server, rsa_key):
    web = make_client(app_type="web", token_endpoint_auth_method="private_key_jwt", jwks=public_jwks(rsa_key))
    client = session(
        web.client_id,
        rsa_key,
        "private_key_jwt",
        scope="openid email",
        redirect_uri=RP_REDIRECT,
        code_challenge_method="S256",
    )
    verifier, nonce = generate_token(48), generate_token(20)
    url, state = client.create_authorization_url(
        default_server.endpoint_url("authorize"), code_verifier=verifier, nonce=nonce
    )
    redirect = browser.authorize(url)

    token = client.fetch_token(
        default_server.endpoint_url("token"),
        authorization_response=redirect.headers["Location"],
        state=state,
        code_verifier=verifier,
        grant_type="authorization_code",
    )

    id_claims = verify_jwt(
        token["id_token"],
        jwks_url=default_server.endpoint_url("keys"),
        issuer=default_server.issuer,
        audience=web.client_id,
    )
    assert id_claims["nonce"] == nonce and id_claims["email"] == "alice@example.com"


@pytest.mark.parametrize("method", ["private_key_jwt", "client_secret_jwt"])
def test_introspection_and_revocation_accept_assertions_for_their_own_url(
    default_server, pk_service, cs_service, rsa_key, method
):
    app, key = (pk_service, rsa_key) if method == "private_key_jwt" else (cs_service, cs_service.secret)
    with session(app.client_id, key, method, revocation_endpoint_auth_method=method) as client:
        token = client.fetch_token(default_server.endpoint_url("token"), grant_type="client_credentials")
        # Authlib makes each assertion for the URL it calls: aud = the introspection (revocation) endpoint.
        active = client.introspect_token(default_server.endpoint_url("introspect"), token=token["access_token"])
        revoked = client.revoke_token(default_server.endpoint_url("revoke"), token=token["access_token"])
        after = client.introspect_token(default_server.endpoint_url("introspect"), token=token["access_token"])

    assert active.status_code == 200 and active.json()["active"] is True
    assert active.json()["client_id"] == app.client_id
    assert revoked.status_code == 200
    assert after.json() == {"active": False}


@pytest.mark.parametrize("audience", ["issuer", "token"])
def test_the_issuer_or_the_token_endpoint_are_audiences_at_every_endpoint(default_server, cs_service, audience):
    aud = default_server.issuer if audience == "issuer" else default_server.endpoint_url("token")
    key = OctKey.import_key(cs_service.secret)
    for endpoint in ("introspect", "revoke"):
        assertion = signed(claims_for(cs_service.client_id, [aud, "https://elsewhere.example"]), key, "HS256")
        response = post(default_server, endpoint, assertion_form(assertion, token="unknown"))
        assert response.status_code == 200, response.text


# -- keys at a jwks_uri ---------------------------------------------------------------------------------


@pytest.fixture
def jwks_site() -> Iterator[dict]:
    """A client's JWKS at http://127.0.0.1:<port>/jwks.json (loopback http is allowed); counts its fetches."""
    site = {"jwks": {"keys": []}, "fetches": 0}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            site["fetches"] += 1
            if self.path == "/moved":
                self.send_response(302)
                self.send_header("Location", "/jwks.json")
                self.end_headers()
                return
            body = json.dumps(site["jwks"]).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/jwk-set+json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args) -> None:  # noqa: A002
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    site["url"] = f"http://127.0.0.1:{server.server_address[1]}/jwks.json"
    yield site
    server.shutdown()
    server.server_close()


def test_private_key_jwt_with_keys_at_a_jwks_uri_fetched_once_then_again_for_a_new_kid(
    default_server, transactional_db, jwks_site, rsa_key, ec_key, monkeypatch
):
    jwks_site["jwks"] = public_jwks(rsa_key)
    app = make_client(app_type="service", token_endpoint_auth_method="private_key_jwt", jwks_uri=jwks_site["url"])
    with session(app.client_id, rsa_key, "private_key_jwt") as client:
        for _ in range(2):
            client.fetch_token(default_server.endpoint_url("token"), grant_type="client_credentials")
    assert jwks_site["fetches"] == 1  # cached

    # The client rotates to a new key: a kid the cached set lacks fetches the set again.
    jwks_site["jwks"] = public_jwks(ec_key)
    monkeypatch.setattr(clientkeys, "REFETCH_SECONDS", 0)
    ec_assertion = signed(claims_for(app.client_id, default_server.endpoint_url("token")), ec_key, "ES256")
    assert token_with(default_server, ec_assertion).status_code == 200
    assert jwks_site["fetches"] == 2


def test_a_jwks_uri_that_redirects_is_not_followed(default_server, transactional_db, jwks_site, rsa_key):
    # The registered URL is the one fetched, never where it points to (no request forgery by redirect).
    jwks_site["jwks"] = public_jwks(rsa_key)
    moved = jwks_site["url"].replace("/jwks.json", "/moved")
    app = make_client(app_type="service", token_endpoint_auth_method="private_key_jwt", jwks_uri=moved)
    assertion = signed(claims_for(app.client_id, default_server.endpoint_url("token")), rsa_key, "RS256")

    assert_refused(token_with(default_server, assertion), "invalid_client", "could not be fetched")
    assert jwks_site["fetches"] == 1


def test_an_unreachable_jwks_uri_is_invalid_client(default_server, transactional_db, rsa_key):
    app = make_client(
        app_type="service", token_endpoint_auth_method="private_key_jwt", jwks_uri="http://127.0.0.1:9/jwks.json"
    )
    assertion = signed(claims_for(app.client_id, default_server.endpoint_url("token")), rsa_key, "RS256")

    assert_refused(token_with(default_server, assertion), "invalid_client", "could not be fetched")


# -- refused assertions, each with the check that failed ------------------------------------------------


def test_a_replayed_assertion_is_refused(default_server, pk_service, rsa_key):
    assertion = signed(claims_for(pk_service.client_id, default_server.endpoint_url("token")), rsa_key, "RS256")

    assert token_with(default_server, assertion).status_code == 200
    replayed = token_with(default_server, assertion)

    assert_refused(replayed, "invalid_client", "already used", assertion)
    assert replayed.headers["WWW-Authenticate"].startswith("Basic ")


def test_a_refused_assertion_does_not_spend_its_jti(default_server, pk_service, rsa_key):
    claims = claims_for(pk_service.client_id, default_server.endpoint_url("token"))
    bad = signed(claims | {"aud": "https://elsewhere.example/token"}, rsa_key, "RS256")
    assert token_with(default_server, bad).status_code == 401

    good = signed(claims, rsa_key, "RS256")  # same jti, right audience
    assert token_with(default_server, good).status_code == 200


@pytest.mark.parametrize(
    "aud",
    [
        "https://other-idp.example/oauth2/default/v1/token",
        "introspect",  # another endpoint of this server: at /token only the token endpoint or the issuer
        ["https://other-idp.example", "api://default"],
    ],
)
def test_an_assertion_for_another_audience_is_refused(default_server, pk_service, rsa_key, aud):
    aud = default_server.endpoint_url(aud) if aud == "introspect" else aud
    assertion = signed(claims_for(pk_service.client_id, aud), rsa_key, "RS256")

    assert_refused(token_with(default_server, assertion), "invalid_client", "aud", assertion)


def test_an_assertion_for_another_server_is_refused(default_server, org_server, pk_service, rsa_key):
    assertion = signed(claims_for(pk_service.client_id, org_server.endpoint_url("token")), rsa_key, "RS256")

    assert_refused(token_with(default_server, assertion), "invalid_client", "aud")


@pytest.mark.parametrize(
    ("timing", "says"),
    [
        ({"iat": -120, "exp": -60}, "expired"),
        ({"iat": 0, "exp": 3600}, "300 seconds at most"),  # Authlib's default lifetime
        ({"iat": None, "exp": 600}, "300 seconds at most"),
        ({"iat": 0, "exp": None}, "no exp"),
        ({"iat": 300, "exp": 360}, "iat"),
        ({"iat": 0, "exp": 60, "nbf": 120}, "nbf"),
    ],
    ids=["expired", "too-long-lived", "too-long-lived-without-iat", "no-exp", "issued-in-the-future", "not-yet-valid"],
)
def test_assertions_out_of_their_time_are_refused(default_server, pk_service, rsa_key, timing, says):
    now = int(time.time())
    times = {name: None if offset is None else now + offset for name, offset in timing.items()}
    assertion = signed(
        claims_for(pk_service.client_id, default_server.endpoint_url("token"), **times), rsa_key, "RS256"
    )

    assert_refused(token_with(default_server, assertion), "invalid_client", says, assertion)


def test_alg_none_is_refused(default_server, pk_service):
    assertion = hand_signed(claims_for(pk_service.client_id, default_server.endpoint_url("token")), alg="none")

    assert_refused(token_with(default_server, assertion), "invalid_client", "alg must be one of")


def test_hs256_signed_with_the_public_key_is_refused(default_server, pk_service, rsa_key):
    """The algorithm-confusion attack: an HMAC keyed with the client's (public, known) RSA key."""
    claims = claims_for(pk_service.client_id, default_server.endpoint_url("token"))
    for public in (rsa_key.as_pem(private=False), json.dumps(rsa_key.as_dict(private=False)).encode()):
        assertion = hand_signed(claims, alg="HS256", hmac_key=public)
        assert_refused(token_with(default_server, assertion), "invalid_client", "RS256")


def test_client_secret_jwt_with_a_wrong_secret_is_refused(default_server, cs_service):
    wrong = OctKey.import_key("not the secret, but long enough for HMAC-SHA256 anyway")
    assertion = signed(claims_for(cs_service.client_id, default_server.endpoint_url("token")), wrong, "HS256")

    assert_refused(token_with(default_server, assertion), "invalid_client", "signature")


def test_client_secret_jwt_never_takes_a_public_key_algorithm(default_server, cs_service, rsa_key):
    assertion = signed(claims_for(cs_service.client_id, default_server.endpoint_url("token")), rsa_key, "RS256")

    assert_refused(token_with(default_server, assertion), "invalid_client", "HS256")


def test_iss_other_than_sub_is_refused(default_server, pk_service, basic_service, rsa_key):
    claims = claims_for(pk_service.client_id, default_server.endpoint_url("token"), iss=basic_service.client_id)
    assertion = signed(claims, rsa_key, "RS256")

    assert_refused(token_with(default_server, assertion), "invalid_client", "iss and sub")


def test_an_assertion_signed_with_another_key_is_refused(default_server, pk_service, rsa_key):
    other = RSAKey.generate_key(2048, private=True)
    claims = claims_for(pk_service.client_id, default_server.endpoint_url("token"))

    posing = signed(claims, other, "RS256", kid=rsa_key.thumbprint())  # claims the registered key's kid
    assert_refused(token_with(default_server, posing), "invalid_client", "signature")
    unknown_kid = signed(claims, other, "RS256")
    assert_refused(token_with(default_server, unknown_kid), "invalid_client", "kid")


def test_the_registered_signing_alg_is_the_only_one(default_server, transactional_db, rsa_key, ec_key):
    app = make_client(
        app_type="service",
        token_endpoint_auth_method="private_key_jwt",
        jwks=public_jwks(rsa_key, ec_key),
        token_endpoint_auth_signing_alg="ES256",
    )
    token_url = default_server.endpoint_url("token")

    rs256 = signed(claims_for(app.client_id, token_url), rsa_key, "RS256")
    assert_refused(token_with(default_server, rs256), "invalid_client", "ES256")
    assert token_with(default_server, signed(claims_for(app.client_id, token_url), ec_key, "ES256")).ok


def test_client_id_in_the_body_must_be_the_assertions(default_server, pk_service, basic_service, rsa_key):
    token_url = default_server.endpoint_url("token")
    same = signed(claims_for(pk_service.client_id, token_url), rsa_key, "RS256")
    assert token_with(default_server, same, client_id=pk_service.client_id).ok

    other = signed(claims_for(pk_service.client_id, token_url), rsa_key, "RS256")
    refused = token_with(default_server, other, client_id=basic_service.client_id)
    assert_refused(refused, "invalid_client", "client_id")


def test_assertion_parameters_go_together(default_server, pk_service, rsa_key):
    assertion = signed(claims_for(pk_service.client_id, default_server.endpoint_url("token")), rsa_key, "RS256")

    alone = post(default_server, "token", CC | {"client_assertion": assertion})
    assert_refused(alone, "invalid_request", "go together", assertion)
    other_type = post(default_server, "token", CC | assertion_form(assertion, client_assertion_type="urn:x:saml2"))
    assert_refused(other_type, "invalid_client", "client_assertion_type")
    for garbage in ("not.a.jwt", "x" * 10_000, "W" * 2000 + ".e30.sig", hand_signed([[[[]]]], alg="RS256")):
        # Not base64, too long, a header nested deeper than any JSON parser recurses, claims not an object.
        response = post(default_server, "token", CC | assertion_form(garbage))
        assert_refused(response, "invalid_client", "not a signed JWT")
    nested = "[" * 3000 + "]" * 3000
    deep = f"{b64url(nested.encode())}.e30.c2ln"
    assert_refused(post(default_server, "token", CC | assertion_form(deep)), "invalid_client", "not a signed JWT")


# -- the method on the application decides --------------------------------------------------------------


def test_a_private_key_jwt_application_cannot_use_its_secret(default_server, pk_service):
    with_basic = post(default_server, "token", CC, auth=(pk_service.client_id, pk_service.secret))
    assert_refused(with_basic, "invalid_client", "not the method the application registered", pk_service.secret)
    in_body = post(
        default_server, "token", CC | {"client_id": pk_service.client_id, "client_secret": pk_service.secret}
    )
    assert_refused(in_body, "invalid_client", "not the method", pk_service.secret)


def test_a_client_secret_jwt_application_cannot_send_its_secret(default_server, cs_service):
    with_basic = post(default_server, "token", CC, auth=(cs_service.client_id, cs_service.secret))

    assert_refused(with_basic, "invalid_client", "not the method", cs_service.secret)


def test_a_basic_application_cannot_use_an_assertion(default_server, basic_service):
    key = OctKey.import_key(basic_service.secret)
    assertion = signed(claims_for(basic_service.client_id, default_server.endpoint_url("token")), key, "HS256")

    assert_refused(token_with(default_server, assertion), "invalid_client", "not registered")


# -- RFC 6749 §2.3: one method per request ----------------------------------------------------------------


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize("body_secret", ["right", "wrong"])
def test_basic_and_a_secret_in_the_body_is_invalid_request(default_server, basic_service, endpoint, body_secret):
    secret = basic_service.secret if body_secret == "right" else "wrong"
    data = {"client_id": basic_service.client_id, "client_secret": secret} | (
        CC if endpoint == "token" else {"token": "x"}
    )

    response = post(default_server, endpoint, data, auth=(basic_service.client_id, basic_service.secret))

    assert_refused(response, "invalid_request", "one client authentication method", basic_service.secret)


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_an_assertion_with_a_secret_is_invalid_request(default_server, cs_service, endpoint):
    key = OctKey.import_key(cs_service.secret)
    assertion = signed(claims_for(cs_service.client_id, default_server.endpoint_url("token")), key, "HS256")
    data = assertion_form(assertion) | (CC if endpoint == "token" else {"token": "x"})

    with_basic = post(default_server, endpoint, data, auth=(cs_service.client_id, cs_service.secret))
    assert_refused(with_basic, "invalid_request", "client_secret_basic and client_assertion", assertion)
    with_post = post(default_server, endpoint, data | {"client_secret": cs_service.secret})
    assert_refused(with_post, "invalid_request", "client_secret_post and client_assertion", cs_service.secret)


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_basic_for_one_client_with_client_id_of_another_is_invalid_client(
    default_server, basic_service, pk_service, endpoint
):
    data = {"client_id": pk_service.client_id} | (CC if endpoint == "token" else {"token": "x"})

    response = post(default_server, endpoint, data, auth=(basic_service.client_id, basic_service.secret))

    assert_refused(response, "invalid_client", "client_id differs", basic_service.secret)


def test_basic_with_its_own_client_id_in_the_body_is_one_method(default_server, basic_service):
    response = post(
        default_server,
        "token",
        CC | {"client_id": basic_service.client_id},
        auth=(basic_service.client_id, basic_service.secret),
    )

    assert response.status_code == 200, response.text


# -- discovery ------------------------------------------------------------------------------------------


def test_discovery_advertises_the_methods_and_algorithms_per_endpoint(default_server):
    metadata = requests.get(default_server.discovery_url, timeout=10).json()

    for endpoint in ("token_endpoint", "introspection_endpoint", "revocation_endpoint"):
        assert metadata[f"{endpoint}_auth_methods_supported"] == [
            "client_secret_basic",
            "client_secret_post",
            "client_secret_jwt",
            "private_key_jwt",
            "none",
        ]
        algs = metadata[f"{endpoint}_auth_signing_alg_values_supported"]
        assert {"RS256", "PS256", "ES256", "HS256"} <= set(algs) and "none" not in algs


def test_a_fapi_server_advertises_private_key_jwt_with_its_algorithms_only(default_server):
    default_server.fapi_profile = True
    default_server.save()

    metadata = requests.get(default_server.discovery_url, timeout=10).json()

    for endpoint in ("token_endpoint", "introspection_endpoint", "revocation_endpoint"):
        assert metadata[f"{endpoint}_auth_methods_supported"] == ["private_key_jwt"]
        # FAPI 2.0 §5.4.1: PS256 or ES256, and no RSASSA-PKCS1-v1_5 (RS256).
        assert sorted(metadata[f"{endpoint}_auth_signing_alg_values_supported"]) == ["ES256", "PS256"]


def test_a_fapi_server_refuses_assertions_in_an_algorithm_the_profile_excludes(default_server, pk_service, rsa_key):
    default_server.fapi_profile = True
    default_server.save()
    token_url = default_server.endpoint_url("token")

    rs256 = signed(claims_for(pk_service.client_id, token_url), rsa_key, "RS256")
    assert_refused(token_with(default_server, rs256), "invalid_client", "PS256")


@pytest.mark.parametrize("parameter", ["client_secret", "client_assertion"])
def test_credentials_in_the_url_are_invalid_request(default_server, basic_service, rsa_key, parameter):
    """RFC 6749 §2.3.1: credentials MUST NOT be in the request URI, which logs and proxies keep."""
    value = basic_service.secret if parameter == "client_secret" else "a.b.c"
    url = default_server.endpoint_url("token") + f"?{parameter}={value}"

    response = requests.post(url, data=CC | {"client_id": basic_service.client_id}, timeout=10)

    assert response.status_code == 400 and response.json()["error"] == "invalid_request"
    assert basic_service.secret not in response.text
