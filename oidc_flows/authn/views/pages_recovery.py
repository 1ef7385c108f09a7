"""Self-service recovery on the hosted pages: "Forgot password?", "Unlock account" and the links they mail.

Asking answers the same whether or not the account exists. The mailed link opens a page with one
button: mail scanners that open links must not spend the one-time token, a person's click does.
Then the transaction continues on ``/signin/``: RECOVERY (a code), PASSWORD_RESET, SUCCESS.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_http_methods

from .. import ratelimit, recovery
from ..errors import AuthnError
from ..forms import UsernameForm
from ..models import RecoveryType
from .pages import advance, hosted
from .pages_common import (
    NEXT_KEY,
    cancel_quietly,
    context_for,
    page,
    render_error,
    requested_next,
    safe_next,
    sign_in_url,
)


def _ask(request: HttpRequest, recovery_type: str) -> HttpResponse:
    next_url = requested_next(request)
    template = "forgot.html"
    context = {"recovery_type": recovery_type, "next": next_url, "sign_in": sign_in_url(request, next_url)}
    if request.method != "POST":
        from ...views.login import login_hint

        return page(request, template, context | {"form": UsernameForm(initial={"username": login_hint(request)})})
    form = UsernameForm(request.POST)
    if not form.is_valid():
        return page(request, template, context | {"form": form}, error=AuthnError("E0000001"))
    username = form.cleaned_data["username"]
    try:
        ratelimit.check(request, "recovery", username)
        recovery.request_recovery(
            request, username, recovery_type, relay_state=next_url, context=context_for(request, next_url)
        )
    except AuthnError as error:
        return page(request, template, context | {"form": form}, error=error)
    return page(request, "recovery_sent.html", context)


@require_http_methods(["GET", "POST"])
@hosted
def forgot_password(request: HttpRequest) -> HttpResponse:
    """``/signin/forgot-password``: mail a link that resets the password."""
    return _ask(request, RecoveryType.PASSWORD)


@require_http_methods(["GET", "POST"])
@hosted
def unlock(request: HttpRequest) -> HttpResponse:
    """``/signin/unlock``: mail a link that unlocks the account."""
    return _ask(request, RecoveryType.UNLOCK)


def _redeem(request: HttpRequest, token: str, recovery_type: str) -> HttpResponse:
    if request.method != "POST":
        return page(request, "recovery_link.html", {"recovery_type": recovery_type})
    try:
        ratelimit.check(request, "recovery")
        step = recovery.verify_recovery_token(request, token)
    except AuthnError as error:
        if error.code == "E0000011":
            error = AuthnError("E0000011", "recovery link")
            context = {"recovery_type": recovery_type, "invalid": True}
            return page(request, "recovery_link.html", context, error=error, status=400)
        return render_error(request, error)
    cancel_quietly(request)
    request.session[NEXT_KEY] = safe_next(request, step.relay_state)
    return advance(request, step)


@require_http_methods(["GET", "POST"])
@hosted
def reset_password_link(request: HttpRequest, token: str) -> HttpResponse:
    """``/signin/reset-password/<token>``: the link of the "reset your password" mail."""
    return _redeem(request, token, RecoveryType.PASSWORD)


@require_http_methods(["GET", "POST"])
@hosted
def unlock_link(request: HttpRequest, token: str) -> HttpResponse:
    """``/signin/unlock/<token>``: the link of the "unlock your account" mail."""
    return _redeem(request, token, RecoveryType.UNLOCK)
