"""Dynamic client registration (RFC 7591) at /oauth2/v1/clients and the client configuration endpoint
(RFC 7592) at /oauth2/v1/clients/<client_id>: JSON in, JSON out, never cached. See oidc_flows.dcr."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.csrf import csrf_exempt

from .. import dcr
from ..authn import ratelimit
from ..authn.errors import AuthnError
from ..errors import ProtocolError
from ..settings import flows_settings
from .mixins import json_error, no_store


def error_response(request: HttpRequest, exc: ProtocolError, retry_after: int | None = None) -> HttpResponse:
    response = json_error(exc)
    if exc.spec.status == 401:
        # RFC 6750 §3: the Bearer challenge; §3.1: no error code when no token was presented at all.
        realm = f'Bearer realm="{flows_settings().BASE_URL}"'
        presented = dcr.bearer(request) is not None
        response["WWW-Authenticate"] = f'{realm}, error="invalid_token"' if presented else realm
    if retry_after:
        response["Retry-After"] = str(retry_after)
    return response


@method_decorator(csrf_exempt, name="dispatch")  # an API: a Bearer token, never a cookie, authorizes it
class ClientRegistrationView(View):
    http_method_names = ["post"]

    def post(self, request: HttpRequest) -> HttpResponse:
        try:
            ratelimit.check(request, "registration")  # per address, before any token is looked at
        except AuthnError as exc:
            error = ProtocolError("too_many_requests", "Too many registrations from this address; retry later.")
            return error_response(request, error, retry_after=exc.retry_after)
        try:
            initial = dcr.initial_token(request)
            info = dcr.register(dcr.read_body(request), initial)
        except ProtocolError as exc:
            return error_response(request, exc)
        response = no_store(JsonResponse(info, status=201))
        response["Location"] = info["registration_client_uri"]
        return response


@method_decorator(csrf_exempt, name="dispatch")
class ClientConfigurationView(View):
    http_method_names = ["get", "put", "delete"]

    def dispatch(self, request: HttpRequest, *args, client_id: str, **kwargs) -> HttpResponse:
        if request.method.lower() not in self.http_method_names:
            return self.http_method_not_allowed(request)
        try:
            app = dcr.registered_client(request, client_id)
            if request.method == "DELETE":
                dcr.delete(app)
                return no_store(HttpResponse(status=204))  # RFC 7592 §2.3
            if request.method == "PUT":
                info = dcr.update(app, dcr.read_body(request))
            else:
                info = dcr.client_information(app, registration_token=dcr.bearer(request) or "")
        except ProtocolError as exc:
            return error_response(request, exc)
        return no_store(JsonResponse(info))
