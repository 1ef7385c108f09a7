"""URLs of the idp project: the IdP endpoints, the admin and the demo relying party."""

from django.contrib import admin
from django.urls import include, path

from . import demo


admin.site.site_header = "oidc_flows administration"
admin.site.site_title = "oidc_flows"
admin.site.index_title = "Identity provider"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("demo/", include(demo.urlpatterns)),
    path("api/demo/", include("idp.api")),  # the demo resource API (oidc_flows.resource)
    path("", demo.home, name="home"),
    path("", include("oidc_flows.urls")),
]
