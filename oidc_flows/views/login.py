"""The hosted sign-in and sign-out pages of the IdP session (shared by every server and application)."""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse
from django.utils.decorators import method_decorator
from django.views.decorators.clickjacking import xframe_options_deny

from .. import sessions


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


@method_decorator(xframe_options_deny, name="dispatch")
class LoginView(auth_views.LoginView):
    template_name = "oidc_flows/login.html"

    def get_initial(self) -> dict:
        initial = super().get_initial()
        if hint := login_hint(self.request):
            initial["username"] = hint
        return initial

    def form_valid(self, form) -> HttpResponse:
        session = self.request.session
        previous = session.session_key
        # Signing in as someone else flushes the session; what /authorize asked the sign-in for survives it.
        carried = {key: session[key] for key in sessions.SURVIVES_SIGN_IN if key in session}
        response = super().form_valid(form)
        if carried:
            session.update(carried)
            sessions.note_sign_in(session)
        sessions.forget_replaced_session(previous, self.request)  # the flushed session's record goes
        return response


@method_decorator(xframe_options_deny, name="dispatch")
class LogoutView(auth_views.LogoutView):
    template_name = "oidc_flows/logged_out.html"
