"""Token introspection (RFC 7662) and revocation (RFC 7009), over HTTP against a live server.

Scenario: a resource server (``api``, a confidential service client) asks about the tokens it is
handed; a service (``job``) and a trusted web client (``portal``, password grant with refresh
tokens) revoke their own tokens; a public SPA uses its client_id only.
"""

from __future__ import annotations

import time
from datetime import timedelta
from types import SimpleNamespace

import pytest
import requests
from django.utils import timezone
from oauth2_provider.models import set_token_value

from oidc_flows import tokens
from oidc_flows.introspection import checksum
from oidc_flows.models import AccessToken, RefreshToken, Scope
from oidc_flows.models.servers import AuthorizationServer
from tests.factories import PASSWORD, make_client, make_server
from tests.support.jose import verify_jwt


INACTIVE = {"active": False}
RFC7662_MEMBERS = {"active", "scope", "client_id", "username", "token_type", "exp", "iat", "sub", "aud", "iss", "jti"}


@pytest.fixture
def api(transactional_db):
    """A resource server: it introspects tokens that other clients obtained."""
    return make_client(app_type="service")


@pytest.fixture
def job(transactional_db):
    return make_client(app_type="service")


@pytest.fixture
def portal(user):
    return make_client(app_type="web", grant_types=["authorization_code", "password", "refresh_token"])


@pytest.fixture
def reports_scope(default_server) -> str:
    Scope.objects.create(server=default_server, name="reports:read", description="Read reports")
    return "reports:read"


def credentials(client) -> dict:
    """requests arguments for the client's registered authentication method (client_id only if public)."""
    if client.secret is None:
        return {"data": {"client_id": client.client_id}}
    if client.token_endpoint_auth_method == "client_secret_post":
        return {"data": {"client_id": client.client_id, "client_secret": client.secret}}
    return {"auth": (client.client_id, client.secret), "data": {}}


def post(server: AuthorizationServer, endpoint: str, client, **data) -> requests.Response:
    args = credentials(client) if client is not None else {"data": {}}
    args["data"] |= data
    return requests.post(server.endpoint_url(endpoint), timeout=10, **args)


def token_for(server: AuthorizationServer, client, **data) -> dict:
    data = {"grant_type": "client_credentials"} | data
    response = post(server, "token", client, **data)
    assert response.status_code == 200, response.text
    return response.json()


def user_tokens(server: AuthorizationServer, portal) -> dict:
    return token_for(
        server, portal, grant_type="password", username="alice", password=PASSWORD, scope="openid offline_access"
    )


def stored_token(server: AuthorizationServer, client, user) -> str:
    """An access token of a public client, stored as the IdP stores its own (the browser flow is tested elsewhere)."""
    value = f"{client.client_id}-token"
    row = AccessToken(
        server=server, user=user, application=client, expires=timezone.now() + timedelta(hours=1), scope="openid"
    )
    set_token_value(row, value)
    row.save()
    return value


def introspect(server: AuthorizationServer, client, token: str, **data) -> dict:
    response = post(server, "introspect", client, token=token, **data)
    assert response.status_code == 200, response.text
    assert response.headers["Cache-Control"] == "no-store"  # RFC 7662 §2.2 via RFC 6749 §5.1
    assert response.headers["Content-Type"] == "application/json"
    return response.json()


def revoke(server: AuthorizationServer, client, token: str, **data) -> requests.Response:
    response = post(server, "revoke", client, token=token, **data)
    assert response.status_code == 200, response.text  # RFC 7009 §2.2: 200 whether or not it was known
    assert response.headers["Cache-Control"] == "no-store"
    return response


# -- introspection -------------------------------------------------------------------------------
def test_active_jwt_access_token_introspects_with_the_claims_it_carries(default_server, api, job, reports_scope):
    token = token_for(default_server, job, scope=reports_scope)["access_token"]

    body = introspect(default_server, api, token)

    claims = verify_jwt(
        token, jwks_url=default_server.endpoint_url("keys"), issuer=default_server.issuer, audience="api://default"
    )
    assert body == {
        "active": True,
        "scope": "reports:read",
        "client_id": job.client_id,
        "token_type": "Bearer",
        "exp": claims["exp"],
        "iat": claims["iat"],
        "sub": job.client_id,
        "aud": "api://default",
        "iss": default_server.issuer,
        "jti": claims["jti"],
    }


def test_user_access_token_introspects_with_username_and_subject(default_server, api, portal):
    tokens = user_tokens(default_server, portal)

    body = introspect(default_server, api, tokens["access_token"])

    claims = verify_jwt(
        tokens["access_token"],
        jwks_url=default_server.endpoint_url("keys"),
        issuer=default_server.issuer,
        audience="api://default",
    )
    assert body.keys() == RFC7662_MEMBERS
    assert body["active"] is True and body["username"] == "alice"
    assert body["sub"] == claims["sub"] and body["client_id"] == portal.client_id
    assert set(body["scope"].split()) == {"openid", "offline_access"}


def test_opaque_org_token_introspects_at_the_org_server(org_server, api, job):
    token = token_for(org_server, job)["access_token"]
    assert token.count(".") != 2  # opaque

    body = introspect(org_server, api, token)

    assert body["active"] is True and body["iss"] == body["aud"] == org_server.issuer  # org: aud = issuer
    assert body["client_id"] == job.client_id and body["token_type"] == "Bearer"
    row = AccessToken.objects.get(token_checksum=checksum(token))
    assert body["exp"] == int(row.expires.timestamp())


@pytest.mark.parametrize("token", ["unknown", "a.b.c", "e30.e30.", "x" * 5000, "ünïcödé ✓"])
def test_unknown_tokens_are_inactive_and_nothing_more(default_server, api, token):
    assert introspect(default_server, api, token) == INACTIVE


def test_expired_token_is_inactive(default_server, api, job, monkeypatch):
    issued = token_for(default_server, job)
    assert introspect(default_server, api, issued["access_token"])["active"] is True

    # The live server runs in this process: move its clock past the JWT's exp (it has no row to age).
    later = time.time() + issued["expires_in"] + 1
    monkeypatch.setattr(tokens, "time", SimpleNamespace(time=lambda: later))

    assert introspect(default_server, api, issued["access_token"]) == INACTIVE


def test_expired_opaque_token_is_inactive(org_server, job):
    token = token_for(org_server, job)["access_token"]
    AccessToken.objects.filter(token_checksum=checksum(token)).update(expires=timezone.now() - timedelta(seconds=1))

    assert introspect(org_server, job, token) == INACTIVE


def test_revoked_token_is_inactive(default_server, api, job):
    token = token_for(default_server, job)["access_token"]

    revoke(default_server, job, token)

    assert introspect(default_server, api, token) == INACTIVE


def test_a_token_is_inactive_at_every_other_server(default_server, org_server, api, job):
    payments = make_server("payments")
    default_token = token_for(default_server, job)["access_token"]
    org_token = token_for(org_server, job)["access_token"]

    assert introspect(org_server, api, default_token) == INACTIVE
    assert introspect(payments, api, default_token) == INACTIVE
    assert introspect(default_server, api, org_token) == INACTIVE
    assert introspect(default_server, api, default_token)["active"] is True


def test_public_client_introspects_its_own_tokens_only(default_server, job, user):
    spa = make_client(app_type="spa", grant_types=["authorization_code", "refresh_token"])
    other_token = token_for(default_server, job)["access_token"]
    own_token = stored_token(default_server, spa, user)

    assert introspect(default_server, spa, other_token) == INACTIVE  # client_id alone proves nothing
    assert introspect(default_server, spa, own_token)["client_id"] == spa.client_id


def test_refresh_token_introspects_for_its_own_client_only(default_server, api, portal):
    refresh_token = user_tokens(default_server, portal)["refresh_token"]

    own = introspect(default_server, portal, refresh_token)

    assert own["active"] is True and own["token_type"] == "refresh_token" and "aud" not in own
    assert own["client_id"] == portal.client_id and own["username"] == "alice"
    assert introspect(default_server, api, refresh_token) == INACTIVE


@pytest.mark.parametrize("hint", ["refresh_token", "access_token", "id_token", "", "nonsense"])
def test_token_type_hint_only_orders_the_search(default_server, api, portal, hint):
    tokens = user_tokens(default_server, portal)

    # RFC 7662 §2.1: a wrong or unknown hint must not hide the token.
    assert introspect(default_server, api, tokens["access_token"], token_type_hint=hint)["active"] is True
    assert introspect(default_server, portal, tokens["refresh_token"], token_type_hint=hint)["active"] is True


# -- revocation ----------------------------------------------------------------------------------
def test_revoking_a_refresh_token_revokes_its_access_tokens(default_server, api, portal):
    tokens = user_tokens(default_server, portal)

    revoke(default_server, portal, tokens["refresh_token"], token_type_hint="refresh_token")

    assert introspect(default_server, api, tokens["access_token"]) == INACTIVE
    assert introspect(default_server, portal, tokens["refresh_token"]) == INACTIVE
    refreshed = post(default_server, "token", portal, grant_type="refresh_token", refresh_token=tokens["refresh_token"])
    assert refreshed.status_code == 400 and refreshed.json()["error"] == "invalid_grant"


def test_revoking_a_refresh_token_revokes_its_whole_rotation_family(default_server, api, portal):
    first = user_tokens(default_server, portal)
    second = token_for(default_server, portal, grant_type="refresh_token", refresh_token=first["refresh_token"])

    revoke(default_server, portal, first["refresh_token"])  # the spent one: the grant ends all the same

    assert introspect(default_server, api, second["access_token"]) == INACTIVE
    assert introspect(default_server, portal, second["refresh_token"]) == INACTIVE


def test_revoking_an_access_token_revokes_its_refresh_token(default_server, api, portal):
    tokens = user_tokens(default_server, portal)

    revoke(default_server, portal, tokens["access_token"])

    assert introspect(default_server, api, tokens["access_token"]) == INACTIVE
    assert introspect(default_server, portal, tokens["refresh_token"]) == INACTIVE
    assert not RefreshToken.objects.filter(token_checksum=checksum(tokens["refresh_token"]), revoked=None).exists()


def test_a_client_cannot_revoke_another_clients_token(default_server, api, job):
    token = token_for(default_server, job)["access_token"]

    response = revoke(default_server, api, token)  # RFC 7009 §2.1: 200, and nothing happens

    assert response.content == b""
    assert introspect(default_server, api, token)["active"] is True


def test_a_server_does_not_revoke_another_servers_token(default_server, org_server, api, job):
    token = token_for(default_server, job)["access_token"]

    revoke(org_server, job, token)

    assert introspect(default_server, api, token)["active"] is True


def test_public_client_revokes_its_own_token_with_client_id_only(default_server, api, user):
    spa = make_client(app_type="spa", grant_types=["authorization_code", "refresh_token"])
    token = stored_token(default_server, spa, user)

    revoke(default_server, spa, token)

    assert introspect(default_server, api, token) == INACTIVE


def test_revoking_an_unknown_token_is_fine(default_server, job):
    assert revoke(default_server, job, "never-issued").content == b""


# -- client authentication and malformed requests ------------------------------------------------
@pytest.mark.parametrize("endpoint", ["introspect", "revoke"])
def test_client_authentication_failures_are_invalid_client(default_server, api, job, endpoint):
    token = token_for(default_server, job)["access_token"]
    url = default_server.endpoint_url(endpoint)
    attempts = {
        "wrong secret": {"auth": (api.client_id, "wrong"), "data": {"token": token}},
        "no credentials": {"data": {"token": token}},
        "unknown client": {"auth": ("nobody", "secret"), "data": {"token": token}},
        "confidential client without its secret": {"data": {"token": token, "client_id": api.client_id}},
        # The client registered client_secret_basic (RFC 6749 §2.3: one method per client).
        "unregistered method": {"data": {"token": token, "client_id": api.client_id, "client_secret": api.secret}},
    }
    for name, kwargs in attempts.items():
        response = requests.post(url, timeout=10, **kwargs)
        assert response.status_code == 401, name
        assert response.json()["error"] == "invalid_client", name
        assert response.headers["WWW-Authenticate"].startswith("Basic "), name
        assert response.headers["Cache-Control"] == "no-store", name
        assert api.secret not in response.text and token not in response.text
    assert introspect(default_server, api, token)["active"] is True  # nothing was revoked on the way


def test_client_secret_post_clients_authenticate_in_the_body(default_server, job):
    api = make_client(app_type="service", token_endpoint_auth_method="client_secret_post")
    token = token_for(default_server, job)["access_token"]

    assert introspect(default_server, api, token)["active"] is True


@pytest.mark.parametrize("endpoint", ["introspect", "revoke"])
def test_malformed_requests_are_answered_without_errors_of_ours(default_server, api, endpoint):
    url = default_server.endpoint_url(endpoint)
    auth = (api.client_id, api.secret)

    missing = requests.post(url, auth=auth, data={}, timeout=10)
    assert missing.status_code == 400 and missing.json()["error"] == "invalid_request"
    # RFC 7662 §2.1 / RFC 7009 §2.1: POST with a form body; a token in the URL would reach the logs.
    in_query = requests.post(url + "?token=abc", auth=auth, data={"token": "abc"}, timeout=10)
    assert in_query.status_code == 400 and in_query.json()["error"] == "invalid_request"
    as_json = requests.post(url, auth=auth, json={"token": "abc"}, timeout=10)
    assert as_json.status_code == 400 and as_json.json()["error"] == "invalid_request"
    assert requests.get(url, auth=auth, timeout=10).status_code == 405
    nul = requests.post(url, auth=auth, data={"token": "a\x00b"}, timeout=10)
    assert nul.status_code == 400 and nul.json()["error"] == "invalid_request"
    broken = requests.post(
        url,
        auth=auth,
        data=b"--x\r\nContent-Disposition: form-data\r\n\r\n",
        headers={"Content-Type": "multipart/form-data; boundary=x"},
        timeout=10,
    )
    assert broken.status_code == 400 and broken.json()["error"] == "invalid_request"
    bad_server = requests.post(url.replace("/default/", "/nosuch/"), auth=auth, data={"token": "abc"}, timeout=10)
    assert bad_server.status_code == 404 and bad_server.json()["error"] == "not_found"


def test_discovery_names_both_endpoints_and_their_client_authentication(default_server, org_server):
    for server in (default_server, org_server):
        metadata = requests.get(server.discovery_url, timeout=10).json()

        assert metadata["introspection_endpoint"] == server.endpoint_url("introspect")
        assert metadata["revocation_endpoint"] == server.endpoint_url("revoke")
        for name in ("introspection_endpoint_auth_methods_supported", "revocation_endpoint_auth_methods_supported"):
            assert set(metadata[name]) == {
                "client_secret_basic",
                "client_secret_post",
                "client_secret_jwt",
                "private_key_jwt",
                "none",
            }
