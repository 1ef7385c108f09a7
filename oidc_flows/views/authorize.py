"""The authorization endpoint (RFC 6749 §3.1, OIDC Core §3.1.2): sign-in, consent, and the redirect back.

GET validates the request and either redirects back at once (signed in, consent remembered),
sends the browser to the sign-in page, or shows the consent page. The consent form POSTs to the
same URL, so the request is validated again from its own query string and nothing can be slipped
in through hidden fields.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.cache import never_cache
from django.views.decorators.clickjacking import xframe_options_deny
from oauth2_provider.exceptions import FatalClientError, OAuthToolkitError
from oauth2_provider.http import OAuth2ResponseRedirect
from oauth2_provider.views.mixins import OAuthLibMixin

from .. import consent, policy, sessions
from ..models import Application
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


def _after_sign_in(request: HttpRequest) -> str:
    """This request's URL without ``prompt=login`` and ``max_age``: signing in satisfies them once.

    Kept, they would send the user back to the sign-in page forever (``max_age=0``).
    """
    kept = []
    for key, value in parse_qsl(request.META.get("QUERY_STRING", ""), keep_blank_values=True):
        if key == "max_age":
            continue
        if key == "prompt":
            value = " ".join(p for p in value.split() if p != "login")
            if not value:
                continue
        kept.append((key, value))
    return f"{request.path}?{urlencode(kept)}"


@method_decorator([never_cache, xframe_options_deny], name="dispatch")
class AuthorizeView(ServerBoundMixin, OAuthLibMixin, View):
    html_errors = True
    template_name = "oidc_flows/consent.html"

    def get(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        return self.authorize(request, decision=None)

    def post(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        return self.authorize(request, decision=request.POST.get("decision"))

    def authorize(self, request: HttpRequest, decision: str | None) -> HttpResponse:
        try:
            scopes, credentials = self.validate_authorization_request(request)
        except FatalClientError as exc:
            # RFC 6749 §4.1.2.1: unknown client or redirect_uri: never redirect.
            error = exc.oauthlib_error
            return error_page(request, error.error, error.description or "", error.status_code)
        except OAuthToolkitError as exc:
            return self.error_redirect(request, exc)

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
        prompt = set(request.GET.get("prompt", "").split())
        if not sessions.is_fresh(request) or (decision is None and "login" in prompt):
            return redirect_to_login(_after_sign_in(request), settings.LOGIN_URL)

        if decision == "deny":
            return self.deny(request, credentials, client)
        if decision == "allow":
            consent.remember(request.user, client, self.server, scopes)
        elif "consent" in prompt or consent.needed(request.user, client, self.server, scopes):
            return self.consent_page(request, client, scopes)
        return self.issue(request, scopes, credentials, client)

    def consent_page(self, request: HttpRequest, client: Application, scopes: list[str]) -> HttpResponse:
        context = {
            "application": client,
            "server": self.server,
            "scopes": consent.scopes_needing_consent(self.server, scopes),
            "action": request.get_full_path(),
        }
        return render(request, self.template_name, context)

    def issue(self, request: HttpRequest, scopes: list[str], credentials: dict, client: Application) -> HttpResponse:
        credentials["auth_time"] = sessions.auth_time(request)
        try:
            uri, _headers, _body, _status = self.create_authorization_response(
                request=request, scopes=" ".join(scopes), credentials=credentials, allow=True
            )
        except OAuthToolkitError as exc:
            return self.error_redirect(request, exc)
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
        client = Application.objects.filter(client_id=error.client_id or request.GET.get("client_id", "")).first()
        if not redirect_uri or client is None or not client.redirect_uri_allowed(redirect_uri):
            return error_page(request, error.error, error.description or "", error.status_code)
        return self.deliver(request, client, redirect_uri, dict(error.twotuples) | {"iss": self.server.issuer})
