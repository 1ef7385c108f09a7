"""The device flow's endpoints (RFC 8628): /v1/device/authorize of every server, and the hosted /activate pages.

``/activate`` takes the user code (prefilled from ``?user_code=``, §3.3.1), rate-limited per browser
session and per address (§5.1). ``/activate/confirm`` signs the user in through the hosted sign-in
(the sign-on policy of the device's application applies, as at /authorize), then shows what the
device asks for with Allow and Deny (§5.4: always, so that a user tricked into typing someone
else's code sees which application it is), and ends on "You may now return to your device".
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.views import View
from django.views.decorators.cache import never_cache
from django.views.decorators.clickjacking import xframe_options_deny
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from .. import access, consent, device, sessions
from ..authn import browser as authn_browser
from ..authn import machine as authn_machine
from ..authn import policies as authn_policies
from ..errors import ProtocolError
from ..models import DeviceAuthorization
from .mixins import ServerBoundMixin, client_json_error, no_store


@method_decorator(csrf_exempt, name="dispatch")
class DeviceAuthorizationView(ServerBoundMixin, View):
    """RFC 8628 §3.1: POST, a form body, client authentication as at /token; §3.2: JSON, never cached."""

    form_body = True
    http_method_names = ["post"]

    @method_decorator(sensitive_post_parameters("client_secret", "client_assertion"))
    def post(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        try:
            answer = device.authorize(self.get_oauthlib_core(), self.server, request)
        except ProtocolError as exc:
            return client_json_error(exc, self.server)
        return no_store(JsonResponse(answer))


def _hosted(view):
    """CSRF checked, never cached, never framed: like the sign-in pages."""
    return require_http_methods(["GET", "HEAD", "POST"])(xframe_options_deny(never_cache(csrf_protect(view))))


def _code_page(request: HttpRequest, user_code: str, error: str = "", status: int = 200) -> HttpResponse:
    context = {"user_code": user_code, "error_message": error, "code_length": device.USER_CODE_LENGTH}
    return render(request, "oidc_flows/device_activate.html", context, status=status)


@_hosted
def activate(request: HttpRequest) -> HttpResponse:
    """``/activate``: the user code (RFC 8628 §3.3); a good one leads to sign-in and the decision."""
    if request.method != "POST":
        given = request.GET.get("user_code", "")
        normalised = device.normalise(given)
        return _code_page(request, device.display(normalised) if normalised else given[:20])
    typed = request.POST.get("user_code", "")[:64]
    if wait := device.check_guess_rate(request):
        message = _("Too many attempts. Wait %(seconds)s seconds, then try again.") % {"seconds": wait}
        response = _code_page(request, typed, message, status=429)
        response["Retry-After"] = str(wait)
        return response
    normalised = device.normalise(typed)
    row = device.pending(normalised) if normalised else None
    if row is None:
        message = _("That code is not valid, or it has expired. Check the code your device shows and try again.")
        return _code_page(request, typed, message, status=400)
    request.session[device.SESSION_KEY] = row.pk
    return redirect("oidc_flows:device-confirm")


def _result(request: HttpRequest, outcome: str, status: int = 200) -> HttpResponse:
    request.session.pop(device.SESSION_KEY, None)
    return render(request, "oidc_flows/device_done.html", {"outcome": outcome}, status=status)


@_hosted
def confirm(request: HttpRequest) -> HttpResponse:
    """``/activate/confirm``: sign in (as the sign-on policy asks), then Allow or Deny (RFC 8628 §3.3)."""
    row = device.pending_of_session(request)
    if row is None:
        request.session.pop(device.SESSION_KEY, None)
        message = _("This request has expired or was already answered. Enter the code your device shows now.")
        return _code_page(request, "", message, status=400)
    authn_browser.end_if_expired(request)  # past the lifetime its sign-on rule gave the session
    if not sessions.is_fresh(request):
        return redirect_to_login(request.get_full_path(), settings.LOGIN_URL)
    amr = authn_browser.amr(request)
    needed = authn_machine.requirement(
        request.user,
        client=row.application,
        server=row.server,
        amr=amr,
        verified=authn_browser.verified_factors(request),
    )
    if needed == "step_up":
        return redirect_to_login(request.get_full_path(), settings.LOGIN_URL)  # the sign-in asks for the factor
    if needed == "deny":
        device.record_decision(row, request.user, allow=False)
        return _result(request, "refused", status=403)
    if request.method != "POST":
        return _consent_page(request, row)
    decision = request.POST.get("decision")
    if decision == "deny":
        device.record_decision(row, request.user, allow=False)
        return _result(request, "denied")
    if decision != "allow":
        return _consent_page(request, row, status=400)
    return _approve(request, row, amr)


def _consent_page(request: HttpRequest, row: DeviceAuthorization, status: int = 200) -> HttpResponse:
    context = {
        "application": row.application,
        "server": row.server,
        "scopes": consent.scopes_needing_consent(row.server, row.scope.split()),
        "user_code": device.display(row.user_code),
    }
    return render(request, "oidc_flows/device_consent.html", context, status=status)


def _approve(request: HttpRequest, row: DeviceAuthorization, amr: list[str]) -> HttpResponse:
    scopes = row.scope.split()
    if access.evaluate(row.server, row.application, device.GRANT, request.user, scopes) is None:
        # No access policy rule allows this user: the device hears access_denied rather than polling on.
        device.record_decision(row, request.user, allow=False)
        return _result(request, "refused", status=403)
    recorded = device.record_decision(
        row,
        request.user,
        allow=True,
        auth_time=sessions.auth_time(request),
        amr=amr,
        acr=authn_policies.acr_for(amr),
    )
    if not recorded:  # expired, or answered in another tab meanwhile
        return _result(request, "expired", status=400)
    consent.remember(request.user, row.application, row.server, scopes)
    sessions.record_authorization(request, row.application, row.server)  # single sign-on bookkeeping
    return _result(request, "approved")
