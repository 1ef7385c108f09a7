"""The hosted sign-in and sign-out pages of the IdP session (shared by every server and application).

Signing in is ``oidc_flows.authn.views.pages.sign_in``: the sign-in state machine's hosted front end
(password, then a second factor or an enrollment when the sign-on policy asks). ``LoginView`` stays
as the name ``urls.py`` and projects refer to.
"""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.clickjacking import xframe_options_deny

from .. import applogout


#: Longer than any username or e-mail address (RFC 5321 §4.5.3.1.3: 254); a longer hint is ignored.
MAX_LOGIN_HINT = 254


def login_hint(request: HttpRequest) -> str:
    """The ``login_hint`` (OIDC Core §3.1.2.1) to pre-fill the username with, or "".

    Only ever a pre-filled field: the user can change it and it proves nothing. The template
    escapes it like any other value.
    """
    hint = request.GET.get("login_hint", "").strip()
    if len(hint) > MAX_LOGIN_HINT or not hint.isprintable():
        return ""
    return hint


class LoginView(View):
    """``/login/``: the hosted sign-in (GET shows it, POST starts the transaction)."""

    http_method_names = ["get", "head", "post"]

    def dispatch(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if request.method.lower() not in self.http_method_names:
            return self.http_method_not_allowed(request, *args, **kwargs)
        from ..authn.views import pages  # imported late: the pages import login_hint from here

        return pages.sign_in(request)


@method_decorator(xframe_options_deny, name="dispatch")
class LogoutView(auth_views.LogoutView):
    """``/logout/``: the hosted sign-out (POST). The signed-out page loads the applications'
    front-channel logout URIs (oidc_flows.applogout); with a ``next`` page it continues there afterwards."""

    template_name = "oidc_flows/logged_out.html"

    def post(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        response = super().post(request, *args, **kwargs)
        if response.status_code == 302 and applogout.frontchannel_of(request):
            # The iframes first, then the page asked for (already checked to be safe by get_success_url).
            context = self.get_context_data(continue_url=response["Location"])
            return self.render_to_response(context)
        return response

    def get_context_data(self, **kwargs) -> dict:
        return super().get_context_data(frontchannel_logouts=applogout.frontchannel_of(self.request), **kwargs)
