"""Authlib (Python) against the IdP under gunicorn: code + PKCE, refresh, client credentials, password,
and client authentication with JWT assertions (RFC 7523).

Scenario: the `default` server; a confidential web client (`authlib-web`, client_secret_basic, code +
refresh + password), a service (`authlib-service`), a web client with private_key_jwt
(`authlib-private-key-jwt`, an RSA key) and a service with client_secret_jwt
(`authlib-client-secret-jwt`). Authlib builds every request and parses every response; tokens are
verified against the published JWKS with joserfc and Authlib's ID token claims.
"""

from __future__ import annotations

import time

import pytest
import requests
from authlib.common.security import generate_token
from authlib.integrations.base_client import OAuthError
from authlib.integrations.requests_client import OAuth2Session
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.jwk import RSAKey

from tests.support import assertions
from tests.support.jose import fetch_jwks, verify_jwt
from tests.support.oauth import Browser, location_params


SCOPES = "openid profile email offline_access"


def verify_id_token(idp, id_token: str, *, client_id: str, nonce: str | None, access_token: str) -> dict:
    """Verify the signature with joserfc against the JWKS, then the claims with Authlib's OIDC rules."""
    decoded = jwt.decode(id_token, fetch_jwks(idp.endpoint("keys")), algorithms=["RS256", "ES256"])
    claims = CodeIDToken(
        decoded.claims,
        decoded.header,
        options={"iss": {"essential": True, "value": idp.issuer}, "aud": {"essential": True, "value": client_id}},
        params={"nonce": nonce, "access_token": access_token, "client_id": client_id},
    )
    claims.validate()
    return claims


def verify_access_token(idp, access_token: str) -> dict:
    return verify_jwt(
        access_token, jwks_url=idp.endpoint("keys"), issuer=idp.issuer, audience="api://default", typ="at+jwt"
    )


@pytest.fixture
def web(idp) -> OAuth2Session:
    client = idp.clients["web"]
    session = OAuth2Session(
        client.client_id,
        client.secret,
        scope=SCOPES,
        redirect_uri=client.redirect_uri,
        code_challenge_method="S256",
        token_endpoint_auth_method="client_secret_basic",
    )
    yield session
    session.close()


def sign_in_with_code(idp, session: OAuth2Session) -> tuple[dict, str]:
    """Authorization Code + PKCE: Authlib builds the request, the user signs in and consents; return (token, nonce)."""
    nonce, verifier = generate_token(20), generate_token(48)
    url, state = session.create_authorization_url(idp.endpoint("authorize"), nonce=nonce, code_verifier=verifier)
    redirect = Browser(idp.base_url).authorize(url, username=idp.username, password=idp.password)
    assert redirect.status_code == 302, redirect.text[:500]
    # RFC 9207: the response names its issuer, so a client with several IdPs cannot be mixed up.
    assert location_params(redirect)["iss"] == idp.issuer
    token = session.fetch_token(
        idp.endpoint("token"),
        authorization_response=redirect.headers["Location"],
        state=state,
        code_verifier=verifier,
        grant_type="authorization_code",  # never Authlib's fallback (client_credentials) if the code is missing
    )
    return token, nonce


def test_code_with_pkce_gives_tokens_that_verify_against_the_jwks(idp, web):
    token, nonce = sign_in_with_code(idp, web)

    assert token["token_type"].lower() == "bearer"
    assert token.keys() >= {"access_token", "id_token", "refresh_token", "expires_in"}
    id_claims = verify_id_token(
        idp, token["id_token"], client_id=web.client_id, nonce=nonce, access_token=token["access_token"]
    )
    assert id_claims["at_hash"]
    assert id_claims["email"] == "alice@example.com"
    access_claims = verify_access_token(idp, token["access_token"])
    assert access_claims["sub"] == id_claims["sub"]
    assert access_claims["client_id"] == web.client_id
    assert set(access_claims["scp"]) == set(SCOPES.split())


def test_userinfo_answers_the_access_token_of_the_code_flow(idp, web):
    token, _ = sign_in_with_code(idp, web)

    response = web.get(idp.endpoint("userinfo"))

    assert response.status_code == 200
    claims = response.json()
    assert claims["sub"] == jwt.decode(token["id_token"], fetch_jwks(idp.endpoint("keys"))).claims["sub"]
    expected = {"email": "alice@example.com", "email_verified": True, "given_name": "Alice", "family_name": "Liddell"}
    assert claims.items() >= expected.items()


def test_refresh_rotates_and_the_old_refresh_token_is_refused(idp, web):
    first, _ = sign_in_with_code(idp, web)

    second = web.refresh_token(idp.endpoint("token"))

    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    verify_id_token(idp, second["id_token"], client_id=web.client_id, nonce=None, access_token=second["access_token"])
    assert verify_access_token(idp, second["access_token"])["client_id"] == web.client_id
    with pytest.raises(OAuthError) as refused:
        web.refresh_token(idp.endpoint("token"), refresh_token=first["refresh_token"])
    assert refused.value.error == "invalid_grant"


def test_client_credentials_gives_a_jwt_for_the_service(idp):
    client = idp.clients["service"]
    with OAuth2Session(client.client_id, client.secret) as session:
        token = session.fetch_token(idp.endpoint("token"), grant_type="client_credentials")

    assert token.keys() >= {"access_token", "expires_in"}
    assert "refresh_token" not in token and "id_token" not in token
    claims = verify_access_token(idp, token["access_token"])
    assert claims["sub"] == client.client_id
    assert claims["exp"] - claims["iat"] == 3600
    assert abs(claims["iat"] - time.time()) < 60


def test_client_credentials_with_a_wrong_secret_is_invalid_client(idp):
    client = idp.clients["service"]
    with OAuth2Session(client.client_id, "not the secret") as session, pytest.raises(OAuthError) as refused:
        session.fetch_token(idp.endpoint("token"), grant_type="client_credentials")
    assert refused.value.error == "invalid_client"


def test_password_grant_for_a_trusted_client(idp, web):
    token = web.fetch_token(
        idp.endpoint("token"), username=idp.username, password=idp.password, scope="openid profile email"
    )

    assert "refresh_token" not in token  # no offline_access asked
    claims = verify_id_token(
        idp, token["id_token"], client_id=web.client_id, nonce=None, access_token=token["access_token"]
    )
    access_claims = verify_access_token(idp, token["access_token"])
    assert access_claims["sub"] == claims["sub"]
    assert set(access_claims["scp"]) == {"openid", "profile", "email"}


def test_password_grant_with_a_wrong_password_is_invalid_grant(idp, web):
    with pytest.raises(OAuthError) as refused:
        web.fetch_token(idp.endpoint("token"), username=idp.username, password="wrong", scope="openid")
    assert refused.value.error == "invalid_grant"


# -- client authentication with JWT assertions (RFC 7523) -------------------------------------------------


@pytest.fixture
def private_key_jwt(idp) -> OAuth2Session:
    client = idp.clients["private-key-jwt"]
    key = RSAKey.import_key(client.private_key)
    session = assertions.session(
        client.client_id,
        key,
        "private_key_jwt",
        alg="PS256",
        scope=SCOPES,
        redirect_uri=client.redirect_uri,
        code_challenge_method="S256",
        revocation_endpoint_auth_method="private_key_jwt",
    )
    yield session
    session.close()


@pytest.fixture
def client_secret_jwt(idp) -> OAuth2Session:
    client = idp.clients["client-secret-jwt"]
    session = assertions.session(
        client.client_id, client.secret, "client_secret_jwt", revocation_endpoint_auth_method="client_secret_jwt"
    )
    yield session
    session.close()


def test_private_key_jwt_code_flow_refresh_and_introspection(idp, private_key_jwt):
    token, nonce = sign_in_with_code(idp, private_key_jwt)

    client_id = private_key_jwt.client_id
    verify_id_token(idp, token["id_token"], client_id=client_id, nonce=nonce, access_token=token["access_token"])
    assert verify_access_token(idp, token["access_token"])["client_id"] == client_id
    refreshed = private_key_jwt.refresh_token(idp.endpoint("token"))  # a new assertion, a new jti
    assert refreshed["refresh_token"] != token["refresh_token"]
    # The assertion's aud is the introspection endpoint's URL, which Authlib calls.
    introspected = private_key_jwt.introspect_token(idp.endpoint("introspect"), token=refreshed["access_token"])
    assert introspected.status_code == 200
    assert introspected.json()["active"] is True and introspected.json()["client_id"] == client_id


def test_client_secret_jwt_client_credentials_then_revocation(idp, client_secret_jwt):
    token = client_secret_jwt.fetch_token(idp.endpoint("token"), grant_type="client_credentials")

    claims = verify_access_token(idp, token["access_token"])
    assert claims["sub"] == claims["client_id"] == client_secret_jwt.client_id
    active = client_secret_jwt.introspect_token(idp.endpoint("introspect"), token=token["access_token"])
    assert active.json()["active"] is True
    assert client_secret_jwt.revoke_token(idp.endpoint("revoke"), token=token["access_token"]).status_code == 200
    after = client_secret_jwt.introspect_token(idp.endpoint("introspect"), token=token["access_token"])
    assert after.json() == {"active": False}


def test_a_replayed_or_misdirected_assertion_is_invalid_client(idp):
    """The IdP records each jti in its database here (its cache is per process): a replay is refused."""
    client = idp.clients["private-key-jwt"]
    key = RSAKey.import_key(client.private_key)
    token_url = idp.endpoint("token")
    assertion = assertions.signed(assertions.claims_for(client.client_id, token_url), key, "RS256")
    form = {"grant_type": "client_credentials", **assertions.assertion_form(assertion)}
    # The web client holds no client_credentials grant: authenticated, then unauthorized_client.
    first = requests.post(token_url, data=form, timeout=10)
    assert first.status_code == 400 and first.json()["error"] == "unauthorized_client", first.text

    replayed = requests.post(token_url, data=form, timeout=10)
    assert replayed.status_code == 401 and replayed.json()["error"] == "invalid_client"
    assert "already used" in replayed.json()["error_description"] and assertion not in replayed.text

    elsewhere = assertions.signed(
        assertions.claims_for(client.client_id, "https://other-idp.example/token"), key, "RS256"
    )
    misdirected = requests.post(token_url, data=form | {"client_assertion": elsewhere}, timeout=10)
    assert misdirected.status_code == 401 and "aud" in misdirected.json()["error_description"]


def test_basic_plus_a_wrong_secret_in_the_body_is_invalid_request(idp):
    """RFC 6749 §2.3: one method per request; the IdP once read the header and ignored the body."""
    client = idp.clients["service"]
    response = requests.post(
        idp.endpoint("token"),
        data={"grant_type": "client_credentials", "client_id": client.client_id, "client_secret": "wrong"},
        auth=(client.client_id, client.secret),
        timeout=10,
    )

    assert response.status_code == 400 and response.json()["error"] == "invalid_request"
