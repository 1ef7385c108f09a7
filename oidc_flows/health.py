"""Health checks for load balancers and orchestrators, and the 500 handler that knows a database outage.

``/healthz``: the process is up and answering (no database, no cache): restart it if this fails.
``/readyz``: the database and the cache answer: send it traffic only while this is 200.
"""

from __future__ import annotations

import logging
import sys
import uuid

from django.core.cache import caches
from django.db import connections
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from django.views.defaults import server_error as django_server_error

from .middleware import DATABASE_DOWN, RETRY_AFTER_SECONDS, unavailable_response


logger = logging.getLogger(__name__)


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """200 while the process serves requests; touches neither the database nor the cache."""
    return JsonResponse({"status": "ok"})


def _database_ok() -> bool:
    try:
        with connections["default"].cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone() == (1,)
    except Exception as exc:  # any failure means "not ready"; the type is enough for the log
        logger.warning("readyz: database check failed: %s", type(exc).__name__)
        return False


def _cache_ok() -> bool:
    key = f"oidc_flows:readyz:{uuid.uuid4().hex}"
    cache = caches["default"]
    try:
        cache.set(key, "1", 10)
        ok = cache.get(key) == "1"
        cache.delete(key)
        return ok
    except Exception as exc:
        logger.warning("readyz: cache check failed: %s", type(exc).__name__)
        return False


@never_cache
@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    """200 when the database and the cache answer; 503 with what failed otherwise."""
    checks = {"database": "ok" if _database_ok() else "unavailable", "cache": "ok" if _cache_ok() else "unavailable"}
    if all(state == "ok" for state in checks.values()):
        return JsonResponse({"status": "ok", "checks": checks})
    response = JsonResponse(
        {
            "status": "unavailable",
            "error": "temporarily_unavailable",
            "error_description": "A backing service is unavailable.",
            "checks": checks,
        },
        status=503,
    )
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def server_error(request: HttpRequest, *args, **kwargs) -> HttpResponse:
    """``handler500``: a database outage raised outside a view is a 503 too, not a 500 page."""
    if isinstance(sys.exc_info()[1], DATABASE_DOWN):
        return unavailable_response()
    return django_server_error(request, *args, **kwargs)
