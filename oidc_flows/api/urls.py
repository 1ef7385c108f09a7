"""The management API's URLs, mounted at /api/v1/ (oidc_flows/urls.py).

Each resource family contributes its routes with ONE line below: ``<family>.routes(router)``.
Paths are Okta's, without trailing slashes (/api/v1/apps, /api/v1/apps/{id}/lifecycle/activate).
"""

from django.urls import path
from rest_framework.routers import SimpleRouter

from .schema import DocsView, SchemaView
from .views import apps, groups, logs, servers, users


router = SimpleRouter(trailing_slash=False)
# -- one line per family: <family>.routes(router) ------------------------------------------------------
apps.routes(router)
servers.routes(router)
users.routes(router)
groups.routes(router)
logs.routes(router)

urlpatterns = [
    path("schema", SchemaView.as_view(), name="api-schema"),
    path("docs", DocsView.as_view(), name="api-docs"),
    *router.urls,
]
