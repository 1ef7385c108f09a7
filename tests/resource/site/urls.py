"""URLs of the minimal API."""

from django.urls import path

from . import views


urlpatterns = [
    path("api/whoami", views.WhoAmI.as_view()),
    path("api/reports", views.Reports.as_view()),
    path("api/reports/admin", views.ReportsAdmin.as_view()),
    path("plain/whoami", views.plain_whoami),
    path("plain/reports", views.plain_reports),
]
