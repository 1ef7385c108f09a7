"""One-time values: a client assertion's or a DPoP proof's ``jti`` is accepted once, on every node.

``first_use`` records a value until it expires and says whether it was new. The record lives where
every node sees it: the shared cache when there is one (Redis, Memcached or the database cache in
production: ``cache.add`` is atomic there), otherwise the database (``OneTimeUse``, a unique key), since
the embedded default's local-memory cache belongs to one process and ``make run`` starts several.
"""

from __future__ import annotations

import hashlib
import math
import time
from datetime import UTC, datetime

from django.core.cache import cache, caches
from django.db import IntegrityError, transaction

from .models import OneTimeUse


#: Cache backends private to one process: a record there would not stop a replay on another worker.
_PROCESS_LOCAL = ("LocMemCache", "DummyCache")


def shared_cache() -> bool:
    """Whether the default cache is seen by every process (and so may hold one-time records)."""
    # The backend itself: ``django.core.cache.cache`` is a proxy, whose own type names no backend.
    return type(caches["default"]).__name__ not in _PROCESS_LOCAL


def first_use(kind: str, value: str, expires_at: float) -> bool:
    """Record ``value`` of ``kind`` (e.g. ``"assertion:<client_id>"``) until ``expires_at`` (epoch
    seconds); True the first time, False for a replay. Values are hashed: any length, no secrets kept.
    """
    digest = hashlib.sha256("\x00".join((kind, value)).encode()).hexdigest()
    if shared_cache():
        return bool(cache.add(f"oidc_flows:once:{digest}", 1, timeout=max(1, math.ceil(expires_at - time.time()) + 1)))
    expires = datetime.fromtimestamp(expires_at, UTC)
    try:
        with transaction.atomic():  # a savepoint inside a caller's transaction
            OneTimeUse.objects.create(key=digest, expires=expires)
    except IntegrityError:
        # Seen before, unless that record has expired (not yet purged): then take it over, once.
        return bool(OneTimeUse.objects.filter(key=digest, expires__lt=datetime.now(UTC)).update(expires=expires))
    return True
