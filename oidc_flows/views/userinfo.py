"""The UserInfo endpoint (OIDC Core §5.3): claims of the granted scopes, for this server's tokens only."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.utils.decorators import method_decorator
from django.views.decorators.csrf import csrf_exempt
from oauth2_provider import views as dot

from . import cors
from .mixins import ServerBoundMixin, no_store


@method_decorator(csrf_exempt, name="dispatch")
class UserInfoView(ServerBoundMixin, dot.UserInfoView):
    def _create_userinfo_response(self, request: HttpRequest) -> HttpResponse:
        response = super()._create_userinfo_response(request)
        if response.content.startswith(b"{"):
            response["Content-Type"] = "application/json"  # DOT leaves Django's text/html default
        no_store(response)  # personal data
        if response.status_code == 403:
            response["WWW-Authenticate"] = 'Bearer error="insufficient_scope", scope="openid"'
        return cors.grant(request, response, cors.bearer_token_client(request, self.server))

    def options(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        # The bearer token travels in the Authorization header, which a browser sends only after a preflight.
        return cors.preflight(request, methods=["GET", "POST"], headers=["Authorization"])
