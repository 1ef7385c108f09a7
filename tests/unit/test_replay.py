"""One-time values (``oidc_flows.replay.first_use``) on both back-ends: the database when the cache is local
memory (each process has its own), and the shared cache when there is one (Redis in production).

The Redis half runs when CACHE_URL names Redis; otherwise it is skipped, unless REQUIRE_REDIS=1.
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from urllib.parse import urlsplit

import pytest
from django.core.cache import cache
from django.test import override_settings

from oidc_flows import replay
from oidc_flows.models import OneTimeUse


LOCAL = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}


def redis_caches() -> dict:
    url = os.environ.get("CACHE_URL", "")
    parts = urlsplit(url)
    why = None
    if parts.scheme not in ("redis", "rediss"):
        why = "needs Redis: set CACHE_URL=redis://..."
    else:
        try:
            with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 6379), timeout=3) as sock:
                sock.sendall(b"PING\r\n")
                if not sock.recv(16).startswith(b"+PONG"):
                    why = "Redis at CACHE_URL does not answer PING"
        except OSError:
            why = "Redis at CACHE_URL does not answer"
    if why:
        if os.environ.get("REQUIRE_REDIS") == "1":
            pytest.fail(f"REQUIRE_REDIS=1 but {why}")
        pytest.skip(why)
    prefix = f"test-replay-{uuid.uuid4().hex}"  # never another worker's keys
    return {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url, "KEY_PREFIX": prefix}
    }


@pytest.fixture(params=["database", "redis"])
def backend(request, db) -> str:
    caches = LOCAL if request.param == "database" else redis_caches()
    with override_settings(CACHES=caches):
        assert replay.shared_cache() is (request.param == "redis")
        yield request.param


def test_a_value_is_accepted_once(backend):
    jti, expires = uuid.uuid4().hex, time.time() + 60

    assert replay.first_use("client_assertion:app-1", jti, expires) is True
    assert replay.first_use("client_assertion:app-1", jti, expires) is False
    # Kinds keep clients apart: another client's assertion may carry the same jti.
    assert replay.first_use("client_assertion:app-2", jti, expires) is True


def test_the_record_lives_where_every_node_sees_it(backend):
    jti = uuid.uuid4().hex
    replay.first_use("client_assertion:app-1", jti, time.time() + 60)

    if backend == "database":
        assert OneTimeUse.objects.count() == 1  # a row, not this process's memory
        assert jti not in str(OneTimeUse.objects.get().key)  # hashed
    else:
        assert OneTimeUse.objects.count() == 0
        prefix = cache.key_prefix
        assert list(cache._cache.get_client().scan_iter(match=f"{prefix}:*oidc_flows:once:*"))


def test_an_expired_record_may_be_taken_over_once(backend):
    jti = uuid.uuid4().hex
    assert replay.first_use("client_assertion:app-1", jti, time.time() + 1)
    time.sleep(2.5)  # the record's own expiry: the cache's timeout, or the row's `expires`

    assert replay.first_use("client_assertion:app-1", jti, time.time() + 60) is True
    assert replay.first_use("client_assertion:app-1", jti, time.time() + 60) is False
