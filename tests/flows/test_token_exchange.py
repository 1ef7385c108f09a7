"""Token Exchange (RFC 8693), Okta's on-behalf-of flow.

Scenario: a user signs in to app A on ``default``; A calls its API, whose service client S trades the
user's token for one on ``orders`` (audience api://orders) to call the orders API on the user's behalf.
One end-to-end flow on the live server (Authlib for the exchange, joserfc for the result); the error
cases go through Django's test client, with subject tokens from the real /token.
"""

from __future__ import annotations

import base64
import json
import time
from urllib.parse import urlencode

import pytest
import requests
from authlib.integrations.requests_client import OAuth2Session
from django.contrib.auth import get_user_model
from django.test import Client

from oidc_flows import policy, subjects
from oidc_flows.models import AccessPolicy, AuthorizationServer, PolicyRule, Scope
from tests.factories import PASSWORD, make_client, make_server, make_user
from tests.support.dpop import DPoPKey
from tests.support.jose import verify_jwt
from tests.support.oauth import AuthorizationRequest


EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
ACCESS_TOKEN = "urn:ietf:params:oauth:token-type:access_token"
ID_TOKEN = "urn:ietf:params:oauth:token-type:id_token"


def make_orders() -> AuthorizationServer:
    """The orders API's server: like any new Okta server, nothing is issued until a policy allows it."""
    orders = make_server("orders", default_policy=False)
    Scope.objects.create(server=orders, name="orders:read", description="See your orders.")
    return orders


def allow_exchange(server: AuthorizationServer, *clients, scopes: str = "") -> PolicyRule:
    """An access policy of ``server`` for ``clients`` whose one rule allows token exchange only."""
    access_policy = AccessPolicy.objects.create(server=server, name="On behalf of", all_clients=False)
    access_policy.clients.set(clients)
    return PolicyRule.objects.create(
        policy=access_policy, name="Exchange", grant_types=policy.Grant.TOKEN_EXCHANGE, scopes=scopes
    )


def claims_of(jwt: str) -> dict:
    """A JWT's payload, unverified: only for tokens the test got straight from the server."""
    part = jwt.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def service_with_exchange():
    return make_client(app_type="service", grant_types=["client_credentials", policy.Grant.TOKEN_EXCHANGE])


# -- end to end ------------------------------------------------------------------------------------
def test_a_service_exchanges_a_users_token_for_one_on_another_server(browser, default_server):
    orders = make_orders()
    app = make_client(app_type="web")
    service = service_with_exchange()
    allow_exchange(orders, service)
    # The user signs in to app A, which gets an access token for its API (api://default).
    signin = AuthorizationRequest(app, default_server, scope="openid profile email")
    subject = signin.exchange(browser.authorize(signin.url))["access_token"]
    subject_claims = verify_jwt(
        subject, jwks_url=default_server.endpoint_url("keys"), issuer=default_server.issuer, audience="api://default"
    )

    # The API's service client trades it for a token for the orders API (Authlib, client_secret_basic).
    session = OAuth2Session(service.client_id, service.secret, scope="profile email")
    token = session.fetch_token(
        default_server.endpoint_url("token"),
        grant_type=EXCHANGE,
        subject_token=subject,
        subject_token_type=ACCESS_TOKEN,
        audience="api://orders",
    )

    assert token["issued_token_type"] == ACCESS_TOKEN and token["token_type"] == "Bearer"
    assert "refresh_token" not in token and "id_token" not in token
    assert 0 < token["expires_in"] <= subject_claims["exp"] - subject_claims["iat"]
    claims = verify_jwt(
        token["access_token"],
        jwks_url=orders.endpoint_url("keys"),
        issuer=orders.issuer,
        audience="api://orders",
        typ="at+jwt",
    )
    assert claims["sub"] == subject_claims["sub"]  # the same user
    assert claims["act"] == {"sub": service.client_id}  # RFC 8693 §4.1: who acts for them
    assert claims["client_id"] == service.client_id
    assert set(claims["scp"]) == {"profile", "email"} and set(claims["scp"]) <= set(subject_claims["scp"])
    # Only the orders server vouches for it.
    credentials = (service.client_id, service.secret)
    at_orders = requests.post(
        orders.endpoint_url("introspect"), data={"token": token["access_token"]}, auth=credentials, timeout=10
    ).json()
    assert at_orders["active"] is True and at_orders["act"] == {"sub": service.client_id}
    assert at_orders["sub"] == subject_claims["sub"] and at_orders["aud"] == "api://orders"
    at_default = requests.post(
        default_server.endpoint_url("introspect"), data={"token": token["access_token"]}, auth=credentials, timeout=10
    ).json()
    assert at_default == {"active": False}
    # Discovery: custom servers offer the grant, the org server does not.
    assert EXCHANGE in requests.get(default_server.discovery_url, timeout=10).json()["grant_types_supported"]
    org = AuthorizationServer.objects.get(is_org=True)
    assert EXCHANGE not in requests.get(org.discovery_url, timeout=10).json()["grant_types_supported"]


# -- error cases (Django's test client: no live server) --------------------------------------------
@pytest.fixture
def setup(db):
    """default (its permissive default policy), orders (exchange allowed for S), alice, A, S."""
    make_user()
    orders = make_orders()
    trusted = make_client(app_type="web", grant_types=["authorization_code", "password", "refresh_token"])
    service = service_with_exchange()
    allow_exchange(orders, service)
    default = AuthorizationServer.objects.get(server_id="default")
    return {"default": default, "orders": orders, "app": trusted, "service": service, "http": Client()}


def basic(client) -> str:
    return "Basic " + base64.b64encode(f"{client.client_id}:{client.secret}".encode()).decode()


def post_token(setup, client, data: dict, server: AuthorizationServer | None = None, **headers) -> tuple[int, dict]:
    server = server or setup["default"]
    path = server.endpoint_url("token").removeprefix(server.issuer.split("/oauth2")[0])
    response = setup["http"].post(
        path,
        urlencode(data, doseq=True),
        content_type=policy.FORM_CONTENT_TYPE,
        HTTP_AUTHORIZATION=basic(client),
        **headers,
    )
    assert response["Cache-Control"] == "no-store" and response["Content-Type"].startswith("application/json")
    return response.status_code, response.json()


def users_token(setup, scope: str = "openid profile email", server=None) -> str:
    """alice's access token for app A's API on default (the password grant: no browser needed)."""
    data = {"grant_type": "password", "username": "alice", "password": PASSWORD, "scope": scope}
    status, body = post_token(setup, setup["app"], data, server)
    assert status == 200, body
    return body["access_token"]


def exchange(setup, subject: str, *, client=None, server=None, headers=None, **extra) -> tuple[int, dict]:
    data = {"grant_type": EXCHANGE, "subject_token": subject, "subject_token_type": ACCESS_TOKEN}
    data |= {"audience": "api://orders"} | extra
    data = {k: v for k, v in data.items() if v is not None}
    return post_token(setup, client or setup["service"], data, server, **(headers or {}))


@pytest.fixture
def orders_read_scope_on_default(setup):
    Scope.objects.create(server=setup["default"], name="orders:read", description="See your orders.")


def test_scopes_default_to_the_subject_tokens_that_the_target_knows(setup, orders_read_scope_on_default):
    status, body = exchange(setup, users_token(setup, "openid orders:read"))

    assert status == 200, body
    assert body["scope"] == "openid orders:read"
    assert claims_of(body["access_token"])["scp"] == ["openid", "orders:read"]


def test_the_target_may_be_named_as_a_resource(setup):
    status, body = exchange(setup, users_token(setup), audience=None, resource="api://orders", scope="profile")

    assert status == 200, body
    assert claims_of(body["access_token"])["aud"] == "api://orders"


def test_a_delegation_chain_nests_the_previous_actor(setup, orders_read_scope_on_default):
    first = make_client(app_type="service", grant_types=[policy.Grant.TOKEN_EXCHANGE])
    # First hop: `first` exchanges the user's token for default again (default's policy allows any client);
    # second hop: S exchanges that result for orders.
    status, hop = exchange(setup, users_token(setup), client=first, audience="api://default")
    assert status == 200, hop
    status, body = exchange(setup, hop["access_token"])

    assert status == 200, body
    assert claims_of(body["access_token"])["act"] == {
        "sub": setup["service"].client_id,
        "act": {"sub": first.client_id},
    }


def test_with_a_dpop_proof_the_token_is_bound_to_the_callers_key(setup):
    key = DPoPKey()
    proof = key.proof("POST", setup["default"].endpoint_url("token"))  # the URL the request goes to

    status, body = exchange(setup, users_token(setup), headers={"HTTP_DPOP": proof})

    assert status == 200, body
    assert body["token_type"] == "DPoP"  # RFC 9449 §5
    assert claims_of(body["access_token"])["cnf"] == {"jkt": key.jkt}


def test_an_actor_token_names_the_actor(setup):
    actor = post_token(setup, setup["service"], {"grant_type": "client_credentials"})[1]["access_token"]

    status, body = exchange(setup, users_token(setup), actor_token=actor, actor_token_type=ACCESS_TOKEN)

    assert status == 200, body
    assert claims_of(body["access_token"])["act"] == {"sub": setup["service"].client_id, "iss": setup["default"].issuer}


def test_another_clients_token_is_no_actor_token(setup):
    borrowed = users_token(setup)  # issued to app A, not to S

    status, body = exchange(setup, users_token(setup), actor_token=borrowed, actor_token_type=ACCESS_TOKEN)

    assert (status, body["error"]) == (400, "invalid_request")


@pytest.mark.parametrize(
    ("extra", "says"),
    [
        ({"subject_token": None}, "subject_token is required"),
        ({"subject_token_type": None}, "subject_token_type is required"),
        ({"subject_token_type": ID_TOKEN}, "subject_token_type must be"),
        ({"requested_token_type": ID_TOKEN}, "issues only"),
        ({"actor_token": "x"}, "go together"),
        ({"actor_token_type": ACCESS_TOKEN}, "go together"),
    ],
)
def test_missing_or_unsupported_parameters_are_invalid_request(setup, extra, says):
    status, body = exchange(setup, users_token(setup), **extra)

    assert (status, body["error"]) == (400, "invalid_request")
    assert says in body["error_description"]


def test_a_repeated_parameter_is_invalid_request(setup):
    status, body = exchange(setup, [users_token(setup), users_token(setup)])

    assert (status, body["error"]) == (400, "invalid_request")


@pytest.mark.parametrize("subject", ["not-a-jwt", "a.b.c"])
def test_a_subject_token_that_is_not_ours_is_invalid_request(setup, subject):
    status, body = exchange(setup, subject)

    # RFC 8693 §2.2.2: an invalid subject_token "MUST" be invalid_request (not invalid_grant).
    assert (status, body["error"]) == (400, "invalid_request")


def test_a_revoked_subject_token_is_refused(setup):
    subject = users_token(setup)
    app = setup["app"]
    revoked = setup["http"].post(
        "/oauth2/default/v1/revoke",
        urlencode({"token": subject}),
        content_type=policy.FORM_CONTENT_TYPE,
        HTTP_AUTHORIZATION=basic(app),
    )
    assert revoked.status_code == 200

    status, body = exchange(setup, subject)

    assert (status, body["error"]) == (400, "invalid_request")
    assert "revoked" in body["error_description"]


def test_an_expired_subject_token_is_refused(setup, monkeypatch):
    subject = users_token(setup)
    later = claims_of(subject)["exp"] + 1
    monkeypatch.setattr(time, "time", lambda: later)  # the whole process's clock, for this one request

    status, body = exchange(setup, subject)

    assert (status, body["error"]) == (400, "invalid_request")


def test_a_client_credentials_token_has_no_user_to_act_for(setup):
    machine = post_token(setup, setup["service"], {"grant_type": "client_credentials"})[1]["access_token"]

    status, body = exchange(setup, machine)

    assert (status, body["error"]) == (400, "invalid_request")
    assert "names no active user" in body["error_description"]


def test_scopes_beyond_the_subject_tokens_are_refused(setup):
    status, body = exchange(setup, users_token(setup, "openid profile"), scope="profile email")

    assert (status, body["error"]) == (400, "invalid_scope")


@pytest.mark.parametrize("target", [{"audience": "api://nowhere"}, {"audience": None, "resource": "https://x.example"}])
def test_an_unknown_audience_or_resource_is_invalid_target(setup, target):
    status, body = exchange(setup, users_token(setup), **target)

    assert (status, body["error"]) == (400, "invalid_target")


def test_a_target_whose_policies_do_not_allow_the_client_is_invalid_target(setup):
    other = make_client(app_type="service", grant_types=[policy.Grant.TOKEN_EXCHANGE])  # no orders policy

    status, body = exchange(setup, users_token(setup), client=other)

    assert (status, body["error"]) == (400, "invalid_target")


def test_two_audiences_on_two_servers_are_invalid_target(setup):
    status, body = exchange(setup, users_token(setup), audience=["api://orders", "api://default"])

    assert (status, body["error"]) == (400, "invalid_target")


def test_a_client_without_the_grant_is_unauthorized_client(setup):
    plain = make_client(app_type="service")  # client credentials only

    status, body = exchange(setup, users_token(setup), client=plain)

    assert (status, body["error"]) == (400, "unauthorized_client")


def test_the_org_server_does_not_exchange_tokens(setup):
    org = AuthorizationServer.objects.get(is_org=True)

    status, body = exchange(setup, users_token(setup), server=org)

    assert (status, body["error"]) == (400, "unsupported_grant_type")
    assert "custom authorization servers" in body["error_description"]


def test_a_third_server_cannot_broker_the_exchange(setup):
    payments = make_server("payments")  # permissive default policy, but neither the subject's server nor the target

    status, body = exchange(setup, users_token(setup), server=payments)

    assert (status, body["error"]) == (400, "invalid_request")


def test_the_target_server_may_take_the_exchange_too(setup):
    # Okta's shape: the request goes to the target's token endpoint, with a token of another server.
    status, body = exchange(setup, users_token(setup), server=setup["orders"])

    assert status == 200, body
    assert claims_of(body["access_token"])["iss"] == setup["orders"].issuer


def test_the_subject_tokens_server_must_let_the_client_exchange_its_tokens(setup):
    payments = make_server("payments", default_policy=False)
    access_policy = AccessPolicy.objects.create(server=payments, name="App A")
    PolicyRule.objects.create(policy=access_policy, name="Password only", grant_types="password")
    subject = users_token(setup, "openid profile", server=payments)

    status, body = exchange(setup, subject, server=payments, scope="profile")

    # RFC 8693 §2.2.2: a subject token "unacceptable based on policy" is invalid_request.
    assert (status, body["error"]) == (400, "invalid_request")
    assert "does not let this client" in body["error_description"]


def test_the_lean_wsgi_stack_serves_the_exchange(setup):
    """Production serves /token through oidc_flows.lean (no session middleware): the grant works there too."""
    from oidc_flows import lean
    from tests.production.test_lean_stack import call

    data = {"grant_type": EXCHANGE, "subject_token": users_token(setup), "subject_token_type": ACCESS_TOKEN}
    body = urlencode(data | {"audience": ["api://orders"]}, doseq=True).encode()
    auth = basic(setup["service"])

    answer = call(
        lean.get_wsgi_application(),
        "POST",
        "/oauth2/default/v1/token",
        body=body,
        content_type=policy.FORM_CONTENT_TYPE,
        authorization=auth,
    )

    assert answer.status == 200, answer.body
    assert claims_of(answer.json()["access_token"])["aud"] == "api://orders" and answer.cookies == []


def test_a_pairwise_applications_token_is_exchanged_for_the_same_user(setup):
    setup["app"].subject_type = "pairwise"
    setup["app"].save()

    subject = users_token(setup)
    status, body = exchange(setup, subject, scope="profile")

    assert status == 200, body
    seen_by_app, exchanged = claims_of(subject), claims_of(body["access_token"])
    alice = get_user_model().objects.get(username="alice")
    # The application's pairwise sub is resolved to alice; the service, a public-sub client, sees her public id.
    assert seen_by_app["sub"] != subjects.public_id(alice)
    assert exchanged["sub"] == subjects.public_id(alice) and exchanged["act"] == {"sub": setup["service"].client_id}
