"""The end user's self-service page (``/account/``): their signed-in browsers and the consents they gave.

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
from django.views.decorators.cache import never_cache
from django.views.decorators.clickjacking import xframe_options_deny
from django.views.decorators.http import require_POST, require_safe

from .. import sessions
from ..models import AccessToken, BrowserSession, Consent, Grant, RefreshToken, Scope


@transaction.atomic
def withdraw_consent(consent: Consent) -> None:
    """Delete ``consent`` and revoke what its user holds for that application on that server."""
    holder = {"user_id": consent.user_id, "application_id": consent.application_id, "server_id": consent.server_id}
    # As DOT's RefreshToken.revoke_family: refresh tokens are marked revoked (presenting one again still revokes its
    # family), access tokens are deleted (which also clears the refresh tokens' pointers: SET_NULL).
    now = timezone.now()
    RefreshToken.objects.filter(**holder, revoked__isnull=True).update(revoked=now, updated=now)
    AccessToken.objects.filter(**holder).delete()
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


@never_cache
@xframe_options_deny
@login_required
@require_safe
def account_page(request: HttpRequest) -> HttpResponse:
    current = sessions.current_record(request)  # "at least the current one", even if signed in before records
    records = sessions.live_sessions(request.user)
    context = {
        "sessions": records,
        "current_sid": current.sid if current else None,
        "consents": _consent_rows(request),
    }
    return render(request, "oidc_flows/account.html", context)


@never_cache
@xframe_options_deny
@login_required
@require_POST
def end_session(request: HttpRequest, sid: UUID) -> HttpResponse:
    """Sign one of the user's browsers out; ending this browser's session is signing out."""
    record = get_object_or_404(BrowserSession, sid=sid, user=request.user)
    if record.session_key == request.session.session_key:
        logout(request)
        return render(request, "oidc_flows/logged_out.html")
    sessions.end_session(record)
    return redirect("oidc_flows:account")


@never_cache
@xframe_options_deny
@login_required
@require_POST
def withdraw(request: HttpRequest, pk: int) -> HttpResponse:
    withdraw_consent(get_object_or_404(Consent, pk=pk, user=request.user))
    return redirect("oidc_flows:account")
