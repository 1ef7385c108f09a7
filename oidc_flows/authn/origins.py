"""Trusted origins (Okta's Trusted Origins): which web pages may call ``/api/v1/authn`` and be redirected to.

CORS names the one calling origin, never ``*``, with ``Access-Control-Allow-Credentials`` (Okta's SDKs
send credentials), on answers and errors alike; an origin nobody registered gets no grant.
"""

from __future__ import annotations

import re
from typing import Final
from urllib.parse import urlsplit

from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_vary_headers

from . import config


_ORIGIN: Final = re.compile(r"^https?://[A-Za-z0-9.\-\[\]:]{1,253}$")
REQUEST_HEADERS: Final = (
    "Accept",
    "Authorization",
    "Content-Type",
    "X-Okta-User-Agent-Extended",
    "X-Requested-With",
    "X-Device-Fingerprint",
)
PREFLIGHT_MAX_AGE_SECONDS: Final = 600


def _trusted(kind: str) -> frozenset[str]:
    """Active origins registered for ``kind`` ("cors", "redirect"), lower case (the snapshot of authn.config)."""
    return config.current().origins[kind]


def forget() -> None:
    """Drop this process's snapshot (saving or deleting an origin also stamps the change for every node)."""
    config.forget()


def may_call(origin: str) -> bool:
    return bool(_ORIGIN.match(origin)) and origin.lower() in _trusted("cors")


def may_redirect_to(url: str) -> bool:
    """Whether ``url`` (absolute http(s)) is on a trusted origin registered for redirects."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or "\\" in url:
        return False
    return f"{parts.scheme}://{parts.netloc}".lower() in _trusted("redirect")


def _origin(request: HttpRequest) -> str | None:
    origin = request.headers.get("Origin", "")
    return origin if origin and may_call(origin) else None


def grant_cors(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    patch_vary_headers(response, ["Origin"])
    if origin := _origin(request):
        response["Access-Control-Allow-Origin"] = origin
        response["Access-Control-Allow-Credentials"] = "true"
    return response


def preflight(request: HttpRequest) -> HttpResponse:
    response = HttpResponse(status=204)
    patch_vary_headers(response, ["Origin", "Access-Control-Request-Method", "Access-Control-Request-Headers"])
    if origin := _origin(request):
        response["Access-Control-Allow-Origin"] = origin
        response["Access-Control-Allow-Credentials"] = "true"
        response["Access-Control-Allow-Methods"] = "POST, GET, OPTIONS"
        response["Access-Control-Allow-Headers"] = ", ".join(REQUEST_HEADERS)
        response["Access-Control-Max-Age"] = str(PREFLIGHT_MAX_AGE_SECONDS)
    return response
