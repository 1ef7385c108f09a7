"""Per-process snapshots of a server's configuration (oidc_flows.snapshots) never serve a stale answer.

Token requests read scopes, claims, access policies and keys from a snapshot kept by each process;
a change must be seen by the next request, whether this process made it (signals) or another node
did (the server row's ``updated`` stamp, read on every request).
"""

from __future__ import annotations

import pytest
import requests
from authlib.integrations.requests_client import OAuth2Session
from django.utils import timezone

from oidc_flows import keys
from oidc_flows.models import AuthorizationServer, Claim, Scope
from tests.factories import make_client
from tests.support.jose import verify_jwt


pytestmark = pytest.mark.usefixtures("transactional_db")


@pytest.fixture
def service():
    return make_client(app_type="service")


def token_claims(server: AuthorizationServer, service, scope: str = "") -> dict:
    session = OAuth2Session(service.client_id, service.secret, scope=scope or None)
    token = session.fetch_token(server.endpoint_url("token"), grant_type="client_credentials")
    return verify_jwt(
        token["access_token"], jwks_url=server.endpoint_url("keys"), issuer=server.issuer, audience="api://default"
    )


def test_a_new_scope_and_claim_are_used_by_the_next_token_request(default_server, service):
    before = token_claims(default_server, service)  # the snapshot is built and kept
    Scope.objects.create(server=default_server, name="reports:read", description="Reports")
    Claim.objects.create(server=default_server, name="tier", value_type="constant", value="gold")

    after = token_claims(default_server, service, "reports:read")

    assert "tier" not in before
    assert after["tier"] == "gold" and after["scp"] == ["reports:read"]


def test_a_change_made_by_another_node_is_seen_at_once(default_server, service):
    Claim.objects.create(server=default_server, name="tier", value_type="constant", value="gold")
    assert token_claims(default_server, service)["tier"] == "gold"

    # Another process changes the row and bumps the server's stamp, as its signal handlers do;
    # QuerySet.update sends no signal here, so only the stamp can tell this process.
    Claim.objects.filter(server=default_server, name="tier").update(value="platinum")
    AuthorizationServer.objects.filter(pk=default_server.pk).update(updated=timezone.now())

    assert token_claims(default_server, service)["tier"] == "platinum"


def test_a_rotated_key_signs_the_next_token_and_is_in_the_jwks(default_server, service):
    first = requests.post(
        default_server.endpoint_url("token"),
        data={"grant_type": "client_credentials"},
        auth=(service.client_id, service.secret),
        timeout=10,
    ).json()["access_token"]

    rotated = keys.rotate(default_server)
    second = requests.post(
        default_server.endpoint_url("token"),
        data={"grant_type": "client_credentials"},
        auth=(service.client_id, service.secret),
        timeout=10,
    ).json()["access_token"]

    from joserfc import jws

    assert jws.extract_compact(first.encode()).protected["kid"] != rotated.kid
    assert jws.extract_compact(second.encode()).protected["kid"] == rotated.kid
    published = {k["kid"] for k in requests.get(default_server.endpoint_url("keys"), timeout=10).json()["keys"]}
    assert rotated.kid in published
    token_claims(default_server, service)  # and it verifies against the JWKS


def test_a_server_deactivated_behind_our_back_answers_404_at_once(default_server, service):
    assert requests.get(default_server.discovery_url, timeout=10).status_code == 200

    AuthorizationServer.objects.filter(pk=default_server.pk).update(is_active=False)  # no signal, no stamp

    assert requests.get(default_server.discovery_url, timeout=10).status_code == 404


def test_jwks_and_discovery_are_cacheable_with_an_etag(default_server):
    for url in (default_server.endpoint_url("keys"), default_server.discovery_url):
        first = requests.get(url, timeout=10)
        assert "max-age=300" in first.headers["Cache-Control"] and "public" in first.headers["Cache-Control"]
        etag = first.headers["ETag"]

        again = requests.get(url, headers={"If-None-Match": etag}, timeout=10)

        assert again.status_code == 304 and again.content == b""
        assert again.headers["ETag"] == etag
        assert requests.get(url, headers={"If-None-Match": '"other"'}, timeout=10).status_code == 200


def test_a_rotation_changes_the_jwks_etag(default_server):
    url = default_server.endpoint_url("keys")
    etag = requests.get(url, timeout=10).headers["ETag"]

    keys.rotate(default_server)

    changed = requests.get(url, headers={"If-None-Match": etag}, timeout=10)
    assert changed.status_code == 200 and changed.headers["ETag"] != etag
