"""The UserInfo endpoint (OIDC Core §5.3): claims of the granted scopes, for this server's tokens only.

A DPoP-bound token (RFC 9449 §7) comes as ``Authorization: DPoP <token>`` with a proof of this request
(``htm``, ``htu`` = the configured userinfo URL, ``ath`` = the token's hash). This view checks the proof;
the validator then checks that the token is bound to the proof's key
(``FlowsValidator.validate_bearer_token``), and refuses a bound token sent as a bearer token.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.decorators import method_decorator
from django.views.decorators.csrf import csrf_exempt
from oauth2_provider import views as dot

from .. import dpop, policy, replay
from . import cors
from .mixins import ServerBoundMixin, no_store
from .token import dpop_nonce


@method_decorator(csrf_exempt, name="dispatch")
class UserInfoView(ServerBoundMixin, dot.UserInfoView):
    def _create_userinfo_response(self, request: HttpRequest) -> HttpResponse:
        presented = dpop.authorization(request.headers.get("Authorization", ""))
        with_dpop = presented is not None and presented[0] == dpop.SCHEME
        if with_dpop:
            try:
                proof = dpop.verify(
                    request.headers.get("DPoP"),
                    method=request.method,
                    url=self.server.endpoint_url("userinfo"),  # from BASE_URL, never the Host header
                    algs=policy.DPOP_ALGS,
                    first_use=replay.first_use,
                    access_token=presented[1],
                    nonce_required=dpop.nonce_required(dpop_required=self.server.requires_dpop),
                )
            except dpop.DPoPError as exc:
                return self._finish(request, self._refusal(exc.error, exc.description))
            request.oidc_flows_dpop_jkt = proof.jkt  # what FlowsValidator.validate_bearer_token compares
        response = super()._create_userinfo_response(request)
        if response.content.startswith(b"{"):
            response["Content-Type"] = "application/json"  # DOT leaves Django's text/html default
        if response.status_code == 403:
            response["WWW-Authenticate"] = 'Bearer error="insufficient_scope", scope="openid"'
        elif response.status_code == 401 and with_dpop:
            # RFC 9449 §7.1: the challenge of the scheme the client used.
            response["WWW-Authenticate"] = dpop.challenge(
                policy.DPOP_ALGS, "invalid_token", "The access token is invalid, or not bound to this DPoP key."
            )
        return self._finish(request, response)

    def _refusal(self, error: str, description: str) -> HttpResponse:
        """RFC 9449 §7.1, §9: 401 with a DPoP challenge (and, for use_dpop_nonce, the nonce to use)."""
        response = JsonResponse({"error": error, "error_description": description}, status=401)
        response["WWW-Authenticate"] = dpop.challenge(policy.DPOP_ALGS, error, description)
        if error == "use_dpop_nonce":
            response["DPoP-Nonce"] = dpop.new_nonce()
        return response

    def _finish(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        no_store(response)  # personal data
        dpop_nonce(request, response)
        return cors.grant(request, response, cors.bearer_token_client(request, self.server))

    def options(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        # The token travels in the Authorization header, which a browser sends only after a preflight.
        return cors.preflight(request, methods=["GET", "POST"], headers=["Authorization", "DPoP"])
