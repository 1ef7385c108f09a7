"""The pushed authorization request endpoint (RFC 9126 §2): /v1/par of every authorization server.

POST only, a form body, client authentication as at /token. The answer is 201 with the
``request_uri`` to send the browser to /authorize with; errors are JSON (RFC 9126 §2.3).
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.debug import sensitive_post_parameters

from .. import par
from ..errors import ProtocolError
from . import cors
from .mixins import ServerBoundMixin, client_json_error, no_store


@method_decorator(csrf_exempt, name="dispatch")
class PushedAuthorizationRequestView(ServerBoundMixin, View):
    form_body = True
    http_method_names = ["post", "options"]

    @method_decorator(sensitive_post_parameters("client_secret", "client_assertion"))
    def post(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        try:
            pushed = par.accept(self.get_oauthlib_core(), self.server, request)
        except ProtocolError as exc:
            return client_json_error(exc, self.server)
        return no_store(JsonResponse(pushed.as_dict(), status=201))

    def dispatch(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        response = super().dispatch(request, *args, **kwargs)
        if request.method != "POST":
            return response
        # Public browser apps (spa) may push from their own origin (RFC 9126 §2.1), as they call /token.
        return cors.grant(request, response, cors.token_request_client(request))

    def options(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        return cors.preflight(
            request, methods=["POST"], headers=["Authorization", "Content-Type", "X-Okta-User-Agent-Extended"]
        )
