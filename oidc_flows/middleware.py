"""Middleware for running in production: the request log, and a 503 while the database is away.

Add both at the top of ``MIDDLEWARE``, in this order::

    "oidc_flows.middleware.RequestLogMiddleware",
    "oidc_flows.middleware.DatabaseUnavailableMiddleware",
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Final

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse

from . import observability


request_log = logging.getLogger("oidc_flows.requests")
logger = logging.getLogger(__name__)

#: Seconds a client should wait before retrying while the database is unavailable (RFC 9110 §10.2.3).
RETRY_AFTER_SECONDS: Final = 5
#: Health checks that succeed are not logged: load balancers ask every few seconds.
QUIET_URL_NAMES: Final = frozenset({"healthz", "readyz"})
#: Errors that mean "the database cannot be reached or the connection broke", not "this request is wrong".
DATABASE_DOWN: Final = (OperationalError, InterfaceError)


class RequestLogMiddleware:
    """Give every request an id (X-Request-ID, echoed back) and log one line when it is answered."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        request.request_id = observability.request_id(request)
        bound = observability.current_request.set(request)
        try:
            response = self.get_response(request)
        finally:
            observability.current_request.reset(bound)
        response[observability.REQUEST_ID_HEADER] = request.request_id
        match = getattr(request, "resolver_match", None)
        if response.status_code < 400 and match is not None and match.url_name in QUIET_URL_NAMES:
            return response
        fields = {
            "request_id": request.request_id,
            "method": request.method,
            "path": request.path,  # never the query string: codes and tokens travel there
            "status": response.status_code,
            "duration_ms": round((time.perf_counter() - started) * 1000, 1),
            "server": observability.server_of(request),
            "client_id": observability.client_id_of(request),
        }
        request_log.info("%(method)s %(path)s %(status)s %(duration_ms)s ms", fields, extra=fields)
        return response


def unavailable_response() -> JsonResponse:
    """503 ``temporarily_unavailable`` (RFC 6749 §4.1.2.1's code) with Retry-After."""
    response = JsonResponse(
        {
            "error": "temporarily_unavailable",
            "error_description": "The service is temporarily unavailable. Try again shortly.",
        },
        status=503,
    )
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response["Cache-Control"] = "no-store"
    return response


class DatabaseUnavailableMiddleware:
    """Answer 503 JSON instead of a 500 page when a view cannot reach the database.

    Nothing to reset afterwards: Django drops a broken connection at the end of the request
    (``CONN_HEALTH_CHECKS`` checks reused ones), so the next request reconnects once the database
    is back. Errors raised outside views (e.g. saving the session) reach ``server_error`` instead.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, DATABASE_DOWN):
            return None
        logger.error("database unavailable: %s", type(exception).__name__)
        return unavailable_response()
