"""Shared fixtures: a live IdP whose BASE_URL is the live server, users, clients and a browser."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest
from jwcrypto import jwk

import oidc_flows.models.keys as keys_module
from oidc_flows.models import AuthorizationServer
from tests.factories import make_user
from tests.support.oauth import Browser


# tests/resource runs apart, with a project that does not install the IdP (see its conftest.py).
collect_ignore = ["resource"]


@pytest.fixture(scope="session")
def _rsa_key_pool() -> Iterator[jwk.JWK]:
    return itertools.cycle([jwk.JWK.generate(kty="RSA", size=2048) for _ in range(24)])


@pytest.fixture(autouse=True)
def fast_key_generation(monkeypatch, _rsa_key_pool) -> None:
    """RSA key generation costs ~0.1 s and every database flush re-creates the built-in servers' keys.

    Tests draw RSA keys in turn from a pool made once per session (any 24 in a row are distinct, so kids
    stay unique);
    EC keys are cheap and generated as in production.
    """
    real = keys_module.generate_jwk
    monkeypatch.setattr(keys_module, "generate_jwk", lambda alg: real(alg) if alg == "ES256" else next(_rsa_key_pool))


@pytest.fixture(autouse=True)
def fast_password_hashing(settings) -> None:
    """PBKDF2 costs ~0.5 s per sign-in here; tests sign in hundreds of times. Client secrets keep their hasher."""
    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.MD5PasswordHasher",
        "oidc_flows.hashers.ClientSecretHasher",
    ]


def clear_own_cache() -> None:
    """Delete this test process's cache keys: on Redis, shared with parallel workers, only those of its prefix."""
    from django.core.cache import cache

    prefix = cache.key_prefix
    client = getattr(getattr(cache, "_cache", None), "get_client", None)
    if client is None:  # local memory: this process's own
        cache.clear()
        return
    redis = client(write=True)
    for key in redis.scan_iter(match=f"{prefix}:*", count=1000):
        redis.delete(key)


@pytest.fixture(autouse=True)
def own_cache(settings, worker_id: str) -> Iterator[None]:
    """A cache of its own for every test: rate-limit counters, cached origins and snapshots never carry over.

    With pytest-xdist and Redis (CACHE_URL), workers share one database: each gets its own key prefix.
    """
    default = settings.CACHES["default"]
    settings.CACHES = {
        **settings.CACHES,
        "default": {**default, "KEY_PREFIX": f"{default.get('KEY_PREFIX', '')}-{worker_id}"},
    }
    clear_own_cache()
    yield
    clear_own_cache()


@pytest.fixture(autouse=True)
def generous_rate_limits(settings) -> None:
    """Tests sign in as alice from 127.0.0.1 hundreds of times, on parallel workers that may share one Redis.

    The sign-in's rate limits (oidc_flows.authn.ratelimit) would refuse them; tests of the limits set their own.
    """
    from oidc_flows.authn.ratelimit import LIMITS

    lots = {bucket: {"username": [100_000, 60], "address": [100_000, 60]} for bucket in LIMITS}
    settings.OIDC_FLOWS = {**settings.OIDC_FLOWS, "AUTHN_RATE_LIMITS": lots}


@pytest.fixture
def base_url(live_server, settings) -> str:
    """The live server's URL, which is also the IdP's BASE_URL (issuers are built from it)."""
    settings.OIDC_FLOWS = {**settings.OIDC_FLOWS, "BASE_URL": live_server.url}
    return live_server.url


@pytest.fixture
def default_server(base_url) -> AuthorizationServer:
    return AuthorizationServer.objects.get(server_id="default")


@pytest.fixture
def org_server(base_url) -> AuthorizationServer:
    return AuthorizationServer.objects.get(is_org=True)


@pytest.fixture
def user(transactional_db):
    return make_user()


@pytest.fixture
def browser(base_url, user) -> Iterator[Browser]:
    browser = Browser(base_url)
    yield browser
    browser.http.close()  # a kept-alive connection would outlive the test's database
