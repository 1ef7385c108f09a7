"""URLs of the minimal packaging-check project: the IdP endpoints at the site root."""

from django.urls import include, path


urlpatterns = [path("", include("oidc_flows.urls"))]
