"""CORS for the endpoints a browser app calls itself, /token and /userinfo (Fetch standard, CORS protocol).

A response is readable by a page only if the application it concerns registered that page's origin
(``Application.allowed_origins``; spa applications). It names that one origin, never ``*``: it carries
tokens or personal data. Any other origin gets no grant, and the browser keeps the answer from its script.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable
from typing import Final
from urllib.parse import unquote

from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_vary_headers

from .. import tokens
from ..introspection import checksum
from ..models import AccessToken, Application, AuthorizationServer


ALLOW_ORIGIN: Final = "Access-Control-Allow-Origin"
PREFLIGHT_MAX_AGE_SECONDS: Final = 600
# What a browser sends as Origin; anything else (or "null") is never looked up.
_ORIGIN: Final = re.compile(r"^https?://[A-Za-z0-9.\-\[\]:]{1,253}$")


def _origin(request: HttpRequest) -> str | None:
    origin = request.headers.get("Origin", "")
    return origin if _ORIGIN.match(origin) else None


def grant(request: HttpRequest, response: HttpResponse, client: Application | None) -> HttpResponse:
    """Let the page read ``response`` if ``client`` registered its origin; otherwise make sure nothing does."""
    patch_vary_headers(response, ["Origin"])
    origin = _origin(request)
    if origin and client is not None and client.is_active and client.origin_allowed(origin):
        response[ALLOW_ORIGIN] = origin
    elif response.has_header(ALLOW_ORIGIN):
        del response[ALLOW_ORIGIN]  # oauthlib's own grant (https origins only) is replaced by ours
    return response


def preflight(request: HttpRequest, *, methods: Iterable[str], headers: Iterable[str]) -> HttpResponse:
    """Answer an OPTIONS preflight: allowed for an origin that some active application registered.

    A preflight carries no credentials, so it cannot name the application; the real response is then
    granted only for the application it concerns (``grant``).
    """
    response = HttpResponse(status=204)
    patch_vary_headers(response, ["Origin", "Access-Control-Request-Method", "Access-Control-Request-Headers"])
    origin = _origin(request)
    candidates = Application.objects.filter(is_active=True, allowed_origins__contains=origin) if origin else []
    if any(client.origin_allowed(origin) for client in candidates):
        response[ALLOW_ORIGIN] = origin
        response["Access-Control-Allow-Methods"] = ", ".join(methods)
        response["Access-Control-Allow-Headers"] = ", ".join(headers)
        response["Access-Control-Max-Age"] = str(PREFLIGHT_MAX_AGE_SECONDS)
    return response


def token_request_client(request: HttpRequest) -> Application | None:
    """The application a token request names: the user name of its Basic credentials, or its ``client_id``."""
    if not _origin(request):
        return None  # not a browser's cross-origin call: no lookup
    try:
        client_id = request.POST.get("client_id", "")
    except (RequestDataTooBig, TooManyFieldsSent):
        client_id = ""  # a body past Django's limits: only Basic credentials can name the client
    scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "basic":
        try:
            client_id = unquote(base64.b64decode(credentials, validate=True).decode().partition(":")[0])
        except (binascii.Error, UnicodeDecodeError):
            return None
    if not client_id or "\x00" in client_id:
        return None
    return Application.objects.filter(client_id=client_id).first()


def bearer_token_client(request: HttpRequest, server: AuthorizationServer) -> Application | None:
    """The application of the access token in the Authorization header (even an expired one), if any."""
    if not _origin(request):
        return None
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() not in ("bearer", "dpop") or not token:  # DPoP: RFC 9449 §7.1
        return None
    token = token.strip()
    if server.issues_jwt_access_tokens:
        payload = tokens.verify_access_token(server, token)
        return Application.objects.filter(client_id=payload["client_id"]).first() if payload else None
    access_token = (
        AccessToken.objects.select_related("application").filter(server=server, token_checksum=checksum(token)).first()
    )
    return access_token.application if access_token else None
