"""The end user's self-service page (``/account/``): sign-in methods, password, recent sign-ins, browsers, consents.

- Sign-in methods: the user's factors (authenticator app, passkeys, email codes, recovery codes),
  with "Remove" and "Add"; those pages live in ``oidc_flows.authn.views.pages_account`` and drive
  the sign-in state machine. Recent sign-ins: the user's last 20 sign-in events.

- Sessions: every browser signed in to the IdP (``BrowserSession``), with the applications each
  one signed in to; "End" signs that browser out (its Django session is deleted).
- Consents: per application and server, the scopes the user allowed; "Withdraw" deletes the
  consent and revokes the user's refresh and access tokens for that application on that server,
  and unused authorization codes, so that nothing issued under the consent keeps working here.
  (JWT access tokens stay verifiable offline until they expire; resource servers that must know
  at once introspect them.)

Every change is a POST with Django's CSRF check; the pages cannot be framed.
"""

from __future__ import annotations

from uuid import UUID

from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.clickjacking import xframe_options_deny
from django.views.decorators.http import require_POST, require_safe

from .. import applogout, revocation, sessions, subjects, systemlog
from ..authn import events, policies
from ..authn.errors import AuthnError
from ..authn.factors import recovery_codes
from ..authn.forms import ConfirmPasswordForm
from ..authn.models import AuthEvent, Enrollment, Factor, FactorStatus, FactorType, Outcome
from ..authn.views.pages_common import message, recently_authenticated, status_of, with_retry_after
from ..models import AccessToken, BrowserSession, Consent, Grant, RefreshToken, Scope


#: How many sign-in events the page lists.
RECENT_EVENTS = 20
#: The events that are a sign-in or an attempt at one, and how the page names them (by outcome).
SIGN_IN_EVENTS = {
    (events.SESSION_START, Outcome.SUCCESS): _("Signed in"),
    (events.PRIMARY, Outcome.FAILURE): _("Wrong password, or the account was locked"),
    (events.MFA, Outcome.FAILURE): _("Wrong code or passkey"),
    (events.PASSKEY, Outcome.FAILURE): _("Passkey not accepted"),
    (events.LOCK, Outcome.SUCCESS): _("Account locked after wrong passwords"),
    (events.UNLOCK, Outcome.SUCCESS): _("Account unlocked"),
    (events.PASSWORD_RESET, Outcome.SUCCESS): _("Password reset"),
    (events.PASSWORD_CHANGE, Outcome.SUCCESS): _("Password changed"),
    (events.POLICY_DENY, Outcome.DENY): _("Sign-in refused by policy"),
}


@transaction.atomic
def withdraw_consent(consent: Consent) -> None:
    """Delete ``consent`` and revoke what its user holds for that application on that server."""
    holder = {"user_id": consent.user_id, "application_id": consent.application_id, "server_id": consent.server_id}
    # As DOT's RefreshToken.revoke_family: refresh tokens are marked revoked (presenting one again still revokes its
    # family), access tokens are deleted (which also clears the refresh tokens' pointers: SET_NULL).
    now = timezone.now()
    RefreshToken.objects.filter(**holder, revoked__isnull=True).update(revoked=now, updated=now)
    AccessToken.objects.filter(**holder).delete()
    # JWT access tokens have no rows: every one issued to this holder until now goes on the revocation list.
    uid = subjects.subject_for(consent.user, consent.application)  # the uid claim of its tokens
    revocation.revoke_holder(consent.server_id, consent.application.client_id, uid)
    Grant.objects.filter(**holder, redeemed_at__isnull=True).delete()  # codes not yet exchanged
    consent.delete()


def _consent_rows(request: HttpRequest) -> list[dict]:
    consents = list(
        Consent.objects.filter(user=request.user).select_related("application", "server").order_by("-updated")
    )
    names = {name for consent in consents for name in consent.scopes}
    described = {
        (server_id, name): description
        for server_id, name, description in Scope.objects.filter(
            server__in={c.server_id for c in consents}, name__in=names
        ).values_list("server_id", "name", "description")
    }
    return [
        {
            "consent": consent,
            "scopes": [(name, described.get((consent.server_id, name), "")) for name in sorted(consent.scopes)],
        }
        for consent in consents
    ]


def _factor_rows(user) -> list[dict]:
    rows = []
    for factor in Factor.objects.filter(user=user, status=FactorStatus.ACTIVE):
        detail = ""
        if factor.factor_type == FactorType.EMAIL:
            detail = factor.profile.get("email", "")
        elif factor.factor_type == FactorType.WEBAUTHN:
            detail = factor.name
        elif factor.factor_type == FactorType.RECOVERY_CODE:
            detail = _("%(count)s unused") % {"count": recovery_codes.remaining(factor)}
        rows.append({"factor": factor, "detail": detail})
    return rows


def _addable(user, factors: list[dict]) -> list[dict]:
    """The factor types the user may add now (the enrollment policy's non-disabled ones)."""
    allowed = policies.enrollment(user)
    have = {row["factor"].factor_type for row in factors}
    has_codes = FactorType.RECOVERY_CODE in have
    labels = {
        FactorType.TOTP: _("Add an authenticator app"),
        FactorType.WEBAUTHN: _("Add a passkey"),
        FactorType.EMAIL: _("Add email codes"),
        FactorType.RECOVERY_CODE: _("New recovery codes") if has_codes else _("Get recovery codes"),
    }
    return [
        {"factor_type": factor_type, "label": label}
        for factor_type, label in labels.items()
        if allowed.get(factor_type) != Enrollment.DISABLED
        and (factor_type in (FactorType.WEBAUTHN, FactorType.RECOVERY_CODE) or factor_type not in have)
        and (factor_type != FactorType.EMAIL or user.email)
    ]


def _sign_in_rows(user) -> list[dict]:
    wanted = {event_type for event_type, _outcome in SIGN_IN_EVENTS}
    rows = []
    for event in AuthEvent.objects.filter(user=user, event_type__in=wanted)[: RECENT_EVENTS * 3]:
        label = SIGN_IN_EVENTS.get((event.event_type, event.outcome))
        if label is not None:
            rows.append({"event": event, "label": label, "failed": event.outcome != Outcome.SUCCESS})
        if len(rows) == RECENT_EVENTS:
            break
    return rows


def render_account(
    request: HttpRequest, *, error: AuthnError | None = None, confirm: ConfirmPasswordForm | None = None
) -> HttpResponse:
    """The account page; an ``error`` of "add a sign-in method" is shown in that section."""
    current = sessions.current_record(request)  # "at least the current one", even if signed in before records
    records = sessions.live_sessions(request.user)
    factors = _factor_rows(request.user)
    context = {
        "sessions": records,
        "current_sid": current.sid if current else None,
        "consents": _consent_rows(request),
        "factors": factors,
        "addable": _addable(request.user, factors),
        "confirm": confirm or ConfirmPasswordForm(required=not recently_authenticated(request)),
        "sign_ins": _sign_in_rows(request.user),
        "error_message": message(error) if error is not None else "",
    }
    response = render(request, "oidc_flows/account.html", context, status=status_of(error) or 200)
    return with_retry_after(response, error)


@never_cache
@xframe_options_deny
@login_required
@require_safe
def account_page(request: HttpRequest) -> HttpResponse:
    return render_account(request)


@never_cache
@xframe_options_deny
@login_required
@require_POST
def end_session(request: HttpRequest, sid: UUID) -> HttpResponse:
    """Sign one of the user's browsers out; ending this browser's session is signing out."""
    record = get_object_or_404(BrowserSession, sid=sid, user=request.user)
    if record.session_key == request.session.session_key:
        logout(request)  # the applications are told (oidc_flows.applogout): the page carries the iframes
        return render(
            request, "oidc_flows/logged_out.html", {"frontchannel_logouts": applogout.frontchannel_of(request)}
        )
    sessions.end_session(record)
    return redirect("oidc_flows:account")


@never_cache
@xframe_options_deny
@login_required
@require_POST
def withdraw(request: HttpRequest, pk: int) -> HttpResponse:
    consent = get_object_or_404(Consent.objects.select_related("application", "server"), pk=pk, user=request.user)
    withdraw_consent(consent)
    systemlog.record(
        systemlog.CONSENT_REVOKE,
        actor=request.user,
        target=consent.application,
        request=request,
        detail={"via": "account", "server": consent.server.server_id, "scopes": sorted(consent.scopes)},
    )
    return redirect("oidc_flows:account")
