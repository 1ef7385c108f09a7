"""The well-known documents (OIDC Discovery §4, RFC 8414 §3) and the JWKS (RFC 7517 §5)."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.utils.cache import patch_cache_control, patch_vary_headers
from django.views import View

from .. import keys
from ..discovery import build_metadata
from .mixins import ServerBoundMixin


#: Verifiers cache these; a rotated key is published as `next` before it signs, so five minutes is safe.
CACHE_SECONDS = 300


def _cacheable(data: dict) -> JsonResponse:
    response = JsonResponse(data)
    patch_cache_control(response, public=True, max_age=CACHE_SECONDS)
    patch_vary_headers(response, ["Origin"])
    response["Access-Control-Allow-Origin"] = "*"  # public documents: any browser app may read them
    return response


class MetadataView(ServerBoundMixin, View):
    def get(self, request: HttpRequest, *args, **kwargs) -> JsonResponse:
        return _cacheable(build_metadata(self.server))


class KeysView(ServerBoundMixin, View):
    def get(self, request: HttpRequest, *args, **kwargs) -> JsonResponse:
        return _cacheable(keys.jwks(self.server))
