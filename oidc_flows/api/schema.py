"""The OpenAPI side of the management API: its authentication as a security scheme, and the schema and
Swagger UI views (public, like Okta's published specification; they show no data)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView, _get_sidecar_url
from rest_framework.permissions import AllowAny

from .openapi import SETTINGS


#: Where the management API is mounted (oidc_flows/urls.py).
PREFIX = "/api/v1/"


def management_endpoints(endpoints: list[tuple]) -> list[tuple]:
    """drf-spectacular preprocessing hook: keep the management API's operations (path, regex, method, view)."""
    return [endpoint for endpoint in endpoints if endpoint[0].startswith(PREFIX)]


class OrgTokenScheme(OpenApiAuthenticationExtension):
    target_class = "oidc_flows.api.authentication.OrgTokenAuthentication"
    name = "orgAccessToken"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An access token of the org authorization server (/oauth2/v1/token) with management scopes.",
        }


class SchemaView(SpectacularAPIView):
    """/api/v1/schema: the OpenAPI 3 document (YAML, or JSON with ``?format=json`` / Accept)."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    custom_settings = {key: value for key, value in SETTINGS.items() if not key.startswith("SERVE_")}


class DocsView(SpectacularSwaggerSplitView):
    """/api/v1/docs: Swagger UI, its assets served locally (drf-spectacular-sidecar), its script apart (CSP)."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    url_name = "oidc_flows:api-schema"
    title = SETTINGS["TITLE"]

    @staticmethod
    def _swagger_ui_resource(filename: str) -> str:
        return _get_sidecar_url(f"swagger-ui-dist/{filename}")

    @staticmethod
    def _swagger_ui_favicon() -> str:
        return _get_sidecar_url("swagger-ui-dist/favicon-32x32.png")
