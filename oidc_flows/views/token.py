"""The token endpoint (RFC 6749 §3.2): DOT's view, bound to the URL's authorization server."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.utils.decorators import method_decorator
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.debug import sensitive_post_parameters
from oauth2_provider import views as dot
from oauth2_provider.signals import app_authorized

from .. import dpop
from . import cors
from .mixins import ServerBoundMixin, no_store


@method_decorator(csrf_exempt, name="dispatch")
class TokenView(ServerBoundMixin, dot.TokenView):
    form_body = True

    @method_decorator(sensitive_post_parameters("password", "client_secret"))
    def authorization_flow_token_response(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        """DOT's, less one query: DOT reads back the token it has just stored to send ``app_authorized``."""
        url, headers, body, status = self.create_token_response(request)
        token = getattr(request, "oidc_flows_access_token", None)  # set by FlowsValidator._create_access_token
        if status == 200 and token is not None:
            app_authorized.send(sender=self, request=request, token=token)
        response = HttpResponse(content=body, status=status)
        for name, value in headers.items():
            response[name] = value
        return response

    def post(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        # RFC 6749 §5.1/§5.2: every answer, including the errors oauthlib builds without it (e.g. "URL query
        # parameters are not allowed"), is no-store.
        # Not DOT's post(): it answers the device_code grant from DOT's own DeviceGrant model; ours is an
        # oauthlib grant like the others (oidc_flows.device).
        response = no_store(self.authorization_flow_token_response(request, *args, **kwargs))
        if response.status_code == 401:
            # RFC 6749 §5.2: invalid_client answers with the scheme the client authenticates with
            # (oauthlib says "Bearer", which is for resource servers).
            response["WWW-Authenticate"] = f'Basic realm="{self.server.issuer}", charset="UTF-8"'
        return response

    def dispatch(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        response = super().dispatch(request, *args, **kwargs)
        if request.method != "POST":
            return response
        dpop_nonce(request, response)
        # Browser apps (spa) call /token from their own origin: answers and errors alike are theirs to read,
        # including the errors ServerBoundMixin raises before post() (malformed parameters, wrong body).
        return cors.grant(request, response, cors.token_request_client(request))

    def options(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        return cors.preflight(
            request, methods=["POST"], headers=["Authorization", "Content-Type", "DPoP", "X-Okta-User-Agent-Extended"]
        )


def dpop_nonce(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    """RFC 9449 §8.2: an answer to a DPoP request carries the nonce for the next proof (when nonces are used).

    Stateless (oidc_flows.dpop): any node accepts it. A browser app may read the header (CORS).
    """
    if "HTTP_DPOP" in request.META and dpop.nonces_in_use():
        if not response.has_header("DPoP-Nonce"):  # use_dpop_nonce set it already
            response["DPoP-Nonce"] = dpop.new_nonce()
        response["Access-Control-Expose-Headers"] = "DPoP-Nonce, WWW-Authenticate"
    return response
