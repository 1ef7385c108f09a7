"""The hosted sign-in and sign-out pages of the IdP session (shared by every server and application)."""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.utils.decorators import method_decorator
from django.views.decorators.clickjacking import xframe_options_deny


@method_decorator(xframe_options_deny, name="dispatch")
class LoginView(auth_views.LoginView):
    template_name = "oidc_flows/login.html"


@method_decorator(xframe_options_deny, name="dispatch")
class LogoutView(auth_views.LogoutView):
    template_name = "oidc_flows/logged_out.html"
