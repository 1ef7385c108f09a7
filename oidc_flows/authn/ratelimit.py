"""Rate limits of the sign-in, per username and per client address, shared by every node through the cache.

A fixed window counter per key (``cache.add`` then ``cache.incr``: atomic in Redis and in the local
cache). Over the limit: Okta's ``E0000047`` with ``Retry-After``.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

from django.core.cache import cache
from django.http import HttpRequest

from ..settings import flows_settings
from . import events
from .errors import AuthnError
from .models import Outcome


@dataclass(frozen=True, slots=True)
class Limit:
    requests: int
    seconds: int


#: Per bucket: what one username and what one client address may do in a window.
LIMITS: Final = MappingProxyType(
    {
        # bucket           per username          per client address
        "authn": (Limit(10, 60), Limit(60, 60)),
        "factor": (Limit(10, 60), Limit(60, 60)),
        "recovery": (Limit(3, 300), Limit(20, 300)),
        # Dynamic client registration (oidc_flows.dcr): per address only; the username limit is unused.
        "registration": (Limit(10, 60), Limit(10, 60)),
        # /activate's user codes (RFC 8628 §5.1): per browser session (the "username" column), per address.
        "user_code": (Limit(5, 60), Limit(30, 60)),
    }
)


def _bucket(key: str, window: int) -> tuple[str, int]:
    """The counter of the current window for ``key``, and the seconds the window has left."""
    now = int(time.time())
    start = now - now % window
    return f"oidc_flows:rl:{key}:{start}", start + window - now


def _count(key: str, window: int) -> tuple[int, int]:
    """Count one request under ``key`` in the current window; return (count, seconds left)."""
    bucket, left = _bucket(key, window)
    cache.add(bucket, 0, timeout=window + 1)
    try:
        count = cache.incr(bucket)
    except ValueError:  # expired between add and incr
        cache.add(bucket, 1, timeout=window + 1)
        count = 1
    return count, left


def _count_all(keys: list[tuple[str, Limit]]) -> list[tuple[int, int]]:
    """``_count`` for several keys; on Redis one round trip (SET NX EX, INCR per key) on one client.

    Django's Redis cache builds a client object per operation and answers ``incr`` with two commands:
    four operations per sign-in cost more CPU than the rest of the rate limiting.
    """
    get_client = getattr(getattr(cache, "_cache", None), "get_client", None)
    if get_client is None or not hasattr(cache, "make_and_validate_key"):
        return [_count(key, limit.seconds) for key, limit in keys]
    windows = [(_bucket(key, limit.seconds), limit.seconds) for key, limit in keys]
    buckets = [(cache.make_and_validate_key(bucket), left, window) for (bucket, left), window in windows]
    pipe = get_client(buckets[0][0], write=True).pipeline(transaction=False)
    for bucket, _left, window in buckets:
        pipe.set(bucket, 0, ex=window + 1, nx=True)
        pipe.incr(bucket)
    counts = pipe.execute()[1::2]
    return [(int(count), left) for count, (_bucket_key, left, _window) in zip(counts, buckets, strict=True)]


def limits(bucket: str) -> tuple[Limit, Limit]:
    """The bucket's (per username, per address) limits: ``LIMITS``, or ``OIDC_FLOWS["AUTHN_RATE_LIMITS"]``."""
    per_user, per_address = LIMITS[bucket]
    override = flows_settings().AUTHN_RATE_LIMITS.get(bucket, {})
    if "username" in override:
        per_user = Limit(*override["username"])
    if "address" in override:
        per_address = Limit(*override["address"])
    return per_user, per_address


def over_limit(keys: list[tuple[str, Limit]]) -> int | None:
    """Count one request under each ``(key, limit)``; the seconds to wait when one is over its limit, else None."""
    over = [left for (_key, limit), (count, left) in zip(keys, _count_all(keys), strict=True) if count > limit.requests]
    return max(max(over), 1) if over else None


def check(request: HttpRequest, bucket: str, username: str | None = None) -> None:
    """Count this request; raise ``E0000047`` when the username or the address is over its limit."""
    per_user, per_address = limits(bucket)
    keys = [(f"{bucket}:ip:{events.client_ip(request)}", per_address)]
    if username:
        # Hashed: the cache need not hold usernames, and any length fits a key.
        name = hashlib.sha256(username.strip().lower().encode()).hexdigest()[:32]
        keys.append((f"{bucket}:user:{name}", per_user))
    for (_key, limit), (count, left) in zip(keys, _count_all(keys), strict=True):
        if count > limit.requests:
            if count == limit.requests + 1:  # once per window, not once per refused request
                events.record(events.RATE_LIMIT, Outcome.DENY, request=request, username=username or "", reason=bucket)
            raise AuthnError("E0000047", retry_after=max(left, 1))
