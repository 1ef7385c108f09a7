"""The authorization endpoint (RFC 6749 §3.1, OIDC Core §3.1.2): sign-in, consent, and the redirect back.

GET validates the request and either redirects back at once (signed in, consent remembered),
sends the browser to the sign-in page, or shows the consent page. The consent form POSTs to the
same URL, so the request is validated again from its own query string and nothing can be slipped
in through hidden fields.

OIDC Core §3.1.2.1: the endpoint "MUST support the use of the HTTP GET and POST methods". A POST
without the consent form's ``decision`` is an authorization request, its parameters form-encoded in
the body; it is answered exactly as the same request sent with GET, and the sign-in and consent
steps after it carry its parameters in their URL as a GET request's do. Such a request is
protected by ``state``, PKCE and the redirect URI check, as a GET request is, not by a CSRF cookie
(a client's form cannot have one): the view is CSRF-exempt, and the consent form's POST checks its
CSRF token itself.

OIDC Core §3.1.2.1 parameters decided here (oauthlib checks ``prompt=none`` for ``openid`` requests
and the validator checks ``id_token_hint``; the rest needs the browser session):

- ``prompt``: ``none``, ``login``, ``consent`` and ``select_account``; anything else is
  ``invalid_request``. We have no account chooser, so ``select_account`` with a signed-in user is
  answered ``account_selection_required`` (§3.1.2.6: "If it cannot obtain an account selection
  choice made by the End-User, it MUST return an error"); with nobody signed in, the sign-in page
  *is* the choice of account, so it is shown.
- ``login_hint`` pre-fills the username on the sign-in page; it is never trusted for anything else.
- ``id_token_hint`` naming someone other than the signed-in user: the sign-in page; if the user
  signs in again and still is someone else, ``login_required`` (§3.1.2.1: "otherwise, it SHOULD
  return an error, such as login_required"). With ``prompt=none``: ``login_required`` at once.

A request may also arrive as a pushed request's ``request_uri`` (RFC 9126) or a request object
(RFC 9101): ``oidc_flows.requestparams`` resolves it first, and from then on ``request.GET`` and
oauthlib see the resolved parameters only. An application (or server) that requires PAR or signed
request objects has its plain requests refused with ``invalid_request``.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, QueryDict
from django.middleware.csrf import CsrfViewMiddleware
from django.shortcuts import render
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.cache import never_cache
from django.views.decorators.clickjacking import xframe_options_deny
from django.views.decorators.csrf import csrf_exempt
from oauth2_provider.exceptions import FatalClientError, OAuthToolkitError
from oauth2_provider.http import OAuth2ResponseRedirect
from oauth2_provider.views.mixins import OAuthLibMixin

from .. import claimsrequest, consent, policy, requestparams, sessions
from ..authn import browser as authn_browser
from ..authn import machine as authn_machine
from ..authn import policies as authn_policies
from ..models import Application
from .login import login_hint as sign_in_hint
from .mixins import ServerBoundMixin, error_page


def response_mode(request: HttpRequest) -> str:
    """Where the response parameters go: the request's ``response_mode`` or the type's default."""
    rule = policy.response_type_rule(request.GET.get("response_type", ""))
    default = rule.default_mode if rule else "query"
    asked = request.GET.get("response_mode", "")
    if asked not in policy.RESPONSE_MODES or (rule and not policy.response_mode_allowed(rule, asked)):
        return default  # an unsafe or unknown mode is answered in the safe default, with an error
    return asked


def add_params(uri: str, params: dict[str, str], mode: str) -> str:
    """Add ``params`` to ``uri``'s query or fragment, keeping what the registered URI already has."""
    parts = urlsplit(uri)
    if mode == "fragment":
        fragment = parse_qsl(parts.fragment) + list(params.items())
        return urlunsplit(parts._replace(fragment=urlencode(fragment)))
    query = parse_qsl(parts.query, keep_blank_values=True) + list(params.items())
    return urlunsplit(parts._replace(query=urlencode(query)))


def response_params(location: str, redirect_uri: str) -> dict[str, str]:
    """The parameters oauthlib put on ``location``: its fragment, or the query minus the registered URI's own."""
    parts = urlsplit(location)
    if parts.fragment:
        return dict(parse_qsl(parts.fragment, keep_blank_values=True))
    own = set(parse_qsl(urlsplit(redirect_uri).query, keep_blank_values=True))
    return dict(p for p in parse_qsl(parts.query, keep_blank_values=True) if p not in own)


#: OIDC Core §3.1.2.1 ``prompt`` values we understand; see the module docstring for select_account.
PROMPT_VALUES = requestparams.PROMPT_VALUES
#: Satisfied by signing in once: dropped from the URL the sign-in page returns to.
_SATISFIED_BY_SIGN_IN = frozenset({"login", "select_account"})


def satisfied_by_sign_in(params: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """``params`` without ``prompt=login|select_account`` and ``max_age``: signing in satisfies them once.

    Kept, they would send the user back to the sign-in page forever (``max_age=0``).
    """
    kept = []
    for key, value in params:
        if key in ("max_age", "sessionToken"):  # satisfied by signing in; a sessionToken is spent either way
            continue
        if key == "prompt":
            value = " ".join(p for p in value.split() if p not in _SATISFIED_BY_SIGN_IN)
            if not value:
                continue
        kept.append((key, value))
    return kept


#: Checks the consent form's CSRF token: the view is exempt, for authorization requests sent with POST.
_consent_csrf = CsrfViewMiddleware(lambda request: HttpResponse())
#: The consent form's field: a POST with it answers the consent page, one without it is a request.
DECISION = "decision"


def requested_acr(request: HttpRequest) -> list[str]:
    """The levels asked for: ``acr_values``, then the ``claims`` parameter's ``acr`` (OIDC Core §5.5.1.1)."""
    from_claims, _essential = claimsrequest.acr_request(request.GET.get("claims"))
    return authn_policies.requested_acr(" ".join([request.GET.get("acr_values", ""), *from_claims]))


def essential_acr_refusal(request: HttpRequest) -> tuple[str, str] | None:
    """OIDC Core §5.5.1.1: an essential ``acr`` none of whose levels we know cannot be met, which "MUST" be
    treated as a failed authentication; known levels the session lacks are a step-up (sign_on_refusal)."""
    levels, essential = claimsrequest.acr_request(request.GET.get("claims"))
    if essential and levels and not authn_policies.requested_acr(" ".join(levels)):
        return "access_denied", "None of the essential acr values can be satisfied."
    return None


def request_problem(request: HttpRequest) -> str | None:
    """Why the OIDC parameters that this view reads are malformed (``invalid_request``), or None."""
    return requestparams.request_problem(request.GET)


@method_decorator([never_cache, xframe_options_deny, csrf_exempt], name="dispatch")
class AuthorizeView(ServerBoundMixin, OAuthLibMixin, View):
    html_errors = True
    template_name = "oidc_flows/consent.html"
    #: The request as sent, as (name, value) pairs: its query, or the body of a POSTed request. The URLs
    #: of the sign-in and consent steps carry it (a pushed request's are its request_uri and client_id).
    sent: list[tuple[str, str]]
    #: Whether the parameters came in a POST body (OIDC Core §3.1.2.1), not in the URL's query.
    from_body = False

    def get(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        self.sent = parse_qsl(request.META.get("QUERY_STRING", ""), keep_blank_values=True)
        return self.authorize(request, decision=None)

    def post(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if DECISION not in request.POST:
            # An authorization request sent as a form (OIDC Core §3.1.2.1): the body is its parameters.
            self.sent, self.from_body = list(request.POST.items()), True
            request.GET = _query(request.POST.lists())
            return self.authorize(request, decision=None)
        if (refused := _consent_csrf.process_view(request, None, (), {})) is not None:
            return refused  # Django's CSRF failure page: the consent form's own protection
        self.sent = parse_qsl(request.META.get("QUERY_STRING", ""), keep_blank_values=True)
        return self.authorize(request, decision=request.POST.get(DECISION))

    def get_oauthlib_core(self):
        core = super().get_oauthlib_core()
        resolved = getattr(self, "resolved", None)
        if resolved is None or (resolved.key is None and not self.from_body):
            return core
        # Pushed or request object parameters only, or those of a POSTed request (not the URL's query).
        return requestparams.ResolvedCore(core, resolved.params)

    def step_url(self, request: HttpRequest, pairs: list[tuple[str, str]]) -> str:
        """This endpoint's URL with ``pairs`` as its query: where sign-in returns, and consent posts."""
        return f"{request.path}?{urlencode(pairs)}"

    def authorize(self, request: HttpRequest, decision: str | None) -> HttpResponse:
        try:
            self.resolved = requestparams.resolve(request, self.server)
        except requestparams.RequestError as exc:
            return self.request_error(request, exc)
        request.GET = self.resolved.params  # what every check below, and oauthlib, reads
        try:
            scopes, credentials = self.validate_authorization_request(request)
        except FatalClientError as exc:
            # RFC 6749 §4.1.2.1: unknown client or redirect_uri: never redirect.
            error = exc.oauthlib_error
            return error_page(request, error.error, error.description or "", error.status_code)
        except OAuthToolkitError as exc:
            return self.error_redirect(request, exc)

        # The client oauthlib validated (the validator's cached row); looked up only if it is not there.
        client = getattr(credentials.get("request"), "client", None)
        if not isinstance(client, Application) or client.client_id != credentials["client_id"]:
            client = Application.objects.get(client_id=credentials["client_id"])
        asked_mode = request.GET.get("response_mode")
        rule = policy.response_type_rule(credentials["response_type"])
        if asked_mode and (
            asked_mode not in policy.RESPONSE_MODES or not policy.response_mode_allowed(rule, asked_mode)
        ):
            # OAuth 2.0 Multiple Response Types §5: tokens never travel in the query string.
            params = {
                "error": "invalid_request",
                "error_description": f"response_mode={asked_mode} is not allowed here.",
            }
            return self.respond(request, client, credentials, params)
        if problem := request_problem(request):
            return self.refuse(request, client, credentials, "invalid_request", problem)
        if self.resolved.key is None and (refusal := requestparams.plain_refusal(client, self.server)):
            # RFC 9126 §5 / RFC 9101 §10.5: a client that must push, or sign, cannot send a plain request.
            return self.refuse(request, client, credentials, "invalid_request", refusal)
        authn_browser.end_if_expired(request)  # past the lifetime its sign-on rule gave the session
        if decision is None and (session_token := request.GET.get("sessionToken")):
            # Okta's contract: a sessionToken from /api/v1/authn becomes the IdP session, with no sign-in page.
            authn_browser.redeem_session_token(request, session_token)
        prompt = set(request.GET.get("prompt", "").split())
        if decision is None:
            if refusal := self.interaction_refusal(request, client, scopes, prompt):
                return self.refuse(request, client, credentials, *refusal)
            if "openid" in scopes and (hint_response := self.check_id_token_hint(request, client, credentials)):
                return hint_response
        if not sessions.is_fresh(request) or (decision is None and "login" in prompt):
            return self.sign_in(request)
        if refusal := essential_acr_refusal(request):
            return self.refuse(request, client, credentials, *refusal)
        if refusal := self.sign_on_refusal(request, client, prompt):
            if refusal == "step_up":
                return self.sign_in(request)  # the sign-in page asks for what the policy or acr_values lack
            return self.refuse(request, client, credentials, *refusal)

        if decision == "deny":
            return self.deny(request, credentials, client)
        if decision == "allow":
            consent.remember(request.user, client, self.server, scopes)
        elif "consent" in prompt or consent.needed(request.user, client, self.server, scopes):
            return self.consent_page(request, client, scopes)
        return self.issue(request, scopes, credentials, client)

    def interaction_refusal(
        self, request: HttpRequest, client: Application, scopes: list[str], prompt: set[str]
    ) -> tuple[str, str] | None:
        """The OIDC Core §3.1.2.6 error owed instead of a page, as (error, description), or None."""
        if "none" in prompt:
            # oauthlib checks this for openid requests only; no page may show for any prompt=none request.
            if not sessions.is_fresh(request):
                return "login_required", "The user is not signed in, or not recently enough for max_age."
            if consent.needed(request.user, client, self.server, scopes):
                return "consent_required", "The user has not consented to these scopes."
        if "select_account" in prompt and "login" not in prompt and request.user.is_authenticated:
            # §3.1.2.1: no account chooser here, so the choice cannot be obtained: the spec's error.
            return "account_selection_required", "This identity provider does not offer account selection."
        return None

    def sign_on_refusal(
        self, request: HttpRequest, client: Application, prompt: set[str]
    ) -> tuple[str, str] | str | None:
        """The sign-on policy for this user, client and server against what the session proved (and acr_values).

        "step_up" when a factor is missing (the sign-in page asks for it); an error when the policy denies,
        or when a step-up would need a page but prompt=none forbids one.
        """
        needed = authn_machine.requirement(
            request.user,
            client=client,
            server=self.server,
            amr=authn_browser.amr(request),
            verified=authn_browser.verified_factors(request),
            acr_values=requested_acr(request),
        )
        if needed == "deny":
            return "access_denied", "The sign-on policy does not allow this user to sign in to this application."
        if needed == "step_up":
            if "none" in prompt:
                return "login_required", "The sign-on policy or acr_values ask for another factor."
            return "step_up"
        return None

    def check_id_token_hint(self, request: HttpRequest, client: Application, credentials: dict) -> HttpResponse | None:
        """Send the user to sign in when ``id_token_hint`` names someone else (interactive requests)."""
        raw = request.GET.get("id_token_hint")
        if not raw:
            return None
        try:
            hint = sessions.verify_id_token_hint(self.server, raw)
        except sessions.InvalidHint as exc:  # the validator refuses these first; kept for safety
            return self.refuse(request, client, credentials, "invalid_request", str(exc))
        if hint.names(request.user):
            return None
        if not request.user.is_authenticated:
            sessions.ask_sign_in_for_hint(request, hint)  # whoever signs in next is checked against it
            return None  # the sign-in page follows
        if sessions.hint_sign_in_done(request, hint):
            description = "The signed-in user is not the user id_token_hint names."
            return self.refuse(request, client, credentials, "login_required", description)
        sessions.ask_sign_in_for_hint(request, hint)
        return self.sign_in(request)

    def sign_in(self, request: HttpRequest) -> HttpResponse:
        """Redirect to the sign-in page, which returns here; ``login_hint`` travels along to pre-fill it."""
        returning = satisfied_by_sign_in([(k, v) for k, values in request.GET.lists() for v in values])
        requestparams.keep(request, getattr(self, "resolved", None), requestparams.querydict(_lists(returning)))
        # This request's URL, less what signing in satisfies.
        response = redirect_to_login(self.step_url(request, satisfied_by_sign_in(self.sent)), settings.LOGIN_URL)
        if login_hint := sign_in_hint(request):  # what the sign-in page would use; the rest is dropped
            response["Location"] += "&" + urlencode({"login_hint": login_hint})
        return response

    def refuse(
        self, request: HttpRequest, client: Application, credentials: dict, error: str, description: str
    ) -> HttpResponse:
        """An error for the client at its validated redirect_uri (RFC 6749 §4.1.2.1, OIDC Core §3.1.2.6)."""
        return self.respond(request, client, credentials, {"error": error, "error_description": description})

    def consent_page(self, request: HttpRequest, client: Application, scopes: list[str]) -> HttpResponse:
        requestparams.keep(request, getattr(self, "resolved", None), request.GET)  # the form posts to this URL
        context = {
            "application": client,
            "server": self.server,
            "scopes": consent.scopes_needing_consent(self.server, scopes),
            "action": self.step_url(request, self.sent),
        }
        return render(request, self.template_name, context)

    def issue(self, request: HttpRequest, scopes: list[str], credentials: dict, client: Application) -> HttpResponse:
        credentials["auth_time"] = sessions.auth_time(request)
        credentials["sid"] = sessions.current_sid(request)  # the IdP session, for the ID token's sid claim
        credentials["amr"] = authn_browser.amr(request)
        credentials["acr"] = authn_policies.acr_for(credentials["amr"], requested_acr(request))
        try:
            uri, _headers, _body, _status = self.create_authorization_response(
                request=request, scopes=" ".join(scopes), credentials=credentials, allow=True
            )
        except OAuthToolkitError as exc:
            return self.error_redirect(request, exc)
        sessions.record_authorization(request, client, self.server)  # single sign-on: which apps this session serves
        return self.respond(request, client, credentials, response_params(uri, credentials["redirect_uri"]))

    def deny(self, request: HttpRequest, credentials: dict, client: Application) -> HttpResponse:
        params = {"error": "access_denied", "error_description": "The user denied the request."}
        return self.respond(request, client, credentials, params)

    def respond(self, request: HttpRequest, client: Application, credentials: dict, params: dict) -> HttpResponse:
        """Send the response to the validated redirect_uri, in the request's response mode."""
        if credentials.get("state") and "state" not in params:
            params["state"] = credentials["state"]
        params["iss"] = self.server.issuer  # RFC 9207: against mix-up attacks
        return self.deliver(request, client, credentials["redirect_uri"], params)

    def deliver(self, request: HttpRequest, client: Application, redirect_uri: str, params: dict) -> HttpResponse:
        requestparams.forget(request, getattr(self, "resolved", None))  # the client has its answer
        mode = response_mode(request)
        if mode == "form_post":
            # OAuth 2.0 Form Post Response Mode §2: an auto-submitting form, parameters in the body.
            context = {"redirect_uri": redirect_uri, "params": sorted(params.items())}
            return render(request, "oidc_flows/form_post.html", context)
        return OAuth2ResponseRedirect(add_params(redirect_uri, params, mode), client.get_allowed_schemes())

    def error_redirect(self, request: HttpRequest, exc: OAuthToolkitError) -> HttpResponse:
        """RFC 6749 §4.1.2.1: errors go back to the client's redirect_uri, once it is validated."""
        error = exc.oauthlib_error
        redirect_uri = getattr(exc, "redirect_uri", None) or error.redirect_uri
        params = dict(error.twotuples)
        if not redirect_uri and error.client_id is None:
            # oauthlib raises some errors without the request (a claims parameter that is not JSON), after it
            # validated the client and redirect_uri: the registered redirect_uri below decides, as for any other.
            redirect_uri = request.GET.get("redirect_uri")
            if state := request.GET.get("state"):
                params["state"] = state
        client = Application.objects.filter(client_id=error.client_id or request.GET.get("client_id", "")).first()
        if not redirect_uri or client is None or not client.redirect_uri_allowed(redirect_uri):
            return error_page(request, error.error, error.description or "", error.status_code)
        return self.deliver(request, client, redirect_uri, params | {"iss": self.server.issuer})

    def request_error(self, request: HttpRequest, exc: requestparams.RequestError) -> HttpResponse:
        """A pushed request or request object that cannot be used: to the client if its redirect_uri is registered."""
        params = exc.params
        redirect_uri = params.get("redirect_uri") if params is not None else None
        if exc.client is None or not redirect_uri or not exc.client.redirect_uri_allowed(redirect_uri):
            return error_page(request, exc.error, exc.description, 400)
        request.GET = params  # the response mode and state of the request the error is about
        answer = {"error": exc.error, "error_description": exc.description}
        if state := params.get("state"):
            answer["state"] = state
        return self.deliver(request, exc.client, redirect_uri, answer | {"iss": self.server.issuer})


def _query(lists) -> QueryDict:
    """``lists`` ((name, values) pairs) as an immutable QueryDict, like ``request.GET``."""
    return requestparams.querydict(dict(lists))


def _lists(pairs: list[tuple[str, str]]) -> dict[str, list[str]]:
    result: dict[str, list[str]] = {}
    for key, value in pairs:
        result.setdefault(key, []).append(value)
    return result
