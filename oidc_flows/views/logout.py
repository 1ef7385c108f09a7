"""OpenID Connect RP-Initiated Logout 1.0 at each server's ``logout`` endpoint (GET and POST).

Signing out ends the Django session, which is the IdP session: single sign-on ends for every
application and server at once. Decisions:

- ``id_token_hint`` must be an ID token of *this* server (§2: "the OP MUST validate that it was the
  issuer of the ID Token"); expired ones are fine (§4). One of another server is refused.
- The client is the hint's ``aud`` or ``client_id``; with both, they must agree (§2).
- ``post_logout_redirect_uri`` is followed only if the identified client registered it, exactly
  (§3: "MUST NOT perform post-logout redirection" otherwise); ``state`` is echoed; ``ui_locales``
  and ``logout_hint`` are ignored. An unsafe redirect ends on our signed-out page instead.
- The user confirms unless a valid hint names the signed-in user (§2: the OP "MUST ask the
  End-User" when it has no such hint). A request we cannot verify is shown as such, never
  redirected, and the user may still sign out from it.
- Every application of the ended session is told (oidc_flows.applogout): back-channel logout tokens
  are sent in the background, and the signed-out page carries the front-channel iframes before it
  continues to the ``post_logout_redirect_uri``.
- Tokens are not revoked: access tokens are short-lived, and refresh tokens exist only where the
  user granted ``offline_access``, i.e. access while they are not signed in (Keycloak and Okta keep
  offline tokens too). Withdrawing consent on ``/account/`` revokes them.

A cross-site POST from the application carries no ``SameSite=Lax`` session cookie; such a POST is
re-posted once from our own origin (an auto-submitting form), which does carry it.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse, QueryDict
from django.middleware.csrf import CsrfViewMiddleware
from django.shortcuts import render
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.cache import never_cache
from django.views.decorators.clickjacking import xframe_options_deny
from django.views.decorators.csrf import csrf_exempt
from oauth2_provider.http import OAuth2ResponseRedirect

from .. import applogout, redirects, sessions
from ..models import Application
from .authorize import add_params
from .mixins import ServerBoundMixin


#: RP-Initiated Logout 1.0 §2 request parameters.
PARAMS = ("id_token_hint", "logout_hint", "client_id", "post_logout_redirect_uri", "state", "ui_locales")
#: Longer than any legitimate value (a signed ID token is ~1 kB); refusing early keeps work bounded.
MAX_PARAM_CHARS = sessions.MAX_HINT_CHARS
#: Field names of our own forms (never RP parameters).
CONFIRM = "confirm"
BOUNCED = "bounced"


@dataclass(frozen=True, slots=True)
class LogoutRequest:
    """A parsed logout request: what may be trusted and, if anything is wrong, why."""

    params: dict[str, str]  # as received, re-sent by the confirmation form and validated again
    client: Application | None = None
    hint: sessions.IdTokenHint | None = None
    redirect_uri: str | None = None  # registered exactly by ``client``: safe to redirect to
    problem: str | None = None  # the request is invalid (invalid_request): never redirect
    notice: str | None = None  # the request is fine but its redirect is not: no redirect either

    def needs_confirmation(self, request: HttpRequest) -> bool:
        """§2: ask unless a valid hint names the signed-in user."""
        return self.problem is not None or self.hint is None or not self.hint.names(request.user)


def parse(data: QueryDict, server) -> LogoutRequest:
    """Validate the logout parameters of ``data`` (a GET or POST QueryDict) for ``server``."""
    params: dict[str, str] = {}
    for name in PARAMS:
        values = data.getlist(name)
        if len(values) > 1:
            return LogoutRequest({}, problem=f"{name} must not be repeated.")
        if values and len(values[0]) > MAX_PARAM_CHARS:
            return LogoutRequest({}, problem=f"{name} is too long.")
        if values and values[0]:
            params[name] = values[0]

    hint = None
    if "id_token_hint" in params:
        try:
            hint = sessions.verify_id_token_hint(server, params["id_token_hint"])
        except sessions.InvalidHint as exc:
            return LogoutRequest(params, problem=str(exc))

    client = None
    if client_id := params.get("client_id"):
        client = Application.objects.filter(client_id=client_id, is_active=True).first()
        if client is None:
            return LogoutRequest(params, hint=hint, problem="client_id names no application.")
        if hint is not None and client_id not in hint.audiences:
            # §2: "the OP MUST verify that the Client Identifier matches the one used when issuing the ID Token".
            return LogoutRequest(params, hint=hint, problem="client_id is not the audience of id_token_hint.")
    elif hint is not None and hint.client_id:
        client = Application.objects.filter(client_id=hint.client_id, is_active=True).first()

    uri = params.get("post_logout_redirect_uri")
    if uri is None:
        return LogoutRequest(params, client=client, hint=hint)
    if client is None:
        notice = "The application did not identify itself, so we cannot send you back to it."
    elif uri not in client.post_logout_redirect_uris.split() or redirects.classify(uri) is None:
        notice = f"{client.name} asked to return to an address it has not registered, so we did not go there."
    else:
        return LogoutRequest(params, client=client, hint=hint, redirect_uri=uri)
    return LogoutRequest(params, client=client, hint=hint, notice=notice)


def _csrf_failure(request: HttpRequest) -> HttpResponse | None:
    """Run Django's CSRF check on our own confirmation form (the endpoint itself takes RP POSTs)."""
    return CsrfViewMiddleware(lambda r: HttpResponse()).process_view(request, None, (), {})


@method_decorator([csrf_exempt, never_cache, xframe_options_deny], name="dispatch")
class EndSessionView(ServerBoundMixin, View):
    html_errors = True

    def get(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        return self.end_session(request, request.GET, confirmed=False)

    def post(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if CONFIRM in request.POST:
            if failure := _csrf_failure(request):
                return failure
            return self.end_session(request, request.POST, confirmed=True)
        if settings.SESSION_COOKIE_NAME not in request.COOKIES and BOUNCED not in request.POST:
            return self.bounce(request)
        return self.end_session(request, request.POST, confirmed=False)

    def end_session(self, request: HttpRequest, data: QueryDict, *, confirmed: bool) -> HttpResponse:
        logout_request = parse(data, self.server)
        if request.user.is_authenticated:
            if not confirmed and logout_request.needs_confirmation(request):
                return self.confirmation_page(request, logout_request)
            logout(request)  # flushes the session: SSO ends for every application
        return self.finish(request, logout_request)

    def finish(self, request: HttpRequest, logout_request: LogoutRequest) -> HttpResponse:
        """Back to the application when it is safe (§3), otherwise our signed-out page."""
        frames = applogout.frontchannel_of(request)
        continue_url = None
        if logout_request.redirect_uri and not logout_request.problem:
            uri = logout_request.redirect_uri
            if state := logout_request.params.get("state"):
                uri = add_params(uri, {"state": state}, "query")
            if not frames:
                return OAuth2ResponseRedirect(uri, [urlsplit(uri).scheme.lower()])
            continue_url = uri  # Front-Channel §3: the iframes load first, then the page continues there
        context = {
            "application": logout_request.client,
            "problem": logout_request.problem,
            "notice": logout_request.notice,
            "frontchannel_logouts": frames,
            "continue_url": continue_url,
        }
        status = 400 if logout_request.problem else 200
        return render(request, "oidc_flows/logged_out.html", context, status=status)

    def confirmation_page(self, request: HttpRequest, logout_request: LogoutRequest) -> HttpResponse:
        record = sessions.current_record(request)
        context = {
            "application": logout_request.client,
            "problem": logout_request.problem,
            "notice": logout_request.notice,
            "params": sorted(logout_request.params.items()),
            "action": request.path,
            "signed_in_applications": [row.application for row in record.applications.all()] if record else [],
        }
        status = 400 if logout_request.problem else 200
        return render(request, "oidc_flows/logout_confirm.html", context, status=status)

    def bounce(self, request: HttpRequest) -> HttpResponse:
        """Re-post a cross-site POST from our own origin, so that the browser sends the session cookie."""
        params = [(name, value) for name in PARAMS for value in request.POST.getlist(name)]
        context = {"action": request.path, "params": params, "bounced": BOUNCED}
        return render(request, "oidc_flows/logout_bounce.html", context)
