"""Sign-in methods on ``/account/``: add and remove factors, new recovery codes, a new password.

Adding a factor runs the state machine's ``enroll`` and ``activate`` (the same checks as a sign-in's
enrollment), in a transaction opened for the signed-in user. Adding or removing a factor, new
recovery codes and a new password need the password again, unless the user signed in within the
last five minutes (the password change always asks for the current one).
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth import authenticate, update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from .. import browser, events, machine, ratelimit
from ..errors import AuthnError
from ..factors import recovery_codes
from ..forms import ChangePasswordForm, CodeForm, ConfirmPasswordForm
from ..models import AuthnStatus, Factor, FactorStatus, FactorType
from .pages import activation_context, answer_of, form_error, hosted, rules
from .pages_common import message, page, recently_authenticated


ACCOUNT_STATE_KEY = "oidc_flows.authn.account_state"
#: What "set up" says for each factor type on the account page.
ADDED = {
    FactorType.TOTP: gettext_lazy("Your authenticator app is set up."),
    FactorType.WEBAUTHN: gettext_lazy("Your passkey is set up."),
    FactorType.EMAIL: gettext_lazy("Email codes are set up."),
}


def account_urls() -> dict[str, str]:
    """Where the enrollment pages' forms post when they add a factor from /account/."""
    activate, cancel = reverse("oidc_flows:authn-account-activate"), reverse("oidc_flows:authn-account-cancel")
    return {"activate": activate, "resend": reverse("oidc_flows:authn-account-resend"), "back": cancel}


def confirm_form(request: HttpRequest, data: Any = None) -> ConfirmPasswordForm:
    return ConfirmPasswordForm(data, required=not recently_authenticated(request))


def reauthenticate(request: HttpRequest, form: ConfirmPasswordForm) -> None:
    """Raise E0000014 unless the user signed in recently or typed their password (counted for lockout)."""
    if recently_authenticated(request):
        return
    password = form.cleaned_data.get("current_password") if form.is_valid() else ""
    username = request.user.get_username()
    ratelimit.check(request, "authn", username)
    user = authenticate(request, username=username, password=password or "") if password else None
    if user is None or user.pk != request.user.pk:
        raise AuthnError("E0000014")


def account_page(request: HttpRequest, **kwargs: Any) -> HttpResponse:
    from ...views.account import render_account

    return render_account(request, **kwargs)


# -- adding a factor -----------------------------------------------------------------------------------


def open_enrollment(request: HttpRequest) -> str:
    """A transaction in MFA_ENROLL for the signed-in user (re-authenticated by the caller); its stateToken."""
    context = machine.Context(
        session_user=request.user.pk,
        session_amr=tuple(browser.amr(request)),
        session_verified=tuple(browser.verified_factors(request)),
    )
    return machine.start_enrollment(request, request.user, context, browser.amr(request)).state_token


def _end_enrollment(request: HttpRequest) -> None:
    raw = request.session.pop(ACCOUNT_STATE_KEY, None)
    if raw:
        try:
            machine.cancel(raw)
        except AuthnError:
            pass


@require_POST
@hosted
@login_required
def add_factor(request: HttpRequest) -> HttpResponse:
    """Start adding a factor (or make new recovery codes, shown once)."""
    factor_type = request.POST.get("factor_type", "")[:40]
    form = confirm_form(request, request.POST)
    try:
        reauthenticate(request, form)
        if factor_type == FactorType.RECOVERY_CODE:
            codes = recovery_codes.regenerate(request.user)
            events.record(events.RECOVERY_CODES, request=request, user=request.user, factor_type=factor_type)
            return page(request, "account_codes.html", {"codes": codes})
        _end_enrollment(request)
        raw = open_enrollment(request)
        step = machine.enroll(request, raw, factor_type, {"name": _("Passkey")} if factor_type == "webauthn" else {})
    except AuthnError as error:
        if error.code == "E0000014":
            form.add_error("current_password", message(error))
        return account_page(request, error=error, confirm=form)
    request.session[ACCOUNT_STATE_KEY] = step.state_token
    return redirect("oidc_flows:authn-account-activate")


def _enrollment(request: HttpRequest) -> machine.Step | None:
    raw = request.session.get(ACCOUNT_STATE_KEY)
    try:
        step = machine.status(raw) if raw else None
    except AuthnError:
        step = None
    if step is None or step.status != AuthnStatus.MFA_ENROLL_ACTIVATE or step.factor is None:
        request.session.pop(ACCOUNT_STATE_KEY, None)
        return None
    return step


def _activation_page(
    request: HttpRequest, step: machine.Step, *, error: AuthnError | None = None, form: Any = None
) -> HttpResponse:
    template, context = activation_context(step.factor, step.activation or {}, {"step": step, "account": True})
    context |= {"urls": account_urls(), "form": form or CodeForm()}
    return page(request, template, context, error=error)


@require_http_methods(["GET", "POST"])
@hosted
@login_required
def activate(request: HttpRequest) -> HttpResponse:
    """Finish adding the factor: a code from the app or the mail, or the new passkey."""
    step = _enrollment(request)
    if step is None:
        return redirect("oidc_flows:account")
    if request.method != "POST":
        return _activation_page(request, step)
    form, answer = answer_of(request)
    form = form or CodeForm(request.POST)
    if not form.is_valid():
        return _activation_page(request, step, error=form_error(form), form=form)
    raw = request.session[ACCOUNT_STATE_KEY]
    try:
        ratelimit.check(request, "factor", request.user.get_username())
        machine.activate(request, raw, step.factor.pk, answer)
    except AuthnError as error:
        again = _enrollment(request)
        if again is None:
            messages.add_message(request, messages.ERROR, message(error), fail_silently=True)
            return redirect("oidc_flows:account")
        return _activation_page(request, again, error=error, form=form)
    _end_enrollment(request)  # the factor is active; what the transaction would do next is for sign-ins
    messages.add_message(request, messages.SUCCESS, str(ADDED.get(step.factor.factor_type, "")), fail_silently=True)
    return redirect("oidc_flows:account")


@require_POST
@hosted
@login_required
def resend(request: HttpRequest) -> HttpResponse:
    step = _enrollment(request)
    if step is None:
        return redirect("oidc_flows:account")
    try:
        ratelimit.check(request, "factor", request.user.get_username())
        machine.resend(request, request.session[ACCOUNT_STATE_KEY], step.factor.pk)
    except AuthnError as error:
        return _activation_page(request, step, error=error)
    messages.add_message(request, messages.INFO, _("We sent you a new code."), fail_silently=True)
    return redirect("oidc_flows:authn-account-activate")


@require_POST
@hosted
@login_required
def cancel(request: HttpRequest) -> HttpResponse:
    _end_enrollment(request)  # the pending factor goes with it
    return redirect("oidc_flows:account")


# -- removing a factor ---------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@hosted
@login_required
def remove_factor(request: HttpRequest, factor_id: str) -> HttpResponse:
    """Confirm, then remove one of the user's factors (another user's is a 404)."""
    factor = get_object_or_404(Factor, pk=factor_id[:20], user=request.user, status=FactorStatus.ACTIVE)
    form = confirm_form(request, request.POST if request.method == "POST" else None)
    context = {"factor": factor, "form": form}
    if request.method != "POST":
        return page(request, "account_remove.html", context)
    try:
        reauthenticate(request, form)
    except AuthnError as error:
        if error.code == "E0000014":
            form.add_error("current_password", message(error))
        return page(request, "account_remove.html", context, error=error)
    factor_type = factor.factor_type
    factor.delete()
    events.record(events.FACTOR_REMOVE, request=request, user=request.user, factor_type=factor_type)
    text = _("%(method)s was removed.") % {"method": Factor(factor_type=factor_type).get_factor_type_display()}
    messages.add_message(request, messages.SUCCESS, text, fail_silently=True)
    return redirect("oidc_flows:account")


# -- the password --------------------------------------------------------------------------------------


def set_password(request: HttpRequest, form: ChangePasswordForm) -> bool:
    """Check the current password, then set the new one (``machine.set_password``: the rules, the other browsers)."""
    user = request.user
    data = form.cleaned_data
    if not user.check_password(data["old_password"]):
        form.add_error("old_password", message(AuthnError("E0000014")))
        return False
    try:
        machine.set_password(
            user, data["new_password1"], request, events.PASSWORD_CHANGE, keep_session=request.session.session_key
        )
    except AuthnError as error:
        form.add_error("new_password1", list(error.causes) or message(error))
        return False
    update_session_auth_hash(request, user)  # this browser stays signed in
    return True


@require_http_methods(["GET", "POST"])
@hosted
@login_required
def change_password(request: HttpRequest) -> HttpResponse:
    """``/account/password``: the current password, then the new one twice."""
    form = ChangePasswordForm(request.POST if request.method == "POST" else None)
    context = {"form": form, "rules": rules(), "cancel_url": reverse("oidc_flows:account")}
    if request.method != "POST":
        return page(request, "account_password.html", context)
    try:
        ratelimit.check(request, "authn", request.user.get_username())
    except AuthnError as error:
        return page(request, "account_password.html", context, error=error)
    if form.is_valid() and set_password(request, form):
        messages.add_message(request, messages.SUCCESS, _("Your password was changed."), fail_silently=True)
        return redirect("oidc_flows:account")
    return page(request, "account_password.html", context, error=AuthnError("E0000001"))
