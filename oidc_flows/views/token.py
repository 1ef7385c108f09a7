"""The token endpoint (RFC 6749 §3.2): DOT's view, bound to the URL's authorization server."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.utils.decorators import method_decorator
from django.views.decorators.csrf import csrf_exempt
from oauth2_provider import views as dot

from .mixins import ServerBoundMixin


@method_decorator(csrf_exempt, name="dispatch")
class TokenView(ServerBoundMixin, dot.TokenView):
    def post(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        response = super().post(request, *args, **kwargs)
        if response.status_code == 401:
            # RFC 6749 §5.2: invalid_client answers with the scheme the client authenticates with
            # (oauthlib says "Bearer", which is for resource servers).
            response["WWW-Authenticate"] = f'Basic realm="{self.server.issuer}", charset="UTF-8"'
        return response
