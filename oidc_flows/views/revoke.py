"""The revocation endpoint (RFC 7009): DOT's view, bound to the URL's authorization server.

Client authentication is the token endpoint's; which tokens a client may revoke, and what else goes
with them, is decided in ``oidc_flows.introspection``.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.utils.decorators import method_decorator
from django.views.decorators.csrf import csrf_exempt
from oauth2_provider import views as dot

from .introspect import endpoint_response
from .mixins import ServerBoundMixin


@method_decorator(csrf_exempt, name="dispatch")
class RevokeView(ServerBoundMixin, dot.RevokeTokenView):
    form_body = True

    def post(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        # RFC 7009 §2.2: 200 with an empty body whether or not the token was known.
        _, headers, body, status = self.create_revocation_response(request)
        return endpoint_response(self.server, headers, body, status)
