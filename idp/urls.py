"""URLs of the idp project: the IdP endpoints, the admin and the demo relying party."""

from django.contrib import admin
from django.urls import include, path

from oidc_flows import health

from . import demo


admin.site.site_header = "oidc_flows administration"
admin.site.site_title = "oidc_flows"
admin.site.index_title = "Identity provider"

# A database outage raised outside a view (e.g. saving the session) answers 503 JSON, not a 500 page.
handler500 = health.server_error

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),  # process up (no database)
    path("readyz", health.readyz, name="readyz"),  # database and cache reachable
    path("admin/", admin.site.urls),
    path("demo/", include(demo.urlpatterns)),
    path("api/demo/", include("idp.api")),  # the demo resource API (oidc_flows.resource)
    path("", demo.home, name="home"),
    path("", include("oidc_flows.urls")),
]
