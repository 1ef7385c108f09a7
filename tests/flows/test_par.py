"""Pushed Authorization Requests (RFC 9126), over HTTP against a live server.

Scenario: the ``default`` server; a confidential web client pushes its authorization request to
/par with its secret (a public spa client with its client_id), sends alice's browser to /authorize
with the ``request_uri`` it got, and alice signs in and consents there. The pushed parameters are
the only ones that count, the ``request_uri`` works once and for 60 seconds, and an application
or server that requires PAR refuses plain requests.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import requests
from django.utils import timezone

from oidc_flows import policy
from oidc_flows.models import PushedAuthorizationRequest
from tests.factories import make_client
from tests.support.dpop import DPoPKey, claims_of
from tests.support.jose import verify_jwt
from tests.support.oauth import AuthorizationRequest, Browser, is_sign_in_form, location_params
from tests.support.pushed import authorize_url, push, pushed_uri, query_of


SCENARIO = {"server": "default", "scopes": "openid profile email"}


@pytest.fixture
def web(user):
    return make_client(app_type="web")


@pytest.fixture
def spa(user):
    return make_client(app_type="spa")


@pytest.fixture
def stranger(base_url):
    """Another browser: someone who saw the URL (in a log, over a shoulder) but not alice's cookies."""
    other = Browser(base_url)
    yield other
    other.http.close()


def pushed_request(client, server, **extra) -> tuple[AuthorizationRequest, str]:
    """Push an authorization request built as a client library builds it; return it and its request_uri."""
    auth = AuthorizationRequest(client, server, scope=SCENARIO["scopes"], extra=extra)
    return auth, pushed_uri(server, client, query_of(auth))


def error_of(response: requests.Response) -> dict[str, str]:
    assert response.status_code == 302, (response.status_code, response.text[:300])
    return location_params(response)


# -- the endpoint ------------------------------------------------------------------------------------


def test_a_push_answers_201_with_a_single_use_request_uri_that_no_cache_keeps(web, default_server):
    auth = AuthorizationRequest(web, default_server, scope=SCENARIO["scopes"])

    response = push(default_server, web, query_of(auth))

    assert response.status_code == 201, response.text
    body = response.json()
    assert body["expires_in"] == 60
    assert body["request_uri"].startswith("urn:ietf:params:oauth:request_uri:")
    assert len(body["request_uri"]) > len("urn:ietf:params:oauth:request_uri:") + 40  # random, unguessable
    assert response.headers["Cache-Control"] == "no-store"


def test_the_org_server_has_a_par_endpoint_too(web, org_server):
    auth = AuthorizationRequest(web, org_server, scope="openid")
    assert push(org_server, web, query_of(auth)).status_code == 201
    assert org_server.endpoint_url("par").endswith("/oauth2/v1/par")


def test_discovery_advertises_the_endpoint(default_server):
    metadata = requests.get(default_server.discovery_url, timeout=10).json()

    assert metadata["pushed_authorization_request_endpoint"] == default_server.endpoint_url("par")
    assert metadata["require_pushed_authorization_requests"] is False


@pytest.mark.parametrize(
    ("change", "status", "error"),
    [
        ({"auth": ("wrong", "secret")}, 401, "invalid_client"),
        ({"redirect_uri": "https://evil.example/cb"}, 400, "invalid_request"),
        ({"scope": "openid unknown-scope"}, 400, "invalid_scope"),
        ({"response_type": "token"}, 400, "unauthorized_client"),  # a web app without the implicit grant
        ({"response_type": "code", "code_challenge_method": "plain"}, 400, "invalid_request"),
        ({"request_uri": "urn:ietf:params:oauth:request_uri:abc"}, 400, "invalid_request"),  # RFC 9126 §2.1
        ({"prompt": "bogus"}, 400, "invalid_request"),
        ({"response_type": "code id_token", "response_mode": "query"}, 400, "invalid_request"),
    ],
)
def test_a_push_is_validated_as_authorize_would_and_refused_with_json(web, default_server, change, status, error):
    auth = AuthorizationRequest(web, default_server, scope=SCENARIO["scopes"])
    change = dict(change)
    kwargs = {"auth": change.pop("auth")} if "auth" in change else {}

    response = push(default_server, web, query_of(auth) | change, **kwargs)

    assert response.status_code == status, response.text
    assert response.json()["error"] == error
    assert response.headers["Cache-Control"] == "no-store"
    assert not PushedAuthorizationRequest.objects.exists()


def test_a_confidential_client_without_its_secret_is_refused(web, default_server):
    auth = AuthorizationRequest(web, default_server, scope=SCENARIO["scopes"])

    response = push(default_server, web, query_of(auth) | {"client_id": web.client_id}, auth=None)

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert "Basic" in response.headers["WWW-Authenticate"]


def test_a_public_client_without_pkce_is_refused(spa, default_server):
    auth = AuthorizationRequest(spa, default_server, scope=SCENARIO["scopes"], pkce=False)

    response = push(default_server, spa, query_of(auth))

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


def test_par_takes_post_only(default_server, web):
    assert requests.get(default_server.endpoint_url("par"), timeout=10).status_code == 405


# -- the flow ----------------------------------------------------------------------------------------


def test_a_pushed_request_signs_in_consents_and_ends_in_tokens(browser, web, default_server):
    auth, request_uri = pushed_request(web, default_server)
    url = authorize_url(default_server, web.client_id, request_uri=request_uri)

    redirect = browser.authorize(url)  # sign-in page, back to /authorize, consent page, POST

    assert any(is_sign_in_form(page) for page in browser.pages)
    assert any('name="decision"' in page.text for page in browser.pages)
    params = location_params(redirect)
    assert params["state"] == auth.state
    assert params["iss"] == default_server.issuer
    token = auth.exchange(redirect)
    claims = verify_jwt(
        token["id_token"],
        jwks_url=default_server.endpoint_url("keys"),
        issuer=default_server.issuer,
        audience=web.client_id,
    )
    assert claims["nonce"] == auth.nonce
    assert claims["email"] == "alice@example.com"


def test_a_public_client_pushes_with_its_client_id(browser, spa, default_server):
    auth, request_uri = pushed_request(spa, default_server)

    redirect = browser.authorize(authorize_url(default_server, spa.client_id, request_uri=request_uri))

    assert "access_token" in auth.exchange(redirect)


def test_the_query_beside_the_request_uri_is_ignored(browser, web, default_server):
    auth = AuthorizationRequest(web, default_server, scope="openid")
    request_uri = pushed_uri(default_server, web, query_of(auth))
    url = authorize_url(
        default_server,
        web.client_id,
        request_uri=request_uri,
        scope="openid profile email",
        redirect_uri="https://evil.example/cb",
        state="attacker",
        response_type="token",
    )

    redirect = browser.authorize(url)

    assert redirect.headers["Location"].startswith(auth.redirect_uri)
    assert location_params(redirect)["state"] == auth.state
    token = auth.exchange(redirect)
    assert token["scope"] == "openid"


def test_a_request_uri_works_once(browser, stranger, web, default_server):
    _, request_uri = pushed_request(web, default_server)
    url = authorize_url(default_server, web.client_id, request_uri=request_uri)
    assert "code" in location_params(browser.authorize(url))

    again = browser.authorize(url)  # the same browser, after its flow ended
    other = stranger.authorize(url)

    for response in (again, other):
        params = error_of(response)
        assert params["error"] == "invalid_request_uri"
        assert "code" not in params


def test_a_request_uri_is_spent_for_everyone_but_the_browser_that_redeemed_it(browser, stranger, web, default_server):
    auth, request_uri = pushed_request(web, default_server)
    url = authorize_url(default_server, web.client_id, request_uri=request_uri)
    first = browser.get(url)
    assert first.status_code == 302 and "/login/" in first.headers["Location"]  # alice is asked to sign in

    attacker = stranger.get(url)  # while alice signs in
    assert error_of(attacker)["error"] == "invalid_request_uri"

    redirect = browser.authorize(url)  # alice goes on: sign-in, back to /authorize, consent
    assert location_params(redirect)["state"] == auth.state
    assert "access_token" in auth.exchange(redirect)


def test_an_expired_request_uri_is_refused(browser, web, default_server):
    auth, request_uri = pushed_request(web, default_server)
    PushedAuthorizationRequest.objects.update(expires=timezone.now() - timedelta(seconds=1))

    response = browser.get(authorize_url(default_server, web.client_id, request_uri=request_uri))

    params = error_of(response)
    assert params["error"] == "invalid_request_uri"
    assert params["state"] == auth.state
    assert response.headers["Location"].startswith(auth.redirect_uri)


def test_a_request_uri_lives_60_seconds(web, default_server):
    before = timezone.now()
    pushed_request(web, default_server)
    row = PushedAuthorizationRequest.objects.get()
    assert timedelta(seconds=59) <= row.expires - before <= timedelta(seconds=61)


def test_another_clients_request_uri_is_refused_on_our_page(browser, web, default_server):
    _, request_uri = pushed_request(web, default_server)
    other = make_client(app_type="web")

    response = browser.get(authorize_url(default_server, other.client_id, request_uri=request_uri))

    assert response.status_code == 400
    assert "invalid_request_uri" in response.text
    assert PushedAuthorizationRequest.objects.get().used_at is None  # not spent by the attempt


def test_a_request_uri_of_another_server_is_refused(browser, web, default_server, org_server):
    _, request_uri = pushed_request(web, org_server)

    response = browser.get(authorize_url(default_server, web.client_id, request_uri=request_uri))

    assert response.status_code == 400
    assert "invalid_request_uri" in response.text


def test_a_made_up_request_uri_is_refused_on_our_page(browser, web, default_server):
    url = authorize_url(default_server, web.client_id, request_uri=policy.PAR_URN_PREFIX + "x" * 43)

    response = browser.get(url)

    assert response.status_code == 400
    assert "invalid_request_uri" in response.text


def test_prompt_login_in_a_pushed_request_asks_for_the_password_once(browser, web, default_server):
    assert browser.sign_in().status_code == 302
    auth, request_uri = pushed_request(web, default_server, prompt="login", max_age="0")

    redirect = browser.authorize(authorize_url(default_server, web.client_id, request_uri=request_uri))

    assert sum(is_sign_in_form(page) for page in browser.pages) == 1
    assert location_params(redirect)["state"] == auth.state
    assert "code" in location_params(redirect)


# -- require PAR -------------------------------------------------------------------------------------


def test_an_application_that_requires_par_has_its_plain_requests_refused(browser, web, default_server):
    web.require_pushed_authorization_requests = True
    web.save()
    auth = AuthorizationRequest(web, default_server, scope=SCENARIO["scopes"])

    params = error_of(browser.authorize(auth.url))

    assert params["error"] == "invalid_request"
    assert "PAR" in params["error_description"]
    assert params["state"] == auth.state
    _, request_uri = pushed_request(web, default_server)  # pushed, it goes through
    assert "code" in location_params(
        browser.authorize(authorize_url(default_server, web.client_id, request_uri=request_uri))
    )


def test_a_server_that_requires_par_refuses_plain_requests_and_says_so(browser, web, default_server):
    default_server.require_pushed_authorization_requests = True
    default_server.save()
    auth = AuthorizationRequest(web, default_server, scope=SCENARIO["scopes"])

    params = error_of(browser.authorize(auth.url))
    metadata = requests.get(default_server.discovery_url, timeout=10).json()

    assert params["error"] == "invalid_request"
    assert metadata["require_pushed_authorization_requests"] is True


def test_a_browser_app_may_push_from_its_registered_origin(user, default_server):
    spa = make_client(app_type="spa", allowed_origins=("https://app.example",))
    auth = AuthorizationRequest(spa, default_server, scope=SCENARIO["scopes"])

    ours = push(default_server, spa, query_of(auth), headers={"Origin": "https://app.example"})
    foreign = push(default_server, spa, query_of(auth), headers={"Origin": "https://evil.example"})

    assert ours.status_code == 201
    assert ours.headers["Access-Control-Allow-Origin"] == "https://app.example"
    assert "Access-Control-Allow-Origin" not in foreign.headers


# -- a DPoP proof with the push (RFC 9449 §10.1) -----------------------------------------------------------


def test_a_dpop_proof_sent_with_a_push_binds_the_code_to_its_key(browser, spa, default_server):
    key, other = DPoPKey(), DPoPKey()
    auth = AuthorizationRequest(spa, default_server, scope=SCENARIO["scopes"])
    par_url = default_server.endpoint_url("par")
    pushed = push(default_server, spa, query_of(auth), headers={"DPoP": key.proof("POST", par_url)})
    assert pushed.status_code == 201, pushed.text
    url = authorize_url(default_server, spa.client_id, request_uri=pushed.json()["request_uri"])
    code = location_params(browser.authorize(url))["code"]
    token_url = default_server.endpoint_url("token")

    with_another_key = auth.token_request(code, headers={"DPoP": other.proof("POST", token_url)})
    with_its_key = auth.token_request(code, headers={"DPoP": key.proof("POST", token_url)})

    assert with_another_key.status_code == 400 and with_another_key.json()["error"] == "invalid_grant"
    assert with_its_key.status_code == 200, with_its_key.text
    assert claims_of(with_its_key.json()["access_token"])["cnf"] == {"jkt": key.jkt}


def test_a_push_whose_dpop_proof_is_bad_or_unlike_its_dpop_jkt_is_refused(spa, default_server):
    key = DPoPKey()
    auth = AuthorizationRequest(spa, default_server, scope=SCENARIO["scopes"])
    par_url = default_server.endpoint_url("par")
    token_url = default_server.endpoint_url("token")

    for_the_token_endpoint = push(default_server, spa, query_of(auth), headers={"DPoP": key.proof("POST", token_url)})
    unlike_dpop_jkt = push(
        default_server,
        spa,
        query_of(auth) | {"dpop_jkt": DPoPKey().jkt},
        headers={"DPoP": key.proof("POST", par_url)},
    )

    for refused in (for_the_token_endpoint, unlike_dpop_jkt):
        assert refused.status_code == 400 and refused.json()["error"] == "invalid_dpop_proof", refused.text
    assert not PushedAuthorizationRequest.objects.filter(application=spa).exists()
