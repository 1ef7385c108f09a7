"""The hosted sign-in: the same transactions as ``/api/v1/authn``, one HTML page per state.

``/login/`` starts a transaction with the password (``/signin/passkey`` without one). ``/signin/``
shows what the transaction needs next: a factor, an enrollment, a new password. Each form posts to
one operation of ``machine`` and comes back to ``/signin/``, until SUCCESS redeems the sessionToken
into this browser's session and returns to ``next`` (the /authorize URL). Every page is CSRF
protected, never cached and never framed; the stateToken stays in the Django session.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.password_validation import password_validators_help_texts
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect
from django.utils.html import escape
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.clickjacking import xframe_options_deny
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST, require_safe

from .. import machine, policies, ratelimit, recovery
from ..errors import AuthnError
from ..factors import totp, webauthn
from ..forms import ChangePasswordForm, CodeForm, CredentialForm, NewPasswordForm, SignInForm
from ..models import Factor, FactorType
from .pages_common import (
    NEXT_KEY,
    STATE_KEY,
    S,
    cancel_quietly,
    context_for,
    finish,
    forget,
    links,
    message,
    page,
    password_problems,
    requested_next,
    session_next,
    sign_in_url,
    signin_urls,
    username_of,
)


#: How each factor type is answered on the pages.
KIND = {
    FactorType.TOTP: "code",
    FactorType.RECOVERY_CODE: "recovery",
    FactorType.EMAIL: "email",
    FactorType.WEBAUTHN: "passkey",
}
#: The order "verify it's you" offers factors in: the strongest first, recovery codes last.
PREFERENCE = [FactorType.WEBAUTHN, FactorType.TOTP, FactorType.EMAIL, FactorType.RECOVERY_CODE]


def hosted(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Never cached, never framed, CSRF checked, passwords kept out of error reports."""

    @wraps(view)
    @sensitive_post_parameters("password", "old_password", "new_password1", "new_password2", "current_password")
    @csrf_protect
    @never_cache
    @xframe_options_deny
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return view(request, *args, **kwargs)

    return wrapper


# -- starting ----------------------------------------------------------------------------------------


def _sign_in_page(
    request: HttpRequest,
    form: SignInForm,
    next_url: str,
    *,
    error: AuthnError | None = None,
    locked: bool = False,
) -> HttpResponse:
    context = {
        "form": form,
        "next": next_url,
        "passkeys": policies.passwordless_allowed(),
        "locked": locked,
        "focus": "password" if error is not None and form["username"].value() else form.focus(),
        **links(next_url),
    }
    return page(request, "oidc_flows/login.html", context, error=error)


@hosted
def sign_in(request: HttpRequest) -> HttpResponse:
    """``/login/``: username and password, then whatever the sign-on policy asks for."""
    from ...views.login import login_hint  # the module that delegates here

    next_url = requested_next(request)
    if request.method != "POST":
        return _sign_in_page(request, SignInForm(initial={"username": login_hint(request)}), next_url)
    form = SignInForm(request.POST)
    if not form.is_valid():
        return _sign_in_page(request, form, next_url, error=AuthnError("E0000004"))
    username = form.cleaned_data["username"]
    try:
        ratelimit.check(request, "authn", username)
        step = machine.start(request, username, form.cleaned_data["password"], context_for(request, next_url))
    except AuthnError as error:
        return _sign_in_page(request, form, next_url, error=error)
    if step.status == S.LOCKED_OUT:  # only when the password policy says to tell
        return _sign_in_page(request, form, next_url, error=AuthnError("E0000069"), locked=True)
    cancel_quietly(request)  # an abandoned transaction of this browser ends here
    request.session[NEXT_KEY] = next_url
    return advance(request, step)


@require_POST
@hosted
def passkey_start(request: HttpRequest) -> HttpResponse:
    """ "Sign in with a passkey": a transaction without a user, answered by any passkey of this site."""
    next_url = requested_next(request)
    try:
        ratelimit.check(request, "authn")
        step = machine.start_passwordless(request, context_for(request, next_url))
    except AuthnError as error:
        return _sign_in_page(request, SignInForm(), next_url, error=error)
    cancel_quietly(request)
    request.session[NEXT_KEY] = next_url
    return advance(request, step)


def advance(request: HttpRequest, step: machine.Step) -> HttpResponse:
    """SUCCESS signs in; anything else is shown by the step page (after a redirect: reloading is harmless)."""
    if step.status == S.SUCCESS:
        return finish(request, step)
    request.session[STATE_KEY] = step.state_token
    return redirect("oidc_flows:authn-signin-step")


def restart(request: HttpRequest, error: AuthnError | None = None) -> HttpResponse:
    """The transaction is gone (expired, ended, never started): back to the sign-in page, saying why."""
    next_url = session_next(request)
    forget(request)
    if error is not None:
        messages.add_message(request, messages.ERROR, message(error), fail_silently=True)
    return HttpResponseRedirect(sign_in_url(request, next_url))


def current(request: HttpRequest) -> machine.Step | HttpResponse:
    """The step of this browser's transaction, or the response that starts again."""
    raw = request.session.get(STATE_KEY)
    if not raw:
        return restart(request)
    try:
        return machine.status(raw)
    except AuthnError as error:
        return restart(request, error)


# -- the step page -------------------------------------------------------------------------------------


def _pick(factors: list[Factor], wanted: str | None) -> Factor | None:
    for factor in factors:
        if factor.pk == wanted:
            return factor
    ranked = sorted(factors, key=lambda f: PREFERENCE.index(f.factor_type) if f.factor_type in PREFERENCE else 9)
    return ranked[0] if ranked else None


def qr_code(factor: Factor) -> str:
    """The QR code as an image with a text alternative (the secret is shown as text beside it)."""
    title = _("QR code to scan with your authenticator app")
    svg = totp.qr_svg(factor, title)
    return mark_safe(svg.replace("<svg ", f'<svg role="img" aria-label="{escape(title)}" focusable="false" ', 1))


def grouped(secret: str) -> str:
    """A base32 secret in groups of four: easier to read out and to type into an app."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def public_challenge(step: machine.Step) -> dict[str, Any] | None:
    """WebAuthn options of the step (UNAUTHENTICATED and RECOVERY keep them on the transaction only)."""
    if step.challenge:
        return step.challenge
    if step.tx is not None and step.tx.challenge.get("public"):
        return step.tx.challenge["public"]
    return None


def step_context(request: HttpRequest, step: machine.Step, chosen: str | None = None) -> tuple[str, dict[str, Any]]:
    """The template and context that show ``step``."""
    status = step.status
    context: dict[str, Any] = {"step": step, "status": status, "user_name": username_of(step.user)}
    if status == S.MFA_REQUIRED:
        factor = _pick(step.factors, chosen or request.GET.get("factor"))
        others = [f for f in step.factors if f != factor]
        context |= {"factor": factor, "kind": KIND.get(factor.factor_type) if factor else None, "others": others}
        return "verify.html", context
    if status == S.MFA_CHALLENGE:
        factor = step.factor
        if factor.factor_type == FactorType.WEBAUTHN:
            context |= {"mode": "get", "options": step.challenge, "factor": factor, "action": "verify"}
            return "passkey.html", context
        context |= {"factor": factor, "kind": "email-sent", "sent_to": (step.challenge or {}).get("email", "")}
        return "verify.html", context
    if status == S.MFA_ENROLL:
        choices = [
            {
                "factor_type": e["factorType"],
                "label": FactorType(e["factorType"]).label,
                "required": e["enrollment"] == "REQUIRED",
            }
            for e in step.enrollable
            if e["status"] != "ACTIVE" and e["factorType"] in FactorType.values
        ]
        context |= {"enrollable": choices, "can_skip": step.can_skip}
        return "enroll.html", context
    if status == S.MFA_ENROLL_ACTIVATE:
        return activation_context(step.factor, step.activation or {}, context)
    if status in (S.PASSWORD_EXPIRED, S.PASSWORD_WARN):
        context |= {"warn": status == S.PASSWORD_WARN, "expires": step.password_expires, "rules": rules()}
        return "password_expired.html", context
    if status == S.RECOVERY:
        passkey = next((f for f in step.factors if f.factor_type == FactorType.WEBAUTHN), None)
        options = public_challenge(step) if passkey is not None and step.tx and step.tx.factor_id else None
        codes = [f for f in step.factors if f.factor_type != FactorType.WEBAUTHN]
        context |= {"passkey": passkey, "options": options, "codes": codes, "recovery_type": step.recovery_type}
        return "recovery.html", context
    if status == S.PASSWORD_RESET:
        context |= {"rules": rules()}
        return "reset_password.html", context
    if status == S.UNAUTHENTICATED:
        context |= {"mode": "get", "options": public_challenge(step), "factor": None, "action": "verify"}
        return "passkey.html", context
    raise AuthnError("E0000079")  # SUCCESS and LOCKED_OUT never reach the step page


def activation_context(factor: Factor, activation: dict[str, Any], context: dict[str, Any]) -> tuple[str, dict]:
    """MFA_ENROLL_ACTIVATE (sign-in) or an enrollment on /account/: what the user needs to finish."""
    context = {**context, "factor": factor, "kind": KIND.get(factor.factor_type)}
    if factor.factor_type == FactorType.WEBAUTHN:
        return "passkey.html", context | {"mode": "create", "options": activation, "action": "activate"}
    if factor.factor_type == FactorType.TOTP:
        context |= {"qr": qr_code(factor), "secret": grouped(activation.get("sharedSecret", ""))}
    elif factor.factor_type == FactorType.EMAIL:
        context |= {"sent_to": activation.get("email", "")}
    elif factor.factor_type == FactorType.RECOVERY_CODE:
        context |= {"codes": activation.get("recoveryCodes") or []}
    return "activate.html", context


def default_form(template: str) -> Any:
    """The empty form a step page shows."""
    if template == "password_expired.html":
        return ChangePasswordForm()
    if template == "reset_password.html":
        return NewPasswordForm()
    return CodeForm()


def rules() -> list[str]:
    """The password validators' rules, shown beside a new-password field."""
    return password_validators_help_texts()


def render_step(
    request: HttpRequest,
    step: machine.Step,
    *,
    error: AuthnError | None = None,
    form: Any = None,
    chosen: str | None = None,
) -> HttpResponse:
    template, context = step_context(request, step, chosen)
    context |= {"form": form or default_form(template), "next": session_next(request), "urls": signin_urls()}
    return page(request, template, context, error=error)


@require_safe
@hosted
def step_page(request: HttpRequest) -> HttpResponse:
    """``/signin/``: what the transaction of this browser needs next."""
    step = current(request)
    if isinstance(step, HttpResponse):
        return step
    try:
        return render_step(request, step)
    except AuthnError as error:  # a state no page shows (never reached: ended transactions are E0000011)
        return restart(request, error)


# -- operations ----------------------------------------------------------------------------------------


def operate(
    request: HttpRequest,
    bucket: str | None,
    operation: Callable[[machine.Step, str], machine.Step],
    *,
    form: Any = None,
    chosen: str | None = None,
    show: bool = False,
) -> HttpResponse:
    """Run one operation on the transaction; on an error show the (current) step again with the error.

    ``show``: render the resulting step at once instead of redirecting (what it shows is shown once).
    """
    step = current(request)
    if isinstance(step, HttpResponse):
        return step
    raw = request.session[STATE_KEY]
    if form is not None and not form.is_valid():
        return render_step(request, step, error=form_error(form), form=form, chosen=chosen)
    try:
        if bucket:
            ratelimit.check(request, bucket, username_of(step.user))
        result = operation(step, raw)
    except AuthnError as error:
        if form is not None and error.code == "E0000080":
            form.add_error("new_password1", password_problems(error))
        elif form is not None and error.code == "E0000014":
            form.add_error("old_password", message(error))
        try:
            again = machine.status(raw)  # the error may have ended it (too many wrong answers)
        except AuthnError:
            return restart(request, error)
        return render_step(request, again, error=error, form=form, chosen=chosen)
    if show and result.status != S.SUCCESS:
        request.session[STATE_KEY] = result.state_token
        return render_step(request, result)
    return advance(request, result)


def form_error(form: Any) -> AuthnError:
    """A form that did not validate, as the error the page shows (the fields show their own)."""
    if "credential" in form.errors:
        return AuthnError("E0000114")
    if "code" in form.errors:
        return AuthnError("E0000001", "passCode is required.")
    return AuthnError("E0000001")


def answer_of(request: HttpRequest) -> tuple[Any, dict[str, Any]]:
    """The answer a factor form posted: a passkey credential, a code, or nothing (ask for a challenge)."""
    if "credential" in request.POST:
        form = CredentialForm(request.POST)
        return form, ({"credential": form.cleaned_data["credential"]} if form.is_valid() else {})
    if "code" in request.POST:
        form = CodeForm(request.POST)
        return form, ({"passCode": form.cleaned_data["code"]} if form.is_valid() else {})
    return None, {}


@require_POST
@hosted
def verify(request: HttpRequest) -> HttpResponse:
    factor_id = request.POST.get("factor", "")[:40] or webauthn.PASSKEY
    form, answer = answer_of(request)

    def run(step: machine.Step, raw: str) -> machine.Step:
        return machine.verify(request, raw, factor_id, answer)

    return operate(request, "factor", run, form=form, chosen=factor_id)


@require_POST
@hosted
def enroll(request: HttpRequest) -> HttpResponse:
    factor_type = request.POST.get("factor_type", "")[:40]

    def run(step: machine.Step, raw: str) -> machine.Step:
        return machine.enroll(request, raw, factor_type)

    # Recovery codes are in this answer only: shown at once, never again.
    return operate(request, "factor", run, show=factor_type == FactorType.RECOVERY_CODE)


@require_POST
@hosted
def activate(request: HttpRequest) -> HttpResponse:
    form, answer = answer_of(request)

    def run(step: machine.Step, raw: str) -> machine.Step:
        return machine.activate(request, raw, step.factor.pk if step.factor else "", answer)

    return operate(request, "factor", run, form=form or CodeForm(request.POST))


@require_POST
@hosted
def resend(request: HttpRequest) -> HttpResponse:
    def run(step: machine.Step, raw: str) -> machine.Step:
        result = machine.resend(request, raw, step.factor.pk if step.factor else "")
        messages.add_message(request, messages.INFO, _("We sent you a new code."), fail_silently=True)
        return result

    return operate(request, "factor", run)


@require_POST
@hosted
def previous(request: HttpRequest) -> HttpResponse:
    return operate(request, None, lambda step, raw: machine.previous(request, raw))


@require_POST
@hosted
def skip(request: HttpRequest) -> HttpResponse:
    return operate(request, None, lambda step, raw: machine.skip(request, raw))


@require_POST
@hosted
def cancel(request: HttpRequest) -> HttpResponse:
    next_url = session_next(request)
    cancel_quietly(request)
    forget(request)
    return HttpResponseRedirect(sign_in_url(request, next_url))


@require_POST
@hosted
def change_password(request: HttpRequest) -> HttpResponse:
    form = ChangePasswordForm(request.POST)

    def run(step: machine.Step, raw: str) -> machine.Step:
        data = form.cleaned_data
        return machine.change_password(request, raw, data["old_password"], data["new_password1"])

    return operate(request, "authn", run, form=form)


@require_POST
@hosted
def answer(request: HttpRequest) -> HttpResponse:
    form = CodeForm(request.POST)

    def run(step: machine.Step, raw: str) -> machine.Step:
        return recovery.answer(request, raw, form.cleaned_data["code"])

    return operate(request, "factor", run, form=form)


@require_POST
@hosted
def reset_password(request: HttpRequest) -> HttpResponse:
    form = NewPasswordForm(request.POST)

    def run(step: machine.Step, raw: str) -> machine.Step:
        return recovery.reset_password(request, raw, form.cleaned_data["new_password1"])

    return operate(request, "authn", run, form=form)
