"""The well-known documents (OIDC Discovery §4, RFC 8414 §3) and the JWKS (RFC 7517 §5).

Both are public and cacheable: ``Cache-Control: public, max-age``, an ``ETag`` and ``304 Not
Modified`` for a verifier that already holds the current version. This process renders each
document once per version of the server's configuration (oidc_flows.snapshots).
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime

from django.http import HttpRequest, HttpResponse, HttpResponseNotModified
from django.utils import timezone
from django.utils.cache import patch_cache_control, patch_vary_headers
from django.utils.http import parse_etags
from django.views import View

from .. import keys, snapshots
from ..discovery import build_metadata
from ..models import AuthorizationServer
from .mixins import ServerBoundMixin


#: Verifiers cache these; a rotated key is published as `next` before it signs, so five minutes is safe.
CACHE_SECONDS = 300


def render(data: dict) -> tuple[bytes, str]:
    """The JSON body and its strong ETag (a digest of the body)."""
    body = json.dumps(data).encode()
    return body, f'"{hashlib.sha256(body).hexdigest()[:32]}"'


def _cacheable(request: HttpRequest, body: bytes, etag: str) -> HttpResponse:
    known = parse_etags(request.headers.get("If-None-Match", ""))
    if etag in known or "*" in known:
        response = HttpResponseNotModified()
    else:
        response = HttpResponse(body, content_type="application/json")
    response["ETag"] = etag
    patch_cache_control(response, public=True, max_age=CACHE_SECONDS)
    patch_vary_headers(response, ["Origin"])
    response["Access-Control-Allow-Origin"] = "*"  # public documents: any browser app may read them
    return response


def public_preflight(request: HttpRequest) -> HttpResponse:
    """OPTIONS for the public documents: SDKs send custom headers (``X-Okta-User-Agent-Extended``), so they ask."""
    response = HttpResponse(status=204)
    response["Access-Control-Allow-Origin"] = "*"
    response["Access-Control-Allow-Methods"] = "GET"
    response["Access-Control-Allow-Headers"] = ", ".join(PUBLIC_REQUEST_HEADERS)
    response["Access-Control-Max-Age"] = str(CACHE_SECONDS)
    return response


#: Headers browser SDKs add to their GETs of discovery and JWKS (okta-auth-js, oidc-client-ts).
PUBLIC_REQUEST_HEADERS = ("Accept", "Content-Type", "X-Okta-User-Agent-Extended", "X-Requested-With")


class MetadataView(ServerBoundMixin, View):
    def options(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        return public_preflight(request)

    def get(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        rendered = snapshots.of(self.server).memo("metadata", lambda: render(build_metadata(self.server)))
        return _cacheable(request, *rendered)


class KeysView(ServerBoundMixin, View):
    def options(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        return public_preflight(request)

    def get(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        return _cacheable(request, *snapshots.of(self.server).memo("jwks", _RenderedKeys).get(self.server))


class _RenderedKeys:
    """The JWKS as bytes and ETag, for one snapshot of the server, until a retired key's grace period ends.

    That is the one change that comes with time rather than with a bump of the server's stamp; a
    rendering is kept until the earliest such moment of the keys it holds, then rendered again.
    """

    def __init__(self) -> None:
        self._rendered: tuple[bytes, str, datetime | None] | None = None

    def get(self, server: AuthorizationServer) -> tuple[bytes, str]:
        now = timezone.now()
        rendered = self._rendered
        if rendered is None or (rendered[2] is not None and now >= rendered[2]):
            data, until = keys.jwks_until(server, now=now)
            # One assignment: threads of this process may render at once, and each sees a whole rendering.
            rendered = self._rendered = (*render(data), until)
        return rendered[0], rendered[1]
