"""What every endpoint view shares: its authorization server, resolved once from the URL, and errors."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from oauth2_provider.oauth2_backends import OAuthLibCore

from .. import servers
from ..errors import ProtocolError
from ..models import AuthorizationServer


def json_error(exc: ProtocolError) -> JsonResponse:
    response = JsonResponse(exc.as_dict(), status=exc.spec.status)
    response["Cache-Control"] = "no-store"
    return response


def error_page(request: HttpRequest, error: str, description: str, status: int = 400) -> HttpResponse:
    """The friendly page shown when redirecting back to the client would be unsafe."""
    context = {"error": error, "description": description, "status": status}
    return render(request, "oidc_flows/error.html", context, status=status)


def _has_nul(request: HttpRequest) -> bool:
    params = (request.GET, request.POST) if request.method == "POST" else (request.GET,)
    return any("\x00" in key or any("\x00" in v for v in values) for p in params for key, values in p.lists())


class ServerBoundMixin:
    """Resolve the authorization server once per request, from the URL, and bind oauthlib to it."""

    server: AuthorizationServer
    #: Render a missing server as an HTML page (browser endpoints) rather than JSON.
    html_errors = False

    def dispatch(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        try:
            if _has_nul(request):
                # No legitimate parameter holds a NUL byte, and PostgreSQL text cannot store one.
                raise ProtocolError("invalid_request", "Parameters must not contain NUL bytes.")
            self.server = servers.resolve(kwargs.pop("server_id", None))
        except ProtocolError as exc:
            if self.html_errors:
                return error_page(request, exc.error, exc.description, exc.spec.status)
            return json_error(exc)
        return super().dispatch(request, *args, **kwargs)

    def get_oauthlib_core(self) -> OAuthLibCore:  # replaces DOT's class-level cache
        return servers.oauthlib_core(self.server, http_request=self.request)
