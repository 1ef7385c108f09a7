"""The well-known documents (OIDC Discovery §4, RFC 8414 §3) and the JWKS (RFC 7517 §5).

Both are public and cacheable: ``Cache-Control: public, max-age``, an ``ETag`` and ``304 Not
Modified`` for a verifier that already holds the current version. This process renders each
document once per version of the server's configuration (oidc_flows.snapshots).
"""

from __future__ import annotations

import hashlib
import json
import time
from datetime import datetime

from django.conf import settings
from django.db.models.signals import post_delete, post_migrate, post_save
from django.http import HttpRequest, HttpResponse, HttpResponseNotModified
from django.utils import timezone
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
    known = request.headers.get("If-None-Match")
    if known and (etag in (known := parse_etags(known)) or "*" in known):
        response = HttpResponseNotModified()
    else:
        response = HttpResponse(body, content_type="application/json")
    # A fresh response has none of these headers: set them, rather than patch (parse and merge) them.
    response["ETag"] = etag
    response["Cache-Control"] = f"public, max-age={CACHE_SECONDS}"
    response["Vary"] = "Origin"
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


class _PublicDocument(ServerBoundMixin, View):
    """A document of the server's configuration, answered from this process's rendering.

    By default every request reads the server's stamp, like every other endpoint: a change made by
    any node is in the next answer. ``OIDC_FLOWS_LEAN["PUBLIC_DOCUMENTS_RECHECK_SECONDS"]`` lets a
    process answer from its rendering for that long after it last read the stamp, touching neither
    the database nor the server row: a change made by *another* process (or behind the model's
    signals) then shows within that time; one made by this process still shows at once (its signals
    drop the snapshot). Verifiers keep these documents for ``CACHE_SECONDS`` anyway.
    """

    def document(self, server: AuthorizationServer, snapshot: snapshots.Snapshot) -> tuple[bytes, str]:
        raise NotImplementedError

    def options(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        return public_preflight(request)

    def dispatch(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if request.method == "GET" and not request.META.get("QUERY_STRING") and (window := recheck_seconds()):
            recent = _recent.get((type(self), kwargs.get("server_id")))
            if (
                recent is not None
                and time.monotonic() - recent[0] < window
                and snapshots.current(recent[1].pk) is recent[2]
            ):
                return _cacheable(request, *self.document(recent[1], recent[2]))
        return super().dispatch(request, *args, **kwargs)

    def get(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        read_at = time.monotonic()
        snapshot = snapshots.of(self.server)
        _recent[(type(self), None if self.server.is_org else self.server.server_id)] = (read_at, self.server, snapshot)
        return _cacheable(request, *self.document(self.server, snapshot))


def recheck_seconds() -> float:
    """``OIDC_FLOWS_LEAN["PUBLIC_DOCUMENTS_RECHECK_SECONDS"]``: 0 (the default) reads the stamp on every request."""
    return float((getattr(settings, "OIDC_FLOWS_LEAN", None) or {}).get("PUBLIC_DOCUMENTS_RECHECK_SECONDS", 0))


#: The latest stamp read per (view, server id): when, the server row, and the snapshot it named.
_recent: dict[tuple[type, str | None], tuple[float, AuthorizationServer, snapshots.Snapshot]] = {}


def _forget_recent(**kwargs) -> None:
    _recent.clear()  # a server saved or deleted (or a flushed and re-migrated database): read stamps anew


post_save.connect(_forget_recent, sender=AuthorizationServer, dispatch_uid="oidc_flows.discovery.saved")
post_delete.connect(_forget_recent, sender=AuthorizationServer, dispatch_uid="oidc_flows.discovery.deleted")
post_migrate.connect(_forget_recent, dispatch_uid="oidc_flows.discovery.migrated")


class MetadataView(_PublicDocument):
    def document(self, server: AuthorizationServer, snapshot: snapshots.Snapshot) -> tuple[bytes, str]:
        return snapshot.memo("metadata", lambda: render(build_metadata(server)))


class KeysView(_PublicDocument):
    def document(self, server: AuthorizationServer, snapshot: snapshots.Snapshot) -> tuple[bytes, str]:
        return snapshot.memo("jwks", _RenderedKeys).get(server)


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
