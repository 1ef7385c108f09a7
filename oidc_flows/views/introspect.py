"""The introspection endpoint (RFC 7662): oauthlib's endpoint, bound to the URL's authorization server.

Client authentication is the token endpoint's (``FlowsValidator.authenticate_client``: each client
uses the method it registered; public clients send ``client_id`` only). What a client may learn is
decided in ``oidc_flows.introspection``.

DOT's ``IntrospectTokenView`` does not fit: it wants a bearer token with an ``introspection`` scope
and looks tokens up across all servers. oauthlib's ``IntrospectEndpoint`` (on the per-server core)
authenticates the client and asks ``FlowsValidator.introspect_token``.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.csrf import csrf_exempt

from ..models import AuthorizationServer
from .mixins import ServerBoundMixin, no_store


def endpoint_response(server: AuthorizationServer, headers: dict[str, str], body: str, status: int) -> HttpResponse:
    """An oauthlib endpoint's answer as a Django response that no cache keeps."""
    response = HttpResponse(body or "", status=status, content_type="application/json" if body else None)
    for name, value in headers.items():
        response[name] = value
    no_store(response)  # RFC 7662 §2.2 and RFC 7009 §2.2 answer like RFC 6749 §5.1: token data is never cached
    if status == 401:
        # RFC 6749 §5.2: invalid_client answers with the scheme the client authenticates with
        # (oauthlib says "Bearer", which is for resource servers).
        response["WWW-Authenticate"] = f'Basic realm="{server.issuer}", charset="UTF-8"'
    return response


@method_decorator(csrf_exempt, name="dispatch")
class IntrospectView(ServerBoundMixin, View):
    """POST only (RFC 7662 §2.1): a token in a query string would end up in logs."""

    form_body = True

    def post(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        core = self.get_oauthlib_core()
        uri, method, body, headers = core._extract_params(request)
        headers, body, status = core.server.create_introspect_response(uri, method, body, headers)
        return endpoint_response(self.server, headers, body, status)
