"""What the hosted pages share: the transaction in the session, where to go afterwards, errors as sentences.

The raw ``stateToken`` lives in the Django session only (never in a URL or a form), so a page can be
reloaded, shared or logged without handing the sign-in to someone else. ``next`` is the /authorize URL
to return to; it is checked with ``url_has_allowed_host_and_scheme`` whenever it is read.
"""

from __future__ import annotations

import time
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.shortcuts import render, resolve_url
from django.urls import Resolver404, resolve, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from ... import sessions, snapshots
from ...models import AuthorizationServer
from .. import browser, machine, policies
from ..errors import AuthnError
from ..models import AuthnStatus


S = AuthnStatus
STATE_KEY = "oidc_flows.authn.state"
NEXT_KEY = "oidc_flows.authn.next"
#: Longer URLs are not ours: /authorize URLs are a few hundred characters.
MAX_NEXT = 4096
#: "Recently authenticated": sensitive account changes need no password this soon after a sign-in.
RECENT_SECONDS = 300


# -- the transaction and where it returns to ---------------------------------------------------------


def safe_next(request: HttpRequest, url: object) -> str:
    """``url`` if it is a page of this site (scheme and host checked), else ""."""
    if not isinstance(url, str) or not url or len(url) > MAX_NEXT:
        return ""
    if url_has_allowed_host_and_scheme(url, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return url
    return ""


def requested_next(request: HttpRequest) -> str:
    return safe_next(request, request.POST.get("next") or request.GET.get("next", ""))


def session_next(request: HttpRequest) -> str:
    return safe_next(request, request.session.get(NEXT_KEY))


def context_for(request: HttpRequest, next_url: str) -> machine.Context:
    """The sign-in's context from the /authorize URL it returns to: client, server, ``acr_values``."""
    client_id = server_id = ""
    acr_values: tuple[str, ...] = ()
    parts = urlsplit(next_url)
    try:
        match = resolve(parts.path) if next_url else None
    except Resolver404:
        match = None
    if match is not None and match.url_name == "authorize":
        server_id = _server_id(match.kwargs.get("server_id"))
        query = QueryDict(parts.query)
        client_id = query.get("client_id", "")[:100]
        # Unknown values are ignored (OIDC Core §3.1.2.1: acr_values is a preference, not a demand we parse).
        acr_values = tuple(policies.requested_acr(query.get("acr_values", "")[:1000]))
    elif match is not None and match.url_name == "device-confirm":
        from ...device import sign_in_context  # RFC 8628 §3.3: the device's application and server

        client_id, server_id = sign_in_context(request)
    user = request.user
    return machine.Context(
        client_id=client_id,
        server_id=server_id,
        acr_values=acr_values,
        warn_before_password_expired=True,  # the hosted pages can show the warning, so they ask for it
        session_user=user.pk if user.is_authenticated else None,
        session_amr=tuple(browser.amr(request)),
        session_verified=tuple(browser.verified_factors(request)),
        hosted=True,
    )


def _server_id(named: str | None) -> str:
    """The ``server_id`` of the server an /authorize URL names (``None``: the org server), or "" if none is."""
    if named is None:
        row = snapshots.read_stamp(AuthorizationServer, ("server_id",), ("is_org",), [True])
    else:
        row = snapshots.read_stamp(AuthorizationServer, ("server_id",), ("server_id", "is_org"), [named, False])
    return row[0] if row else ""


def remember(request: HttpRequest, step: machine.Step) -> None:
    if step.state_token:
        request.session[STATE_KEY] = step.state_token
    else:
        request.session.pop(STATE_KEY, None)


def forget(request: HttpRequest) -> None:
    request.session.pop(STATE_KEY, None)
    request.session.pop(NEXT_KEY, None)


def cancel_quietly(request: HttpRequest) -> None:
    """End the session's transaction, if any (starting again must not leave a pending factor behind)."""
    raw = request.session.pop(STATE_KEY, None)
    if raw:
        try:
            machine.cancel(raw)
        except AuthnError:
            pass  # expired or ended already


def sign_in_url(request: HttpRequest, next_url: str = "") -> str:
    return with_next("oidc_flows:login", next_url)


def with_next(name: str, next_url: str) -> str:
    url = reverse(name)
    return f"{url}?{QueryDict.fromkeys(['next'], next_url).urlencode()}" if next_url else url


def links(next_url: str) -> dict[str, str]:
    """The hosted pages' links, each carrying ``next`` along (encoded once: it is a long /authorize URL)."""
    query = f"?{QueryDict.fromkeys(['next'], next_url).urlencode()}" if next_url else ""
    return {
        "forgot_url": reverse("oidc_flows:authn-signin-forgot-password") + query,
        "unlock_url": reverse("oidc_flows:authn-signin-unlock") + query,
        "sign_in_url": reverse("oidc_flows:login") + query,
    }


def signin_urls() -> dict[str, str]:
    """Where the sign-in step pages' forms post."""
    names = ["verify", "enroll", "activate", "resend", "previous", "skip", "cancel", "change-password", "answer"]
    urls = {name.replace("-", "_"): reverse(f"oidc_flows:authn-signin-{name}") for name in names}
    return urls | {"back": urls["previous"], "new_password": reverse("oidc_flows:authn-signin-new-password")}


def finish(request: HttpRequest, step: machine.Step) -> HttpResponse:
    """SUCCESS: redeem the sessionToken into this browser's session and go back to ``next``.

    Signing in as someone else flushes the session; what /authorize asked the sign-in for survives it.
    """
    target = session_next(request) or safe_next(request, step.relay_state) or resolve_url(settings.LOGIN_REDIRECT_URL)
    forget(request)
    if step.session is None and not step.session_token:  # an unlock: the user signs in next, with their password
        return render(request, "oidc_flows/authn/unlocked.html", {"sign_in": sign_in_url(request, target)})
    session = request.session
    previous = session.session_key
    carried = {key: session[key] for key in sessions.SURVIVES_SIGN_IN if key in session}
    if step.session is not None:  # a hosted sign-in: the machine issued no sessionToken, the page signs in
        signed_in = browser.sign_in(request, step.user, step.session)
    else:
        signed_in = browser.redeem_session_token(request, step.session_token)
    if signed_in is None:
        return render_error(request, AuthnError("E0000011"))
    if carried:
        session.update(carried)
        sessions.note_sign_in(session)
    sessions.forget_replaced_session(previous, request)  # the flushed session's record goes
    return HttpResponseRedirect(target)


def recently_authenticated(request: HttpRequest) -> bool:
    signed_in_at = sessions.auth_time(request)
    return signed_in_at is not None and time.time() - signed_in_at <= RECENT_SECONDS


# -- errors as sentences -----------------------------------------------------------------------------

#: What each Okta error means to the person in front of the page.
MESSAGES = {
    "E0000001": _("Please check what you entered and try again."),
    "E0000004": _("Please enter a correct username and password. If your account is locked, use Unlock account."),
    "E0000006": _("You are not allowed to sign in here. Ask your administrator."),
    "E0000007": _("That sign-in method is not available. Choose another one."),
    "E0000011": _("Your sign-in took too long or was already finished. Please start again."),
    "E0000014": _("Your current password is wrong."),
    "E0000068": _("The code is wrong or has expired."),
    "E0000069": _("Your account is locked. Use Unlock account to unlock it."),
    "E0000079": _("This step is not possible now. Please start again."),
    "E0000080": _("The new password does not meet the password rules."),
    "E0000082": _("This code was used already. Wait for the next code and try again."),
    "E0000113": _("Your organization does not allow this sign-in method."),
    "E0000114": _("Your passkey could not be verified. Try again, or choose another way to sign in."),
}

#: The causes the state machine and the factors give, as people should read them (and translators see them).
CAUSES = {
    "Enter the 6-digit code from your authenticator app.": _("Enter the 6-digit code from your authenticator app."),
    "The code is wrong or has expired.": _("The code is wrong or has expired."),
    "The code has expired. Send a new one.": _("The code has expired. Send a new one."),
    "The code is wrong.": _("The code is wrong."),
    "That recovery code is wrong or was used already.": _("That recovery code is wrong or was used already."),
    "Type one of your recovery codes to show you saved them.": _(
        "Type one of your recovery codes to show you saved them."
    ),
    "Passwordless sign-in is not allowed; sign in with your password.": _(
        "Signing in with a passkey alone is not allowed here. Sign in with your password."
    ),
    "The sign-on policy does not allow you to sign in.": _(
        "You are not allowed to sign in here. Ask your administrator."
    ),
    "The old password is wrong.": _("Your current password is wrong."),
    "The new password must differ from the current one.": _("The new password must differ from the current one."),
    "This passkey is not registered here.": _("This passkey is not registered here."),
    "This passkey is registered already.": _("This passkey is registered already."),
    "Your account has no email address.": _("Your account has no email address."),
    "A required factor is not set up yet.": _("Please set up the required sign-in method first."),
    "Recovery by email needs a factor other than email.": _("Use your authenticator app, passkey or a recovery code."),
    "factorType: a factor of this type is set up already.": _("You have set up this kind of sign-in method already."),
    "passCode is required.": _("Enter the code."),
    "recovery link": _("This link is invalid, has expired or was used already. Ask for a new one."),
    "Nothing to resend for this factor.": _("There is no code to send again."),
}


def message(error: AuthnError) -> str:
    """The translated, user-friendly sentence for ``error``."""
    if error.code == "E0000047":
        seconds = error.retry_after or 60
        return ngettext(
            "Too many attempts, try again in %(seconds)d second.",
            "Too many attempts, try again in %(seconds)d seconds.",
            seconds,
        ) % {"seconds": seconds}
    for cause in error.causes:
        if cause in CAUSES:
            return str(CAUSES[cause])
    if error.code == "E0000080":
        # The password validators' messages, already in the request's language.
        return " ".join([str(MESSAGES["E0000080"]), *error.causes])
    return str(MESSAGES.get(error.code, _("Something went wrong. Please try again.")))


def password_problems(error: AuthnError) -> list[str]:
    """The reasons a new password was refused (E0000080), one sentence each."""
    return [str(CAUSES.get(cause, cause)) for cause in error.causes] or [str(MESSAGES["E0000080"])]


def status_of(error: AuthnError | None) -> int | None:
    """ "Too many attempts" answers 429 (with Retry-After); None: the page's own status."""
    return 429 if error is not None and error.code == "E0000047" else None


def with_retry_after(response: HttpResponse, error: AuthnError | None) -> HttpResponse:
    if error is not None and error.retry_after is not None:
        response["Retry-After"] = str(error.retry_after)
    return response


def render_error(request: HttpRequest, error: AuthnError, status: int = 400) -> HttpResponse:
    """A dead end (an invalid link, a spent token): say what happened and offer a fresh start."""
    context = {"error_message": message(error), "sign_in": sign_in_url(request, session_next(request))}
    response = render(request, "oidc_flows/authn/dead_end.html", context, status=status_of(error) or status)
    return with_retry_after(response, error)


def page(
    request: HttpRequest, template: str, context: dict, *, error: AuthnError | None = None, status: int | None = None
) -> HttpResponse:
    """Render a hosted page; an ``error`` is shown in the page's alert and decides the status."""
    if error is not None:
        context = {**context, "error_message": message(error)}
    name = template if template.startswith("oidc_flows/") else f"oidc_flows/authn/{template}"
    response = render(request, name, context, status=status_of(error) or status or 200)
    return with_retry_after(response, error)


def username_of(user: AbstractBaseUser | None) -> str | None:
    return user.get_username() if user is not None else None
