"""Every application type × grant type and response type against a live server, compared with the
hand-written expectations of expected_matrix.py (and through them, with the seeds)."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
import requests

from tests.factories import PASSWORD, make_client
from tests.flows import expected_matrix as X
from tests.support.jose import half_hash, verify_jwt
from tests.support.oauth import AuthorizationRequest, location_params


TOKEN_GRANTS = ["authorization_code", "refresh_token", "password", "client_credentials"]


def client_with_max_grants(app_type: str):
    return make_client(app_type=app_type, grant_types=X.max_grants(app_type))


def post_token(server, client, **data) -> requests.Response:
    auth = (client.client_id, client.secret) if client.secret else None
    if not client.secret:
        data["client_id"] = client.client_id
    return requests.post(server.endpoint_url("token"), data=data, auth=auth, timeout=10)


def code_for(browser, server, client, scope: str) -> tuple[AuthorizationRequest, str]:
    auth = AuthorizationRequest(client, server, scope=scope, pkce=True)
    return auth, location_params(browser.authorize(auth.url))["code"]


def attempt(grant: str, browser, server, client) -> requests.Response:
    """One token request with ``grant``, made as well as that client can make it."""
    if grant == "password":
        return post_token(server, client, grant_type="password", username="alice", password=PASSWORD, scope="openid")
    if grant == "client_credentials":
        return post_token(server, client, grant_type="client_credentials")
    if not client.redirect_uris:  # a service cannot get a code at all: send a made-up one
        return post_token(server, client, grant_type=grant, code="x", refresh_token="x")
    auth, code = code_for(browser, server, client, "openid offline_access")
    first = auth.token_request(code)
    if grant == "authorization_code":
        return first
    return post_token(server, client, grant_type="refresh_token", refresh_token=first.json()["refresh_token"])


@pytest.mark.parametrize("app_type", X.APP_TYPES)
@pytest.mark.parametrize("grant", TOKEN_GRANTS)
def test_token_endpoint_grant_matrix(browser, default_server, app_type, grant):
    client = client_with_max_grants(app_type)

    response = attempt(grant, browser, default_server, client)

    if X.availability(grant, app_type) == "never":
        assert response.status_code in (400, 401), response.text
        # RFC 6749 §5.2; a public client cannot authenticate for client_credentials (§4.4).
        assert response.json()["error"] in {"unauthorized_client", "invalid_client"}
    else:
        assert response.status_code == 200, response.text
        assert response.json()["token_type"] == "Bearer"


@pytest.mark.parametrize("grant", ["password", "client_credentials"])
def test_optional_grant_is_refused_until_an_administrator_enables_it(browser, default_server, grant):
    client = make_client(app_type="web")  # defaults: authorization_code refresh_token

    response = attempt(grant, browser, default_server, client)

    assert response.status_code == 400
    assert response.json()["error"] == "unauthorized_client"


@pytest.mark.parametrize(("grant", "scopes"), sorted(X.TOKEN_ENDPOINT, key=str))
def test_tokens_returned_by_the_token_endpoint(browser, default_server, grant, scopes):
    client = make_client(
        app_type="service" if grant == "client_credentials" else "web",
        grant_types=[] if grant == "client_credentials" else ["authorization_code", "password", "refresh_token"],
    )
    scope = " ".join(sorted(scopes))
    if grant == "authorization_code":
        auth, code = code_for(browser, default_server, client, scope)
        response = auth.token_request(code)
    else:
        data = {"username": "alice", "password": PASSWORD} if grant == "password" else {}
        response = post_token(default_server, client, grant_type=grant, scope=scope, **data)

    assert response.status_code == 200, response.text
    body = response.json()
    assert {k for k in body if k.endswith("_token")} == X.TOKEN_ENDPOINT[(grant, scopes)]
    if "id_token" in body:
        claims = verify_jwt(
            body["id_token"],
            jwks_url=default_server.endpoint_url("keys"),
            issuer=default_server.issuer,
            audience=client.client_id,
        )
        assert claims["at_hash"] == half_hash(body["access_token"])


@pytest.mark.parametrize("app_type", X.APP_TYPES)
@pytest.mark.parametrize("response_type", sorted(X.RESPONSE_TYPES))
def test_authorize_response_type_matrix(browser, default_server, app_type, response_type):
    client = client_with_max_grants(app_type)
    needs, returns, mode = X.RESPONSE_TYPES[response_type]
    auth = AuthorizationRequest(client, default_server, scope="openid profile", response_type=response_type)

    response = browser.authorize(auth.url)

    if X.availability(needs, app_type) == "never":
        # A service has no redirect URI: an error page, never a redirect (RFC 6749 §4.1.2.1).
        assert response.status_code == 400 and "Location" not in response.headers
        return
    assert response.status_code == 302, response.text[:300]
    location = response.headers["Location"]
    assert ("#" in location) == (mode == "fragment")
    params = location_params(response)
    assert params["state"] == auth.state and params["iss"] == default_server.issuer
    assert {k for k in params if k in {"code", "access_token", "id_token", "refresh_token"}} == returns
    if "id_token" in params:
        claims = verify_jwt(
            params["id_token"],
            jwks_url=default_server.endpoint_url("keys"),
            issuer=default_server.issuer,
            audience=client.client_id,
        )
        assert claims["nonce"] == auth.nonce  # OIDC Core §3.2.2.11
        if "access_token" in params:
            assert claims["at_hash"] == half_hash(params["access_token"])
        if "code" in params:
            assert claims["c_hash"] == half_hash(params["code"])
    if "access_token" in params:
        verify_jwt(
            params["access_token"],
            jwks_url=default_server.endpoint_url("keys"),
            issuer=default_server.issuer,
            audience="api://default",
            typ="at+jwt",
        )


@pytest.mark.parametrize("response_type", ["token", "id_token token"])
def test_implicit_is_refused_until_an_administrator_enables_it(browser, default_server, response_type):
    client = make_client(app_type="spa")

    params = location_params(
        browser.authorize(AuthorizationRequest(client, default_server, response_type=response_type).url)
    )

    assert params["error"] == "unauthorized_client"


@pytest.mark.parametrize("response_type", ["id_token", "id_token token", "code id_token", "code id_token token"])
def test_id_token_from_authorize_requires_a_nonce(browser, default_server, response_type):
    client = client_with_max_grants("web")
    auth = AuthorizationRequest(client, default_server, response_type=response_type)
    parts = urlsplit(auth.url)
    url = parts._replace(query=urlencode([(k, v) for k, v in parse_qsl(parts.query) if k != "nonce"])).geturl()

    params = location_params(browser.authorize(url))

    assert params["error"] == "invalid_request"
    assert "nonce" in params["error_description"]


@pytest.mark.parametrize("response_type", ["token", "id_token", "code id_token", "code token"])
def test_tokens_never_travel_in_the_query_string(browser, default_server, response_type):
    client = client_with_max_grants("web")
    auth = AuthorizationRequest(client, default_server, response_type=response_type, extra={"response_mode": "query"})

    response = browser.authorize(auth.url)

    assert "#" in response.headers["Location"]  # the error itself goes in the safe mode
    params = location_params(response)
    assert params["error"] == "invalid_request"
    assert "access_token" not in params and "id_token" not in params and "code" not in params


@pytest.mark.parametrize("response_type", ["code", "code id_token"])
def test_form_post_response_mode(browser, default_server, response_type):
    client = client_with_max_grants("web")
    auth = AuthorizationRequest(
        client, default_server, response_type=response_type, extra={"response_mode": "form_post"}
    )

    page = browser.authorize(auth.url)

    assert page.status_code == 200
    assert f'action="{client.redirect_uris}"' in page.text
    assert f'name="state" value="{auth.state}"' in page.text
    assert 'name="code"' in page.text
    assert ('name="id_token"' in page.text) == ("id_token" in response_type)


def test_flow_table_page_and_json_match_the_seeds(base_url):
    table = requests.get(f"{base_url}/flows.json", timeout=10).json()
    page = requests.get(f"{base_url}/flows", timeout=10)

    grants = {g["grant_type"]: g["availability"] for g in table["grant_types"]}
    assert grants == {g: dict(zip(X.APP_TYPES, row, strict=True)) for g, row in X.GRANTS.items()}
    for row in table["response_types"]:
        needs, returns, mode = X.RESPONSE_TYPES[row["response_type"]]
        assert set(row["returns_from_authorize"]) == returns and row["default_response_mode"] == mode
        assert row["availability"] == {t: X.availability(needs, t) for t in X.APP_TYPES}
    assert page.status_code == 200
    for name in X.RESPONSE_TYPES:
        assert f"<code>{name}</code>" in page.text


@pytest.mark.parametrize(
    ("app_type", "grant", "words"),
    [
        ("spa", "password", "can never use the password grant"),
        ("web", "password", "not enabled for the password grant"),
        ("service", "authorization_code", "can never use the authorization_code grant"),
    ],
)
def test_refusals_say_why(browser, default_server, app_type, grant, words):
    client = make_client(app_type=app_type)

    body = attempt(grant, browser, default_server, client).json()

    assert body["error"] == "unauthorized_client"
    assert words in body["error_description"]
