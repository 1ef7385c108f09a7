"""Client secrets are stored as HMAC-SHA256 hashes keyed from SECRET_KEY, and survive its rotation."""

from __future__ import annotations

import pytest
from django.contrib.auth.hashers import check_password

from oidc_flows.models import Application
from tests.factories import make_client


pytestmark = pytest.mark.django_db


@pytest.fixture
def client_and_stored():
    client = make_client(app_type="web")
    return client, Application.objects.values_list("client_secret", flat=True).get(pk=client.pk)


def test_the_stored_secret_is_a_keyed_hash_not_the_secret(client_and_stored):
    client, stored = client_and_stored
    assert stored.startswith("oidc_hmac_sha256$")
    assert client.secret not in stored


def test_the_right_secret_verifies(client_and_stored):
    client, stored = client_and_stored
    assert check_password(client.secret, stored)


@pytest.mark.parametrize(
    "transform",
    [
        lambda s: s + "x",
        lambda s: s[:-1],
        lambda s: s.upper() if s != s.upper() else s.lower(),
        lambda s: "",
    ],
    ids=["longer", "shorter", "other case", "empty"],
)
def test_a_wrong_secret_does_not_verify(client_and_stored, transform):
    client, stored = client_and_stored
    assert not check_password(transform(client.secret), stored)


def test_two_clients_with_the_same_secret_store_different_hashes():
    first = make_client(client_secret="the-same-secret-0123456789abcdef")
    second = make_client(client_secret="the-same-secret-0123456789abcdef")
    stored = dict(Application.objects.filter(pk__in=[first.pk, second.pk]).values_list("pk", "client_secret"))
    assert stored[first.pk] != stored[second.pk]  # a per-secret salt


def test_a_rotated_secret_key_still_verifies_through_the_fallbacks(client_and_stored, settings):
    client, stored = client_and_stored
    old = settings.SECRET_KEY
    settings.SECRET_KEY = "a-brand-new-secret-key-" + "k" * 40
    settings.SECRET_KEY_FALLBACKS = [old]
    assert check_password(client.secret, stored)


def test_a_rotated_secret_key_without_fallback_no_longer_verifies(client_and_stored, settings):
    client, stored = client_and_stored
    settings.SECRET_KEY = "a-brand-new-secret-key-" + "k" * 40
    settings.SECRET_KEY_FALLBACKS = []
    assert not check_password(client.secret, stored)
