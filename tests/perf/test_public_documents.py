"""JWKS and discovery are answered from bytes rendered once per process, and never go stale.

The JWKS rendering is kept until the earliest moment a retired key's grace period ends (the one
change that comes with time, not with a row); with ``PUBLIC_DOCUMENTS_RECHECK_SECONDS`` a process
answers from its rendering for that long, and still sees its own changes at once.
"""

from __future__ import annotations

import time

import pytest
import requests
from django.utils import timezone

from oidc_flows import keys
from oidc_flows.models import AuthorizationServer, Scope, SigningKey
from oidc_flows.models.keys import KeyStatus


pytestmark = pytest.mark.usefixtures("transactional_db")


def kids(server: AuthorizationServer) -> tuple[set[str], str]:
    response = requests.get(server.endpoint_url("keys"), timeout=10)
    assert response.status_code == 200
    return {k["kid"] for k in response.json()["keys"]}, response.headers["ETag"]


def scopes(server: AuthorizationServer) -> set[str]:
    return set(requests.get(server.discovery_url, timeout=10).json()["scopes_supported"])


@pytest.fixture
def recheck(settings):
    def set_window(seconds: float) -> None:
        settings.OIDC_FLOWS_LEAN = {**settings.OIDC_FLOWS_LEAN, "PUBLIC_DOCUMENTS_RECHECK_SECONDS": seconds}

    return set_window


def test_a_retired_key_leaves_the_jwks_when_its_grace_period_ends_with_no_change_to_any_row(default_server, settings):
    settings.OIDC_FLOWS = {**settings.OIDC_FLOWS, "RETIRED_KEY_PUBLISH_SECONDS": 2}
    keys.rotate(default_server)
    retired = SigningKey.objects.get(server=default_server, status=KeyStatus.RETIRED)
    published, etag = kids(default_server)
    assert retired.kid in published and len(published) == 3
    assert kids(default_server) == (published, etag)  # the same rendering, answered again

    time.sleep(max(0.0, (retired.retired_at - timezone.now()).total_seconds() + 2.05))
    after, new_etag = kids(default_server)

    assert after == published - {retired.kid}
    assert new_etag != etag


def test_with_a_recheck_window_a_change_made_here_is_seen_at_once(default_server, recheck):
    recheck(60)
    before, _ = kids(default_server)
    assert "reports:read" not in scopes(default_server)

    rotated = keys.rotate(default_server)  # as the admin's "rotate" does: the model's signals run
    Scope.objects.create(server=default_server, name="reports:read", description="Reports")

    after, _ = kids(default_server)
    assert rotated.kid in before  # it was published as `next` before it signed
    assert len(after - before) == 1  # the new `next` key
    assert "reports:read" in scopes(default_server)


def test_with_a_recheck_window_a_change_by_another_node_is_seen_within_it(default_server, recheck):
    window = 2.0
    recheck(window)
    read_at = time.monotonic()
    assert "reports:read" not in scopes(default_server)

    # Another node adds a scope: its signals bump the server's stamp; here, no signal runs.
    Scope.objects.bulk_create([Scope(server=default_server, name="reports:read", description="Reports")])
    AuthorizationServer.objects.filter(pk=default_server.pk).update(updated=timezone.now())

    seen = "reports:read" in scopes(default_server)
    if time.monotonic() - read_at < window * 0.9:  # (a machine slower than that proves nothing here)
        assert not seen  # within the window: this process's rendering
    time.sleep(max(0.0, read_at + window + 0.05 - time.monotonic()))
    assert "reports:read" in scopes(default_server)


def test_without_a_recheck_window_a_change_by_another_node_is_seen_at_once(default_server):
    assert "reports:read" not in scopes(default_server)

    Scope.objects.bulk_create([Scope(server=default_server, name="reports:read", description="Reports")])
    AuthorizationServer.objects.filter(pk=default_server.pk).update(updated=timezone.now())

    assert "reports:read" in scopes(default_server)
