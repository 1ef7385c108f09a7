"""What every endpoint view shares: its authorization server, resolved once from the URL, and errors."""

from __future__ import annotations

from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from oauth2_provider.oauth2_backends import OAuthLibCore

from .. import policy, servers
from ..errors import ProtocolError
from ..models import AuthorizationServer


#: RFC 6749 §5.1, §5.2: token responses and their errors are never cached (Pragma for HTTP/1.0 caches).
NO_STORE_HEADERS = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def no_store(response: HttpResponse) -> HttpResponse:
    """Mark ``response`` as holding tokens or personal data: no cache may keep it."""
    for name, value in NO_STORE_HEADERS.items():
        response[name] = value
    return response


def json_error(exc: ProtocolError) -> JsonResponse:
    return no_store(JsonResponse(exc.as_dict(), status=exc.spec.status))


def client_json_error(exc: ProtocolError, server: AuthorizationServer) -> JsonResponse:
    """A JSON error for an endpoint that authenticates clients as /token does (/par, /device/authorize)."""
    response = json_error(exc)
    if exc.spec.status == 401:
        # RFC 6749 §5.2: the scheme the client authenticates with, as /token answers.
        response["WWW-Authenticate"] = f'Basic realm="{server.issuer}", charset="UTF-8"'
    return response


def error_page(request: HttpRequest, error: str, description: str, status: int = 400) -> HttpResponse:
    """The friendly page shown when redirecting back to the client would be unsafe."""
    context = {"error": error, "description": description, "status": status}
    return render(request, "oidc_flows/error.html", context, status=status)


def _has_nul(request: HttpRequest) -> bool:
    params = (request.GET, request.POST) if request.method == "POST" else (request.GET,)
    return any("\x00" in key or any("\x00" in v for v in values) for p in params for key, values in p.lists())


def _parameter_problem(request: HttpRequest) -> str | None:
    """Why the request's parameters cannot be read as sent (``invalid_request``), or None."""
    try:
        if _has_nul(request):
            # No legitimate parameter holds a NUL byte, and PostgreSQL text cannot store one.
            return "Parameters must not contain NUL bytes."
    except (RequestDataTooBig, TooManyFieldsSent):
        # Django's DATA_UPLOAD_MAX_* limits: a standard error body instead of Django's bare 400.
        return "The request has too many or too large parameters."
    return None


def _form_body_problem(request: HttpRequest) -> str | None:
    """Why the body of a POST to /token, /introspect or /revoke is malformed (``invalid_request``), or None."""
    if request.content_type != policy.FORM_CONTENT_TYPE:
        return f"The request body must be {policy.FORM_CONTENT_TYPE}."
    if name := policy.repeated_parameter(request.POST.lists()):
        return f"{name[:40]} must not be repeated."
    return None


class ServerBoundMixin:
    """Resolve the authorization server once per request, from the URL, and bind oauthlib to it."""

    server: AuthorizationServer
    #: Render a missing server as an HTML page (browser endpoints) rather than JSON.
    html_errors = False
    #: The endpoint takes its parameters as a form-encoded POST body (RFC 6749 §3.2).
    form_body = False

    def dispatch(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        try:
            if problem := _parameter_problem(request):
                raise ProtocolError("invalid_request", problem)
            self.server = servers.resolve(kwargs.pop("server_id", None))
            if self.form_body and request.method == "POST" and (problem := _form_body_problem(request)):
                raise ProtocolError("invalid_request", problem)
        except ProtocolError as exc:
            if self.html_errors:
                return error_page(request, exc.error, exc.description, exc.spec.status)
            return json_error(exc)
        return super().dispatch(request, *args, **kwargs)

    def get_oauthlib_core(self) -> OAuthLibCore:  # replaces DOT's class-level cache
        return servers.oauthlib_core(self.server, http_request=self.request)
