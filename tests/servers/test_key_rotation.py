"""Signing key rotation: tokens signed before a rotation still verify after it, and a verifier that
holds the JWKS from before the rotation verifies tokens signed after it (the `next` key)."""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import pytest
import requests
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone
from joserfc import jwt
from joserfc.errors import BadSignatureError, InvalidKeyIdError
from joserfc.jwk import KeySet

from oidc_flows import keys
from oidc_flows.models import SigningKey
from oidc_flows.models.keys import KeyStatus
from tests.factories import make_client


def service_token(server, client) -> str:
    response = requests.post(
        server.endpoint_url("token"),
        data={"grant_type": "client_credentials"},
        auth=(client.client_id, client.secret),
        timeout=10,
    )
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


def jwks(server) -> dict:
    return requests.get(server.endpoint_url("keys"), timeout=10).json()


def _header(token: str) -> str:
    """The kid of an (unverified) JWT header."""
    head = token.split(".")[0]
    return json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))["kid"]


@pytest.fixture
def service(transactional_db):
    return make_client(app_type="service")


def test_a_new_server_publishes_its_next_key(default_server):
    published = [k["kid"] for k in jwks(default_server)["keys"]]

    assert sorted(SigningKey.objects.get(kid=k).status for k in published) == ["active", "next"]


def test_rotation_keeps_every_verifier_working(default_server, service):
    old_jwks = jwks(default_server)
    before = service_token(default_server, service)

    call_command("oidc_rotate_keys", "default")
    after = service_token(default_server, service)
    new_jwks = jwks(default_server)

    assert _header(before) != _header(after)
    jwt.decode(after, KeySet.import_key_set(old_jwks), algorithms=["RS256"])  # signed with yesterday's `next`
    jwt.decode(before, KeySet.import_key_set(new_jwks), algorithms=["RS256"])  # retired, still published
    assert len(new_jwks["keys"]) == 3


def test_retired_keys_leave_the_jwks_after_their_grace_period(default_server, settings):
    keys.rotate(default_server)
    retired = SigningKey.objects.get(server=default_server, status=KeyStatus.RETIRED)
    SigningKey.objects.filter(pk=retired.pk).update(retired_at=timezone.now() - timedelta(days=8))

    published = {k["kid"] for k in jwks(default_server)["keys"]}

    assert retired.kid not in published and len(published) == 2


def test_a_due_key_rotates_itself_on_the_next_signature(default_server, service):
    default_server.key_rotation_days = 30
    default_server.save()
    active = SigningKey.objects.get(server=default_server, status=KeyStatus.ACTIVE)
    nxt = SigningKey.objects.get(server=default_server, status=KeyStatus.NEXT)
    SigningKey.objects.filter(pk=active.pk).update(activated_at=timezone.now() - timedelta(days=31))

    token = service_token(default_server, service)

    assert _header(token) == nxt.kid
    assert SigningKey.objects.get(pk=active.pk).status == KeyStatus.RETIRED


def test_rotate_command_with_due_skips_fresh_keys(default_server, capsys):
    call_command("oidc_rotate_keys", "--due")

    assert capsys.readouterr().out == ""
    assert SigningKey.objects.filter(server=default_server, status=KeyStatus.RETIRED).count() == 0


def test_rotate_command_refuses_unknown_servers(transactional_db):
    with pytest.raises(CommandError):
        call_command("oidc_rotate_keys", "nope")


def test_a_token_signed_by_another_server_does_not_verify_here(default_server, org_server, service):
    token = service_token(default_server, service)

    with pytest.raises((BadSignatureError, InvalidKeyIdError)):
        jwt.decode(token, KeySet.import_key_set(jwks(org_server)), algorithms=["RS256"])
