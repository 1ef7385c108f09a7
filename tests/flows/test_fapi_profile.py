"""A server with the FAPI 2.0 Security Profile switched on (policy.FAPI2), over HTTP.

Scenario: the custom server ``bank`` with the switch on (turned on the way a script would: the row's
flag, nothing else), alice signed in through the hosted pages, a confidential web client that holds
every grant its type allows and authenticates with a client secret, and ``default`` as it ships, to
show that the refusals come from the switch and not from the client.

PAR, DPoP and private_key_jwt are required on such a server: ``fapi_authorize`` pushes a request to
/par as a FAPI client does (``FapiClient``: private_key_jwt), then opens its ``request_uri``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
import uuid
from datetime import timedelta
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
from authlib.common.security import generate_token
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from django.utils import timezone
from jwcrypto import jwk
from jwcrypto import jwt as jwcrypto_jwt

from oidc_flows import policy, tokens
from oidc_flows.models import AuthorizationServer, Grant, PushedAuthorizationRequest
from tests.factories import RP_REDIRECT, make_client, make_server
from tests.support.jose import verify_jwt
from tests.support.oauth import AuthorizationRequest, Browser, location_params


SCENARIO = {"server": "bank", "profile": policy.FAPI2.name, "scopes": "openid profile"}
ALL_WEB_GRANTS = ("authorization_code", "implicit", "password", "client_credentials", "refresh_token")


@pytest.fixture
def bank(base_url) -> AuthorizationServer:
    server = make_server("bank")
    server.fapi_profile = True
    server.save()
    return server


@pytest.fixture
def web(user):
    return make_client(app_type="web", grant_types=ALL_WEB_GRANTS, skip_consent=True)


def push(authz: AuthorizationRequest, credentials: dict, **kwargs) -> requests.Response:
    """POST ``authz``'s authorization request to the server's /par with ``credentials`` (RFC 9126 §2.1)."""
    params = {k: v[0] for k, v in parse_qs(urlsplit(authz.url).query).items()}
    return requests.post(authz.server.endpoint_url("par"), data=params | credentials, timeout=10, **kwargs)


def fapi_authorize(browser: Browser, auth: AuthorizationRequest, client: FapiClient) -> requests.Response:
    """Send an authorization request to a FAPI server as its client must: pushed to /par (private_key_jwt),
    then the browser at /authorize with the ``request_uri``; return the redirect back."""
    pushed = push(auth, client.assertion())
    assert pushed.status_code == 201, pushed.text
    query = urlencode({"client_id": auth.client.client_id, "request_uri": pushed.json()["request_uri"]})
    return browser.authorize(f"{auth.server.endpoint_url('authorize')}?{query}")


@pytest.fixture
def fapi_client(bank, user) -> FapiClient:
    """A confidential web client of ``bank`` with private_key_jwt (its key registered inline)."""
    client = FapiClient(bank, make_client(app_type="web", grant_types=ALL_WEB_GRANTS, skip_consent=True))
    client.register_keys()
    return client


def assert_redirect_error(response: requests.Response, auth: AuthorizationRequest, error: str) -> dict:
    assert response.status_code == 302, (response.status_code, response.text[:300])
    params = location_params(response)
    assert params.get("error") == error, params
    assert params.get("state") == auth.state and params.get("iss") == auth.server.issuer, params
    assert not params.keys() & {"code", "access_token", "id_token"}, params
    return params


def assert_json_error(response: requests.Response, error: str, status: int = 400) -> dict:
    assert response.status_code == status, (response.status_code, response.text[:300])
    body = response.json()
    assert body["error"] == error, body
    return body


def token(server: AuthorizationServer, data: dict, client) -> requests.Response:
    return requests.post(server.endpoint_url("token"), data=data, auth=(client.client_id, client.secret), timeout=10)


# -- discovery -----------------------------------------------------------------------------------------------


def test_discovery_reflects_the_profile(bank, default_server):
    fapi = requests.get(bank.discovery_url, timeout=10).json()
    plain = requests.get(default_server.discovery_url, timeout=10).json()

    assert fapi["response_types_supported"] == ["code"]
    assert fapi["grant_types_supported"] == ["authorization_code", "client_credentials", "refresh_token"]
    assert fapi["code_challenge_methods_supported"] == ["S256"]
    assert fapi["authorization_response_iss_parameter_supported"] is True
    assert fapi["id_token_signing_alg_values_supported"] and set(fapi["id_token_signing_alg_values_supported"]) <= {
        "PS256",
        "ES256",
    }
    # The switch is per server: default still offers what its clients may use.
    assert "token" in plain["response_types_supported"] and "password" in plain["grant_types_supported"]
    # RFC 8628: the device grant is not in the profile, so neither is its endpoint.
    assert "device_authorization_endpoint" in plain and "device_authorization_endpoint" not in fapi


# -- /authorize ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("response_type", sorted(set(policy.RESPONSE_TYPES) - {"code"}))
def test_implicit_and_hybrid_are_refused(bank, fapi_client, response_type):
    auth = AuthorizationRequest(fapi_client.app, bank, response_type=response_type)

    body = assert_json_error(push(auth, fapi_client.assertion()), "unsupported_response_type")

    assert "code only" in body["error_description"]


def test_the_same_client_uses_implicit_on_a_server_without_the_profile(browser, default_server, web):
    auth = AuthorizationRequest(web, default_server, response_type="token")

    assert "access_token" in location_params(browser.authorize(auth.url))


def test_a_code_request_without_pkce_is_refused(bank, fapi_client):
    auth = AuthorizationRequest(fapi_client.app, bank, pkce=False)  # a web client needs no PKCE elsewhere

    body = assert_json_error(push(auth, fapi_client.assertion()), "invalid_request")

    assert "code challenge" in body["error_description"].lower()


def test_a_code_request_with_plain_pkce_is_refused(bank, fapi_client):
    verifier = generate_token(48)
    auth = AuthorizationRequest(
        fapi_client.app, bank, pkce=False, extra={"code_challenge": verifier, "code_challenge_method": "plain"}
    )

    assert_json_error(push(auth, fapi_client.assertion()), "invalid_request")  # RFC 9700 §2.1.1: S256 only


def test_the_authorization_response_carries_iss(browser, bank, fapi_client):
    auth = AuthorizationRequest(fapi_client.app, bank)

    params = location_params(fapi_authorize(browser, auth, fapi_client))

    # RFC 9207 §2: the issuer identifier beside code and state, against mix-up attacks.
    assert params["iss"] == bank.issuer and params["state"] == auth.state and params["code"]


def test_a_plain_authorization_request_is_refused(browser, bank, fapi_client):
    # FAPI 2.0 §5.3.2.2: PAR only; the same request pushed first is accepted (above).
    auth = AuthorizationRequest(fapi_client.app, bank)

    assert_redirect_error(browser.authorize(auth.url), auth, "invalid_request")


def test_codes_live_at_most_60_seconds(browser, settings, monkeypatch, bank, default_server, web, fapi_client):
    settings.OIDC_FLOWS = {**settings.OIDC_FLOWS, "AUTHORIZATION_CODE_SECONDS": 600}
    on_bank = AuthorizationRequest(fapi_client.app, bank)
    bank_code = location_params(fapi_authorize(browser, on_bank, fapi_client))["code"]
    on_default = AuthorizationRequest(web, default_server)
    default_code = location_params(browser.authorize(on_default.url))["code"]
    later = timezone.now() + timedelta(seconds=61)
    monkeypatch.setattr(timezone, "now", lambda: later)  # the codes' clock; assertions and proofs keep theirs

    data = {"grant_type": "authorization_code", "redirect_uri": RP_REDIRECT}
    expired = fapi_client.dpop_post(
        bank.endpoint_url("token"), data | {"code": bank_code, "code_verifier": on_bank.code_verifier}
    )
    fresh = on_default.token_request(default_code)

    assert_json_error(expired, "invalid_grant")
    assert fresh.status_code == 200, fresh.text  # the configured 600 s elsewhere
    assert Grant.objects.get(code=bank_code).expires <= Grant.objects.get(code=default_code).expires - timedelta(
        seconds=500
    )


# -- /token ------------------------------------------------------------------------------------------------


def test_the_password_grant_is_refused(bank, default_server, web, fapi_client):
    data = {"grant_type": "password", "username": "alice", "password": "correct horse battery staple"}

    body = assert_json_error(fapi_client.dpop_post(bank.endpoint_url("token"), data), "unsupported_grant_type")

    assert "password" in body["error_description"]
    assert token(default_server, data, web).status_code == 200  # the client may, the server may not


@pytest.mark.parametrize("method", ["client_secret_basic", "client_secret_post"])
def test_a_client_with_a_secret_is_refused_at_par_and_at_the_token_endpoint(bank, user, method):
    client = make_client(app_type="web", token_endpoint_auth_method=method, skip_consent=True)
    auth = AuthorizationRequest(client, bank, auth_method=method)
    if method == "client_secret_post":
        credentials, kwargs = {"client_id": client.client_id, "client_secret": client.secret}, {}
    else:
        credentials, kwargs = {}, {"auth": (client.client_id, client.secret)}
    token_request = {"grant_type": "authorization_code", "code": "made-up", "redirect_uri": RP_REDIRECT}

    pushed = push(auth, credentials, **kwargs)
    exchanged = requests.post(bank.endpoint_url("token"), data=token_request | credentials, timeout=10, **kwargs)

    for response in (pushed, exchanged):
        body = assert_json_error(response, "invalid_client", status=401)
        assert "private_key_jwt" in body["error_description"] and method in body["error_description"]
    assert not PushedAuthorizationRequest.objects.filter(application=client).exists()


def test_a_service_with_a_secret_gets_no_token(bank):
    service = make_client(app_type="service")

    assert_json_error(token(bank, {"grant_type": "client_credentials"}, service), "invalid_client", status=401)


@pytest.mark.parametrize("app_type", ["native", "spa"])
def test_a_public_client_is_refused_at_par_and_at_the_token_endpoint(bank, app_type):
    client = make_client(app_type=app_type, skip_consent=True)
    auth = AuthorizationRequest(client, bank)
    token_request = {"grant_type": "authorization_code", "code": "made-up", "redirect_uri": RP_REDIRECT}

    pushed = push(auth, {"client_id": client.client_id})
    exchanged = requests.post(
        bank.endpoint_url("token"), data=token_request | {"client_id": client.client_id}, timeout=10
    )

    for response in (pushed, exchanged):
        body = assert_json_error(response, "invalid_client", status=401)
        assert "confidential" in body["error_description"]


# -- keys ----------------------------------------------------------------------------------------------------


def test_the_switch_makes_the_server_sign_with_ps256(base_url, bank):
    """Turned on by a script (no admin), the server's next signature rotates its RS256 key away."""
    assert bank.signing_keys.get(status="active").alg == "RS256"  # made before the switch

    # Before PAR, DPoP and private_key_jwt are merged nothing signs on a FAPI server over HTTP: sign
    # as /token would, then check the result as a relying party would, against the published JWKS.
    raw = tokens.sign(bank, {"iss": bank.issuer, "sub": "alice", "aud": "rp", "iat": int(time.time())})
    published = requests.get(bank.endpoint_url("keys"), timeout=10).json()
    header = json.loads(
        jwcrypto_jwt.JWT(jwt=raw, key=jwk.JWKSet.from_json(json.dumps(published)), algs=["PS256"]).header
    )
    algs = {k["kid"]: k["alg"] for k in published["keys"]}

    assert header["alg"] == "PS256" and algs[header["kid"]] == "PS256"
    assert "RS256" in algs.values()  # retired, still published: what it signed keeps verifying
    discovery = requests.get(bank.discovery_url, timeout=10).json()
    assert discovery["id_token_signing_alg_values_supported"] == ["PS256"]


# -- the whole flow, once PAR, private_key_jwt and DPoP are merged ------------------------------------------------


def header_of(raw: str) -> dict:
    head = raw.split(".")[0]
    return json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class FapiClient:
    """A FAPI 2.0 client written from the RFCs: private_key_jwt (RFC 7523), PAR (RFC 9126), DPoP (RFC 9449)."""

    def __init__(self, server: AuthorizationServer, application) -> None:
        self.server = server
        self.app = application
        self.client_key = jwk.JWK.generate(kty="EC", crv="P-256", kid="client-1")
        self.dpop_key = jwk.JWK.generate(kty="EC", crv="P-256")
        self.metadata = requests.get(server.discovery_url, timeout=10).json()
        self.nonce: str | None = None

    def register_keys(self) -> None:
        self.app.jwks = {"keys": [self.client_key.export_public(as_dict=True) | {"use": "sig", "alg": "ES256"}]}
        self.app.token_endpoint_auth_method = "private_key_jwt"
        self.app.token_endpoint_auth_signing_alg = "ES256"
        self.app.save()

    def assertion(self) -> dict:
        now = int(time.time())
        claims = {
            "iss": self.app.client_id,
            "sub": self.app.client_id,
            "aud": self.server.issuer,  # FAPI 2.0 §5.3.2.1: the issuer identifier
            "jti": str(uuid.uuid4()),
            "iat": now,
            "exp": now + 60,
        }
        token = jcrypto_sign(self.client_key, {"alg": "ES256", "kid": "client-1", "typ": "JWT"}, claims)
        return {
            "client_id": self.app.client_id,
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": token,
        }

    def proof(self, method: str, url: str, access_token: str | None = None) -> str:
        claims = {"jti": str(uuid.uuid4()), "htm": method, "htu": url, "iat": int(time.time())}
        if self.nonce:
            claims["nonce"] = self.nonce
        if access_token:
            claims["ath"] = b64url(hashlib.sha256(access_token.encode()).digest())
        header = {"typ": "dpop+jwt", "alg": "ES256", "jwk": self.dpop_key.export_public(as_dict=True)}
        return jcrypto_sign(self.dpop_key, header, claims)

    def dpop_post(self, url: str, data: dict) -> requests.Response:
        for _ in range(2):  # RFC 9449 §8: one retry with the server's nonce
            response = requests.post(
                url, data=data | self.assertion(), headers={"DPoP": self.proof("POST", url)}, timeout=10
            )
            if response.headers.get("DPoP-Nonce") and response.status_code == 400:
                self.nonce = response.headers["DPoP-Nonce"]
                continue
            return response
        return response

    def dpop_get(self, url: str, access_token: str) -> requests.Response:
        for _ in range(2):
            headers = {"Authorization": f"DPoP {access_token}", "DPoP": self.proof("GET", url, access_token)}
            response = requests.get(url, headers=headers, timeout=10)
            if response.headers.get("DPoP-Nonce") and response.status_code == 401:
                self.nonce = response.headers["DPoP-Nonce"]
                continue
            return response
        return response


def jcrypto_sign(key: jwk.JWK, header: dict, claims: dict) -> str:
    token = jwcrypto_jwt.JWT(header=header, claims=claims)
    token.make_signed_token(key)
    return token.serialize()


def test_a_fapi_client_completes_the_flow(browser, bank, user):
    client = FapiClient(bank, make_client(app_type="web", skip_consent=True))
    client.register_keys()
    verifier, state, nonce = generate_token(48), generate_token(16), generate_token(16)
    par_url = client.metadata["pushed_authorization_request_endpoint"]
    assert client.metadata["require_pushed_authorization_requests"] is True

    pushed = requests.post(
        par_url,
        data={
            "response_type": "code",
            "redirect_uri": RP_REDIRECT,
            "scope": SCENARIO["scopes"],
            "state": state,
            "nonce": nonce,
            "code_challenge": create_s256_code_challenge(verifier),
            "code_challenge_method": "S256",
        }
        | client.assertion(),
        timeout=10,
    )
    assert pushed.status_code == 201, pushed.text
    query = urlencode({"client_id": client.app.client_id, "request_uri": pushed.json()["request_uri"]})
    params = location_params(browser.authorize(f"{bank.endpoint_url('authorize')}?{query}"))
    assert params["state"] == state and params["iss"] == bank.issuer

    issued = client.dpop_post(
        bank.endpoint_url("token"),
        {
            "grant_type": "authorization_code",
            "code": params["code"],
            "redirect_uri": RP_REDIRECT,
            "code_verifier": verifier,
        },
    )

    assert issued.status_code == 200, issued.text
    body = issued.json()
    assert body["token_type"] == "DPoP"
    jwks_url = bank.endpoint_url("keys")
    at = verify_jwt(body["access_token"], jwks_url=jwks_url, issuer=bank.issuer, audience="api://bank")
    assert at["cnf"]["jkt"] == client.dpop_key.thumbprint()
    id_claims = verify_jwt(body["id_token"], jwks_url=jwks_url, issuer=bank.issuer, audience=client.app.client_id)
    assert id_claims["nonce"] == nonce
    assert header_of(body["id_token"])["alg"] in policy.FAPI2.signing_algs
    userinfo = client.dpop_get(bank.endpoint_url("userinfo"), body["access_token"])
    assert userinfo.status_code == 200 and userinfo.json()["sub"], userinfo.text
    as_bearer = requests.get(
        bank.endpoint_url("userinfo"), headers={"Authorization": f"Bearer {body['access_token']}"}, timeout=10
    )
    assert as_bearer.status_code == 401


def test_introspection_and_revocation_take_private_key_jwt_only(bank, fapi_client):
    # Discovery lists private_key_jwt only for both endpoints; a secret is refused there as at /token.
    service = make_client(app_type="service")
    issued = fapi_client.dpop_post(bank.endpoint_url("token"), {"grant_type": "client_credentials"})
    assert issued.status_code == 200, issued.text
    access_token = issued.json()["access_token"]

    for endpoint in ("introspect", "revoke"):
        refused = requests.post(
            bank.endpoint_url(endpoint),
            data={"token": access_token},
            auth=(service.client_id, service.secret),
            timeout=10,
        )
        body = assert_json_error(refused, "invalid_client", status=401)
        assert "private_key_jwt" in body["error_description"]
    introspected = requests.post(
        bank.endpoint_url("introspect"), data={"token": access_token} | fapi_client.assertion(), timeout=10
    )
    assert introspected.status_code == 200 and introspected.json()["active"] is True, introspected.text
