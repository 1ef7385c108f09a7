"""The minimal API: DRF views and plain Django views, protected by oidc_flows.resource."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from oidc_flows.resource.decorators import require_token
from oidc_flows.resource.permissions import RequireScopes


def describe(user) -> dict:
    return {"sub": user.sub, "client_id": user.client_id, "scopes": sorted(user.scopes)}


class WhoAmI(APIView):
    """Any valid token (the project's defaults: BearerTokenAuthentication + HasScopes)."""

    def get(self, request: Request) -> Response:
        return Response(describe(request.user) | {"auth_iss": request.auth["iss"]})


class Reports(APIView):
    required_scopes = ["reports:read"]

    def get(self, request: Request) -> Response:
        return Response({"reports": ["q1", "q2"], "for": request.user.client_id})


class ReportsAdmin(APIView):
    permission_classes = [RequireScopes("reports:read", "reports:write")]

    def post(self, request: Request) -> Response:
        return Response({"created": True}, status=201)


@require_token
def plain_whoami(request: HttpRequest) -> JsonResponse:
    return JsonResponse(describe(request.user))


@require_token(scopes=["reports:read"])
def plain_reports(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"reports": ["q1", "q2"], "for": request.user.client_id})
