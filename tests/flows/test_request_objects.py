"""Signed request objects (RFC 9101, JAR) at /authorize and at /par, over HTTP against a live server.

Scenario: the ``default`` server; a web client registers its public keys inline (an RSA and an EC
key, made with jwcrypto) and sends its authorization request as a JWT it signed: by value
(``request``), pushed to /par, or by reference (``request_uri``, a URL it registered, served here by
a local HTTP server). Objects signed with another key, with ``none`` or an HMAC, expired or meant
for another server are refused with ``invalid_request_object``; a parameter beside the object that
contradicts it is ``invalid_request``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
from jwcrypto import jwk, jwt

from tests.factories import make_client
from tests.support.oauth import AuthorizationRequest, location_params
from tests.support.pushed import (
    authorize_url,
    push,
    query_of,
    register_keys,
    request_object,
    signing_key,
    unsigned,
)


SCENARIO = {"server": "default", "scopes": "openid profile email"}


@pytest.fixture(scope="module")
def rsa_key() -> jwk.JWK:
    return signing_key("RSA")


@pytest.fixture(scope="module")
def ec_key() -> jwk.JWK:
    return signing_key("EC")


@pytest.fixture
def web(user, rsa_key, ec_key):
    client = make_client(app_type="web")
    register_keys(client, rsa_key, ec_key)
    return client


@pytest.fixture
def auth(web, default_server) -> AuthorizationRequest:
    return AuthorizationRequest(web, default_server, scope=SCENARIO["scopes"])


class _Objects(BaseHTTPRequestHandler):
    served: dict[str, bytes] = {}

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        body = self.served.get(self.path)
        self.send_response(200 if body is not None else 404)
        self.send_header("Content-Type", "application/oauth-authz-req+jwt")
        self.end_headers()
        self.wfile.write(body or b"")

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def object_host() -> Iterator[tuple[str, dict[str, bytes]]]:
    """A local web server of the client's, serving request objects at paths the test chooses."""
    served: dict[str, bytes] = {}
    handler = type("Objects", (_Objects,), {"served": served})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", served
    server.shutdown()
    server.server_close()


def page_error(response: requests.Response) -> str:
    assert response.status_code == 400, (response.status_code, response.text[:300])
    return response.text


def redirect_error(response: requests.Response) -> dict[str, str]:
    assert response.status_code == 302, (response.status_code, response.text[:300])
    return location_params(response)


# -- accepted ----------------------------------------------------------------------------------------


def test_a_request_object_by_value_signs_in_and_ends_in_tokens(browser, web, default_server, auth, rsa_key):
    signed = request_object(web, default_server, rsa_key, query_of(auth))
    # OIDC Core §6.1: response_type and scope may repeat outside, with the same values.
    url = authorize_url(default_server, web.client_id, request=signed, response_type="code", scope=SCENARIO["scopes"])

    redirect = browser.authorize(url)

    assert location_params(redirect)["state"] == auth.state
    assert "id_token" in auth.exchange(redirect)


def test_a_request_object_pushed_to_par_ends_in_tokens(browser, web, default_server, auth, ec_key):
    signed = request_object(web, default_server, ec_key, query_of(auth), alg="ES256")

    response = push(default_server, web, {"request": signed})
    assert response.status_code == 201, response.text
    redirect = browser.authorize(
        authorize_url(default_server, web.client_id, request_uri=response.json()["request_uri"])
    )

    assert location_params(redirect)["state"] == auth.state
    assert "access_token" in auth.exchange(redirect)


def test_a_registered_request_uri_is_fetched(browser, web, default_server, auth, rsa_key, object_host):
    base, served = object_host
    served["/objects/1"] = request_object(web, default_server, rsa_key, query_of(auth)).encode()
    web.request_uris = f"{base}/objects/"
    web.save()

    redirect = browser.authorize(authorize_url(default_server, web.client_id, request_uri=f"{base}/objects/1"))

    assert location_params(redirect)["state"] == auth.state
    assert "access_token" in auth.exchange(redirect)


def test_discovery_advertises_request_objects(default_server):
    metadata = requests.get(default_server.discovery_url, timeout=10).json()

    assert metadata["request_parameter_supported"] is True
    assert metadata["request_uri_parameter_supported"] is True
    assert metadata["require_request_uri_registration"] is True
    assert set(metadata["request_object_signing_alg_values_supported"]) == {"RS256", "PS256", "ES256"}
    assert metadata["require_signed_request_object"] is False


# -- refused -----------------------------------------------------------------------------------------


def _hs256(web, server, params) -> str:
    # An HMAC "signed" with the client's public RSA modulus: the classic key-confusion attack (RFC 8725 §2.1).
    public = jwk.JWK(**{"kty": "oct", "k": web.jwks["keys"][0]["n"]})
    token = jwt.JWT(header={"alg": "HS256"}, claims={"iss": web.client_id, "aud": server.issuer, **params})
    token.make_signed_token(public)
    return token.serialize()


BAD_OBJECTS = {
    "another key": lambda web, server, key, params: request_object(web, server, signing_key("RSA"), params),
    "alg none": lambda web, server, key, params: unsigned({"iss": web.client_id, "aud": server.issuer, **params}),
    "HS256": lambda web, server, key, params: _hs256(web, server, params),
    "expired": lambda web, server, key, params: request_object(web, server, key, params, exp=int(time.time()) - 600),
    "another audience": lambda web, server, key, params: request_object(
        web, server, key, params, aud="https://other.example"
    ),
    "another issuer": lambda web, server, key, params: request_object(web, server, key, params, iss="someone-else"),
    "another client_id": lambda web, server, key, params: request_object(web, server, key, params, client_id="other"),
    "stale nbf": lambda web, server, key, params: request_object(
        web, server, key, params, nbf=int(time.time()) - 7200, iat=None
    ),
    "not a JWT": lambda web, server, key, params: "not.a-jwt",
}


@pytest.mark.parametrize("kind", BAD_OBJECTS)
def test_a_bad_request_object_is_refused_at_par(web, default_server, auth, rsa_key, kind):
    signed = BAD_OBJECTS[kind](web, default_server, rsa_key, query_of(auth))

    response = push(default_server, web, {"request": signed})

    assert response.status_code == 400, response.text
    assert response.json()["error"] == "invalid_request_object"


@pytest.mark.parametrize("kind", ["another key", "alg none", "HS256", "expired", "another audience"])
def test_a_bad_request_object_is_refused_at_authorize(browser, web, default_server, auth, rsa_key, kind):
    signed = BAD_OBJECTS[kind](web, default_server, rsa_key, query_of(auth))

    on_page = browser.get(authorize_url(default_server, web.client_id, request=signed))
    # With a registered redirect_uri beside it, the client hears of it (RFC 9101 §6.2).
    redirected = browser.get(
        authorize_url(default_server, web.client_id, request=signed, redirect_uri=auth.redirect_uri, state="s1")
    )

    assert "invalid_request_object" in page_error(on_page)
    params = redirect_error(redirected)
    assert params["error"] == "invalid_request_object"
    assert params["state"] == "s1"
    assert "code" not in params


def test_a_parameter_that_conflicts_with_the_request_object_is_refused(browser, web, default_server, auth, rsa_key):
    signed = request_object(web, default_server, rsa_key, query_of(auth))

    at_authorize = browser.get(authorize_url(default_server, web.client_id, request=signed, scope="openid"))
    at_par = push(default_server, web, {"request": signed, "state": "another"})

    params = redirect_error(at_authorize)
    assert params["error"] == "invalid_request"
    assert "conflicts with the request object" in params["error_description"]
    assert at_par.status_code == 400
    assert at_par.json()["error"] == "invalid_request"
    assert "conflicts" in at_par.json()["error_description"]


def test_request_and_request_uri_together_are_refused(browser, web, default_server, auth, rsa_key):
    signed = request_object(web, default_server, rsa_key, query_of(auth))
    url = authorize_url(
        default_server,
        web.client_id,
        request=signed,
        request_uri="https://rp.example/ro/1",
        redirect_uri=auth.redirect_uri,
    )

    assert redirect_error(browser.get(url))["error"] == "invalid_request"


def test_an_unregistered_request_uri_is_never_fetched(browser, web, default_server, auth, rsa_key, object_host):
    base, served = object_host
    served["/objects/1"] = request_object(web, default_server, rsa_key, query_of(auth)).encode()
    web.request_uris = f"{base}/registered/"
    web.save()

    escapes = (f"{base}/objects/1", f"{base}/registered/../objects/1", f"{base}/registered/%2E%2E/objects/1")
    for uri in (*escapes, f"{base}/registeredX/1"):
        response = browser.get(authorize_url(default_server, web.client_id, request_uri=uri))
        assert "invalid_request_uri" in page_error(response)


def test_a_registered_request_uri_that_fails_is_refused(browser, web, default_server, object_host):
    base, _ = object_host
    web.request_uris = f"{base}/objects/"
    web.save()

    response = browser.get(authorize_url(default_server, web.client_id, request_uri=f"{base}/objects/missing"))

    assert "invalid_request_uri" in page_error(response)


# -- required ----------------------------------------------------------------------------------------


def test_an_application_that_requires_signed_objects_refuses_plain_requests(
    browser, web, default_server, auth, rsa_key
):
    web.require_signed_request_object = True
    web.save()

    plain_authorize = redirect_error(browser.get(auth.url))
    plain_par = push(default_server, web, query_of(auth))
    without_exp = push(
        default_server, web, {"request": request_object(web, default_server, rsa_key, query_of(auth), exp=None)}
    )
    signed = push(default_server, web, {"request": request_object(web, default_server, rsa_key, query_of(auth))})

    assert plain_authorize["error"] == "invalid_request"
    assert "signed request objects" in plain_authorize["error_description"]
    assert (plain_par.status_code, plain_par.json()["error"]) == (400, "invalid_request")
    assert (without_exp.status_code, without_exp.json()["error"]) == (400, "invalid_request_object")
    assert signed.status_code == 201, signed.text


def test_a_server_that_requires_signed_objects_says_so(browser, web, default_server, auth):
    default_server.require_signed_request_object = True
    default_server.save()

    metadata = requests.get(default_server.discovery_url, timeout=10).json()

    assert metadata["require_signed_request_object"] is True
    assert redirect_error(browser.get(auth.url))["error"] == "invalid_request"
