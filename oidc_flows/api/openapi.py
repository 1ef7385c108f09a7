"""drf-spectacular settings of the management API's OpenAPI schema (plain data: idp/settings.py imports it).

    SPECTACULAR_SETTINGS = {**oidc_flows.api.openapi.SETTINGS}

``manage.py spectacular`` reads the project's SPECTACULAR_SETTINGS; the served schema
(/api/v1/schema) applies these whatever the project says.
"""

SETTINGS = {
    "TITLE": "oidc_flows management API",
    "DESCRIPTION": (
        "Okta-style management API of the identity provider: applications, authorization servers, users, "
        "groups and the system log. Call it with an access token of the org authorization server "
        "(/oauth2/v1/token) carrying the oidc_flows.<family>.read or .manage scopes."
    ),
    "VERSION": "1",
    # The schema and the UI themselves are not operations of the API.
    "SERVE_INCLUDE_SCHEMA": False,
    # The management API only: the project's other DRF views (the demo resource API) are not part of it.
    "PREPROCESSING_HOOKS": ["oidc_flows.api.schema.management_endpoints"],
    # Request and response bodies apart: read-only fields (ids, created) are not asked of a client.
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI from drf-spectacular-sidecar's copies (static files), never a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}
