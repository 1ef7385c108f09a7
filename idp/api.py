"""A demo resource API, protected by access tokens of the ``default`` server (``oidc_flows.resource``).

Mounted at /api/demo/. It uses the resource package as any other Django project would, except that
the issuer and audience are read from the ``default`` server's row instead of ``OIDC_RESOURCE``:

    GET /api/demo/whoami    any valid access token of ``default``
    GET /api/demo/reports   a token with the ``reports:read`` scope (created by ``idp_demo``)
"""

from __future__ import annotations

from django.urls import path
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from oidc_flows.errors import ProtocolError
from oidc_flows.resource.authentication import BearerTokenAuthentication
from oidc_flows.resource.errors import BearerError
from oidc_flows.resource.permissions import HasScopes
from oidc_flows.resource.settings import ResourceSettings
from oidc_flows.servers import resolve


REPORTS_SCOPE = "reports:read"
REPORTS = [
    {"id": "2026-q1", "title": "Sign-ins per flow, first quarter"},
    {"id": "2026-q2", "title": "Sign-ins per flow, second quarter"},
]


class DefaultServerTokens(BearerTokenAuthentication):
    """Bearer tokens of the ``default`` server: JWTs checked against its JWKS (fetched over HTTP)."""

    def get_settings(self) -> ResourceSettings:
        try:
            server = resolve("default")
        except ProtocolError:
            raise BearerError.unavailable() from None  # deactivated: no token of it can be checked
        return ResourceSettings.build(
            {"ISSUER": server.issuer, "AUDIENCE": server.effective_audience, "JWKS_URL": server.endpoint_url("keys")}
        )


class DemoAPIView(APIView):
    authentication_classes = [DefaultServerTokens]
    permission_classes = [HasScopes]
    required_scopes: list[str] = []


class WhoAmI(DemoAPIView):
    def get(self, request: Request) -> Response:
        user = request.user
        return Response({"sub": user.sub, "client_id": user.client_id, "scopes": sorted(user.scopes)})


class Reports(DemoAPIView):
    required_scopes = [REPORTS_SCOPE]

    def get(self, request: Request) -> Response:
        return Response({"reports": REPORTS, "for": request.user.client_id})


urlpatterns = [
    path("whoami", WhoAmI.as_view(), name="demo-api-whoami"),
    path("reports", Reports.as_view(), name="demo-api-reports"),
]
