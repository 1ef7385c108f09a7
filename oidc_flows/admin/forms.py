"""Admin forms. Every protocol choice comes from ``policy.py``; the copy explains each OAuth term in one line."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Final

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import models
from django.forms.utils import flatatt
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from .. import clientkeys, policy, redirects, registration
from ..models import Application, AuthorizationServer, PolicyRule, Scope, UserProfile


#: The admin's stylesheet and script, for every ModelAdmin of the package (``class Media``).
ADMIN_CSS: Final = {"all": ("oidc_flows/admin.css",)}
ADMIN_JS: Final = ("oidc_flows/admin.js",)


# -- the protocol's vocabulary, one line each ----------------------------------------------------------

#: What each application type is, in one line (shown on "Add application" and in the guide).
TYPE_DESCRIPTIONS: Final = {
    policy.AppType.WEB: "Runs on your server and keeps a secret; users sign in in the browser (authorization code).",
    policy.AppType.SPA: "JavaScript in the browser, no secret: authorization code with PKCE; allowed origins for CORS.",
    policy.AppType.NATIVE: "Mobile or desktop app, no secret: authorization code with PKCE; custom-scheme or loopback "
    "redirect URIs.",
    policy.AppType.SERVICE: "A program with no user (machine to machine): client credentials with its own secret.",
}

#: What each grant type does, in one line (the grant checkboxes and the rule conditions).
GRANT_HELP: Final = {
    policy.Grant.AUTHORIZATION_CODE: "the user signs in here; the application swaps a one-time code for tokens",
    policy.Grant.IMPLICIT: "legacy: tokens come straight from /authorize in the URL fragment; prefer the code flow",
    policy.Grant.PASSWORD: "trusted first-party apps only: the application collects the user's password itself",
    policy.Grant.CLIENT_CREDENTIALS: "no user: the application authenticates with its own secret",
    policy.Grant.REFRESH_TOKEN: "new tokens without the user, from a refresh token (granted with offline_access)",
    policy.Grant.TOKEN_EXCHANGE: "an API trades a user's access token for one to call another API on their behalf",
    policy.Grant.DEVICE_CODE: "TVs and command-line tools: the user types a short code on /activate on another "
    "device, signs in and allows; the device polls /token (RFC 8628)",
}

REDIRECT_KINDS: Final = {
    policy.Redirect.HTTPS: "https",
    policy.Redirect.LOOPBACK: "http on a loopback address (127.0.0.1, [::1], localhost; any port)",
    policy.Redirect.CUSTOM: "a private-use scheme such as com.example.app:/callback",
}

#: Short names for buttons ("Create a single-page app").
TYPE_SHORT_NAMES: Final = {
    policy.AppType.WEB: "web application",
    policy.AppType.SPA: "single-page app",
    policy.AppType.NATIVE: "native app",
    policy.AppType.SERVICE: "service",
}

REDIRECT_PLACEHOLDERS: Final = {
    policy.AppType.WEB: "https://app.example.com/oidc/callback",
    policy.AppType.SPA: "https://app.example.com/callback",
    policy.AppType.NATIVE: "com.example.app:/callback\nhttp://127.0.0.1/callback",
}

URI_LIST_HELP: Final = {
    "redirect_uris": "Where users return after signing in; the request's redirect_uri must match one exactly. "
    "One per line.",
    "post_logout_redirect_uris": "Where users may be sent after signing out (RP-initiated logout). One per line.",
    "allowed_origins": "Origins whose JavaScript may call /token and /userinfo (CORS), e.g. https://app.example.com. "
    "One per line.",
}

ORIGIN_RE: Final = re.compile(r"^https?://[^/?#\s]+$")


def grant_choices(grants: frozenset[str] | None = None) -> list[tuple[str, str]]:
    """Checkbox choices for grant types, in the protocol table's order; all of them when ``grants`` is None."""
    return [
        (g.value, format_html("<code>{}</code>: {}", g.value, GRANT_HELP[g]))
        for g in policy.Grant
        if grants is None or g in grants
    ]


def allowed_redirects(app_type: str) -> str:
    """The redirect URI kinds a type may register, in words."""
    rule = policy.APP_TYPES[policy.AppType(app_type)]
    return ", ".join(REDIRECT_KINDS[kind] for kind in policy.Redirect if kind in rule.redirects) or "none"


class UriListField(forms.CharField):
    """URIs, one per line in the form, space-separated in the column (as DOT stores them)."""

    widget = forms.Textarea(attrs={"rows": 3, "cols": 60, "spellcheck": "false"})

    def prepare_value(self, value: Any) -> Any:
        return "\n".join(value.split()) if isinstance(value, str) else value

    def to_python(self, value: Any) -> str:
        return " ".join(str(value or "").split())


class JwksField(forms.JSONField):
    """A JWK Set as JSON text; none registered shows as an empty box rather than ``{}``."""

    def prepare_value(self, value: Any) -> Any:
        return "" if value in ({}, None) else super().prepare_value(value)


# -- applications --------------------------------------------------------------------------------------

APPLICATION_FIELDS: Final = (
    "name",
    "application_type",
    "client_id",
    "grant_types",
    "redirect_uris",
    "post_logout_redirect_uris",
    "allowed_origins",
    "token_endpoint_auth_method",
    "token_endpoint_auth_signing_alg",
    "jwks",
    "jwks_uri",
    "skip_authorization",
    "is_active",
)

#: The assertion algorithms, grouped by the method that accepts them (RFC 7523; policy.CLIENT_ASSERTION_ALGS).
SIGNING_ALG_CHOICES: Final = [("", _("Any allowed algorithm"))] + [
    (method, [(alg, alg) for alg in algs]) for method, algs in policy.CLIENT_ASSERTION_ALGS.items()
]
#: Pushed authorization requests (RFC 9126) and request objects (RFC 9101): their own fieldset.
REQUEST_FIELDS: Final = ("request_uris", "require_pushed_authorization_requests", "require_signed_request_object")
#: OIDC Back-Channel and Front-Channel Logout 1.0 (oidc_flows.applogout): their own fieldset.
LOGOUT_FIELDS: Final = (
    "backchannel_logout_uri",
    "backchannel_logout_session_required",
    "frontchannel_logout_uri",
    "frontchannel_logout_session_required",
)
#: Subject identifiers (OIDC Core §8): their own fieldset, for applications that sign users in.
SUBJECT_FIELDS: Final = ("subject_type", "sector_identifier_uri")


def clean_request_uris(value: str) -> str:
    """Request URIs an application may host request objects at: https (http only on a loopback host)."""
    for uri in value.split():
        if redirects.classify(uri) not in (policy.Redirect.HTTPS, policy.Redirect.LOOPBACK):
            raise ValidationError(
                _("%(uri)s: use an https URL without a fragment (plain http only for 127.0.0.1, [::1] or localhost).")
                % {"uri": uri}
            )
    return value


class ApplicationForm(forms.ModelForm):
    """Grant choices come from the protocol table; the model's clean() applies its rules per type.

    The admin uses ``ApplicationForm.for_type(app_type)``: a form whose choices and defaults are that
    type's (``policy.APP_TYPES``), without ``application_type`` (chosen on the first step).
    """

    app_type: str | None = None  # set by for_type()

    grant_types = forms.MultipleChoiceField(
        choices=grant_choices(),
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text="The flows this application may use. Leave empty for the type's defaults.",
    )
    redirect_uris = UriListField(required=False, label="Redirect URIs", help_text=URI_LIST_HELP["redirect_uris"])
    post_logout_redirect_uris = UriListField(
        required=False, label="Post-logout redirect URIs", help_text=URI_LIST_HELP["post_logout_redirect_uris"]
    )
    allowed_origins = UriListField(
        required=False, label="Allowed origins (CORS)", help_text=URI_LIST_HELP["allowed_origins"]
    )
    jwks = JwksField(
        required=False,
        label=_("Public keys (JWKS)"),
        widget=forms.Textarea(attrs={"rows": 6, "cols": 60, "spellcheck": "false"}),
        help_text=_(
            'The application\'s public keys as a JWK Set, {"keys": [...]}: for private_key_jwt and signed request '
            "objects. Public keys only. Leave empty when it publishes them at a JWKS URI."
        ),
    )
    jwks_uri = forms.URLField(
        required=False,
        max_length=500,
        assume_scheme="https",
        label=_("JWKS URI"),
        help_text=_("Where the application publishes its public keys (https). Fetched with a timeout, and cached."),
    )
    token_endpoint_auth_signing_alg = forms.ChoiceField(
        choices=SIGNING_ALG_CHOICES,
        required=False,
        label=_("Client assertion algorithm"),
        help_text=_(
            "private_key_jwt and client_secret_jwt: the one algorithm the application signs its assertions with; "
            "empty: any the method allows."
        ),
    )
    subject_type = forms.ChoiceField(
        choices=Application._meta.get_field("subject_type").choices,
        required=False,  # left out: unchanged (a new application's is public)
        label=_("Subject type"),
        help_text=Application._meta.get_field("subject_type").help_text,
    )
    sector_identifier_uri = forms.URLField(
        required=False,
        max_length=500,
        assume_scheme="https",
        label=_("Sector identifier URI"),
        help_text=Application._meta.get_field("sector_identifier_uri").help_text,
    )
    management_scopes = forms.MultipleChoiceField(
        choices=[(name, f"{name}: {scope.description}") for name, scope in policy.MANAGEMENT_SCOPES.items()],
        widget=forms.CheckboxSelectMultiple,
        required=False,
        label=_("Management API scopes"),
        help_text=_(
            "What this application may do through the management API (/api/v1/) with its client credentials "
            "tokens of the org server. Only superusers can change them."
        ),
    )
    request_uris = UriListField(
        required=False,
        label=_("Request URIs"),
        help_text=_(
            "URLs where the application hosts signed request objects, for request_uri at /authorize: exact, "
            "or a prefix ending in /. Only these are ever fetched. One per line; empty: none (pushed "
            "requests need none)."
        ),
    )

    class Meta:
        model = Application
        fields = APPLICATION_FIELDS + REQUEST_FIELDS + LOGOUT_FIELDS + SUBJECT_FIELDS + ("management_scopes",)
        labels = {"skip_authorization": "Skip consent (first-party)", "client_id": "Client ID"}
        help_texts = {
            "name": "Shown to users on the consent page.",
            "client_id": "The application's public identifier (client_id), sent in every request. "
            "Generated; you may choose your own now, it cannot change later.",
            "skip_authorization": "Users are not asked to approve scopes: only for your own applications.",
            "token_endpoint_auth_method": _(
                "How the application proves itself at /token, /introspect and /revoke: its secret in HTTP Basic "
                "(client_secret_basic) or form fields (client_secret_post), or a JWT assertion signed with its "
                "private key (private_key_jwt: register its public keys below) or with its secret "
                "(client_secret_jwt: the secret is then kept encrypted, not only hashed)."
            ),
            "is_active": "Inactive applications get no tokens, and their tokens stop being accepted here.",
        }

    @classmethod
    def for_type(cls, app_type: str) -> type[ApplicationForm]:
        """The form of one application type: only its grants, its redirect kinds and its defaults."""
        return type(f"{policy.AppType(app_type).name.title()}ApplicationForm", (cls,), {"app_type": app_type})

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in set(self.fields) - set(self._meta.fields or ()):
            del self.fields[name]  # declared fields stay even when the admin's fieldsets leave them out
        if self.app_type:
            self.instance.application_type = self.app_type
        if self.instance.application_type in policy.APP_TYPES:
            self._fit_to_type(self.instance.rule)
        if self.instance.pk:
            self.initial["grant_types"] = sorted(self.instance.grant_type_set)
            self.initial["management_scopes"] = sorted(self.instance.management_scope_set)

    def _fit_to_type(self, rule: policy.AppTypeRule) -> None:
        app_type = policy.AppType(self.instance.application_type)
        if self.app_type:  # the admin's typed form: only what this type may hold, at least one
            self.fields["grant_types"].choices = grant_choices(rule.grants)
            self.fields["grant_types"].required = True
            self.fields[
                "grant_types"
            ].help_text = f"The flows a {rule.label.lower()} may use; the usual ones are ticked for a new application."
            self.initial.setdefault("grant_types", sorted(rule.default_grants))
        if "redirect_uris" in self.fields and rule.redirects:
            self.fields["redirect_uris"].help_text += f" Allowed: {allowed_redirects(app_type)}; no fragments."
            self.fields["redirect_uris"].widget.attrs["placeholder"] = REDIRECT_PLACEHOLDERS.get(app_type, "")
        if "name" in self.fields and not rule.redirects:
            self.fields["name"].help_text = "For administrators and logs: a service has no users to show it to."
        if "token_endpoint_auth_method" in self.fields and self.app_type:
            methods = [m for m in policy.TOKEN_ENDPOINT_AUTH_METHODS if (m != "none") == rule.confidential]
            self.fields["token_endpoint_auth_method"].choices = [(m, m) for m in methods]
            self.fields["token_endpoint_auth_method"].required = True
            self.initial.setdefault("token_endpoint_auth_method", methods[0])

    def clean_grant_types(self) -> str:
        return " ".join(sorted(self.cleaned_data["grant_types"]))

    def clean_management_scopes(self) -> str:
        return " ".join(sorted(self.cleaned_data["management_scopes"]))

    def clean_jwks(self) -> dict[str, Any]:
        jwks = self.cleaned_data.get("jwks") or {}
        if why := clientkeys.validate_jwks(jwks):
            raise ValidationError(why)
        return jwks

    def _post_clean(self) -> None:
        super()._post_clean()  # the instance now holds the form's values
        if self.instance.application_type not in policy.APP_TYPES:
            return
        for field, messages in registration.client_auth_errors(self.instance).items():
            target = field if field in self.fields else None
            for message in messages:
                if target is None or target not in self.errors:
                    self.add_error(target, message)

    def clean_subject_type(self) -> str:
        # Never reset a pairwise application to public by leaving the field out: its users' subs would change.
        return self.cleaned_data.get("subject_type") or self.instance.subject_type or policy.SubjectType.PUBLIC

    def clean_request_uris(self) -> str:
        return clean_request_uris(self.cleaned_data.get("request_uris", ""))

    def clean_allowed_origins(self) -> str:
        origins = self.cleaned_data.get("allowed_origins", "")
        for origin in origins.split():
            if not ORIGIN_RE.match(origin):
                raise ValidationError(
                    f"{origin} is not an origin: write scheme://host[:port] with no path, e.g. https://app.example.com."
                )
            if origin.startswith("http://") and redirects.classify(origin + "/") != policy.Redirect.LOOPBACK:
                raise ValidationError(f"{origin}: use https (plain http only for 127.0.0.1, [::1] or localhost).")
        return origins

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        grants = set(str(data.get("grant_types", "")).split())
        if policy.Grant.REFRESH_TOKEN in grants and not grants & {
            policy.Grant.AUTHORIZATION_CODE,
            policy.Grant.PASSWORD,
            policy.Grant.DEVICE_CODE,
        }:
            self.add_error(
                "grant_types",
                "refresh_token needs authorization_code, password or device_code: refresh tokens are issued by "
                "those flows.",
            )
        return data


class ApplicationTypeGuideForm(forms.Form):
    """The seeds' "Choosing a flow" questions (002, 003); ``recommendation()`` answers with a type."""

    YES_NO = [("yes", "Yes"), ("no", "No")]

    has_user = forms.ChoiceField(
        label="Does a person sign in to it?",
        choices=[("yes", "Yes, people use it"), ("no", "No: it is a service, a job or a device talking to an API")],
        widget=forms.RadioSelect,
    )
    public = forms.ChoiceField(
        label="Could a user read its code or its storage?",
        choices=[("yes", "Yes: it runs in the browser or on the user's device (public)"), ("no", "No: on your server")],
        widget=forms.RadioSelect,
        required=False,
        help_text="A public client cannot keep a secret; a confidential one can.",
    )
    runs_in = forms.ChoiceField(
        label="Where does the public client run?",
        choices=[("browser", "In the browser (single-page app)"), ("device", "On a phone or desktop (native app)")],
        widget=forms.RadioSelect,
        required=False,
    )
    trusted = forms.ChoiceField(
        label="Is it your own application, trusted by its users?",
        choices=[("yes", "Yes, first-party"), ("no", "No, a third party")],
        widget=forms.RadioSelect,
        required=False,
        help_text="Does the resource owner own the client? Trusted apps may skip consent.",
    )

    def recommendation(self) -> Recommendation | None:
        """The type to create for the answers given, or None while the answers do not decide yet."""
        if not self.is_valid():
            return None
        data = self.cleaned_data
        trusted = data.get("trusted") == "yes"
        if data["has_user"] == "no":
            return Recommendation(
                policy.AppType.SERVICE,
                "No user is involved: the client credentials flow, with the service's own secret.",
            )
        if data.get("public") == "no":
            note = " Trusted: consider skipping consent; enable password only if redirects are impossible." * trusted
            return Recommendation(policy.AppType.WEB, "A confidential client with users: authorization code." + note)
        if data.get("public") == "yes" and data.get("runs_in"):
            app_type = policy.AppType.SPA if data["runs_in"] == "browser" else policy.AppType.NATIVE
            note = " Trusted: consider skipping consent." * trusted
            return Recommendation(
                app_type, "A public client cannot keep a secret: authorization code with PKCE." + note
            )
        return None


@dataclass(frozen=True, slots=True)
class Recommendation:
    app_type: policy.AppType
    reason: str


# -- servers, scopes, access policies ------------------------------------------------------------------


#: Pushed authorization requests (RFC 9126) and signed request objects (RFC 9101) on a server.
SERVER_REQUEST_FIELDS: Final = ("require_pushed_authorization_requests", "require_signed_request_object")


class AuthorizationServerForm(forms.ModelForm):
    """A server; on creation, optionally with the permissive policy that ``default`` ships with."""

    default_policy = forms.BooleanField(
        required=False,
        initial=True,
        label="Start with the default access policy",
        help_text="Every application, any grant its type allows, one-hour access tokens. Without a policy, "
        "a new server issues no tokens.",
    )

    class Meta:
        model = AuthorizationServer
        fields = (
            "server_id",
            "name",
            "description",
            "audience",
            "key_rotation_days",
            "is_active",
        ) + SERVER_REQUEST_FIELDS
        help_texts = {
            "server_id": "Lowercase letters, digits and hyphens, e.g. payments. It names the server in its URLs "
            "(/oauth2/payments/v1/token) and in its issuer, so it cannot change later.",
            "name": "For administrators and the consent page.",
            "audience": "The 'aud' claim of its access tokens, naming the API that accepts them. Empty: api:// "
            "followed by the server id (the org server: its issuer).",
            "key_rotation_days": "A new signing key takes over after this many days; 0: only when you rotate it.",
        }


def _unknown_scopes(server: AuthorizationServer | None, names: set[str]) -> list[str]:
    if server is None or not names:
        return []
    known = set(Scope.objects.filter(server=server, name__in=names).values_list("name", flat=True))
    return sorted(names - known)


class PolicyRuleForm(forms.ModelForm):
    """A rule: conditions (grant types, people, scopes; empty means any) and the token lifetimes it grants."""

    grant_types = forms.MultipleChoiceField(
        choices=grant_choices(),
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text="The rule applies to these flows; none ticked: to every flow.",
    )

    class Meta:
        model = PolicyRule
        fields = (
            "name",
            "priority",
            "is_active",
            "grant_types",
            "users",
            "groups",
            "scopes",
            "access_token_seconds",
            "refresh_token_seconds",
            "refresh_token_idle_seconds",
        )
        help_texts = {
            "users": "The rule applies to these users; with no users and no groups, to everyone (and to services).",
            "groups": "…or to members of these groups.",
            "scopes": "Space-separated scopes a request may ask for under this rule, e.g. openid payments:read; "
            "empty: any scope of the server.",
            "access_token_seconds": "How long access tokens live: 60 (1 minute) to 86400 (24 hours). 3600 is one hour.",
            "refresh_token_seconds": "How long a chain of refresh tokens may go on in total; empty: no limit.",
            "refresh_token_idle_seconds": "A refresh token unused for this long expires (604800 is a week); "
            "empty: never.",
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial["grant_types"] = sorted(self.instance.grant_type_set)

    def clean_grant_types(self) -> str:
        return " ".join(sorted(self.cleaned_data["grant_types"]))

    def clean_scopes(self) -> str:
        scopes = " ".join(self.cleaned_data.get("scopes", "").split())
        # In the policy's inline the formset has set the (possibly unsaved) parent policy, server included.
        access_policy = getattr(self.instance, "policy", None)  # RelatedObjectDoesNotExist is an AttributeError
        server = access_policy.server if access_policy is not None and access_policy.server_id else None
        if unknown := _unknown_scopes(server, set(scopes.split())):
            raise ValidationError(
                f"{', '.join(unknown)}: not a scope of {server.server_id}. Add it under the server's scopes first, "
                "or fix the spelling."
            )
        return scopes


class TokenPreviewForm(forms.Form):
    """Who asks, how, and for what: the inputs of a /token request, for the token preview."""

    client = forms.ModelChoiceField(
        queryset=Application.objects.filter(is_active=True).order_by("name"),
        label="Application",
        help_text="The client that would send the token request.",
    )
    grant_type = forms.ChoiceField(
        choices=[(g.value, g.value) for g in policy.Grant if g in policy.TOKEN_ENDPOINT_GRANTS],
        help_text="The flow; implicit has no /token step and is not previewed.",
    )
    scopes = forms.CharField(
        required=False,
        widget=forms.TextInput(attrs={"class": "vTextField", "spellcheck": "false"}),
        help_text="Space-separated, as in the scope parameter; empty: the server's default scopes.",
    )
    user = forms.CharField(
        required=False,
        label="Username",
        help_text="The signed-in user; leave empty for client_credentials (no user).",
    )

    def __init__(self, *args: Any, server: AuthorizationServer, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.server = server
        self.known_scopes = list(server.scopes.values_list("name", flat=True))

    def clean_user(self) -> AbstractBaseUser | None:
        username = self.cleaned_data.get("user", "").strip()
        if not username:
            return None
        model = get_user_model()
        user = model._default_manager.filter(**{model.USERNAME_FIELD: username}).first()
        if user is None:
            raise ValidationError(f"No user named “{username}”: type an existing username, or leave it empty.")
        return user

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        grant = data.get("grant_type")
        if grant and policy.GRANTS[policy.Grant(grant)].has_user and data.get("user") is None and "user" in data:
            self.add_error("user", f"The {grant} grant acts for a user: type a username.")
        return data


# -- users ---------------------------------------------------------------------------------------------

ATTRIBUTE_NAME_RE: Final = re.compile(r"^[A-Za-z_][A-Za-z0-9_.:-]{0,99}$")


class KeyValueWidget(forms.Widget):
    """Rows of name / value inputs for a flat JSON object, plus empty rows to add more."""

    template_name = ""  # rendered in render(): no template needed for two inputs per row
    extra_rows = 3

    def __init__(self, attrs: dict[str, Any] | None = None, *, example: tuple[str, str] = ("department", "Finance")):
        super().__init__(attrs)
        self.example = example

    def format_value(self, value: Any) -> list[tuple[str, str]]:
        if isinstance(value, list):  # the submitted rows, shown again with an error
            return [(k, v) for k, v in value if k or v]
        if isinstance(value, str):
            try:
                value = json.loads(value or "{}")
            except ValueError:
                return []
        if not isinstance(value, dict):
            return []
        return [(str(k), v if isinstance(v, str) else json.dumps(v)) for k, v in sorted(value.items())]

    def render(self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None) -> str:
        rows = self.format_value(value)
        rows += [("", "")] * self.extra_rows
        body = format_html_join(
            "",
            '<tr><td><input type="text" name="{0}_key_{1}" value="{2}" placeholder="{4}" '
            'aria-label="name" size="24" spellcheck="false"></td>'
            '<td><input type="text" name="{0}_value_{1}" value="{3}" placeholder="{5}" '
            'aria-label="value" size="40"></td></tr>',
            (
                (name, i, k, v, *(self.example if i == len(rows) - self.extra_rows else ("", "")))
                for i, (k, v) in enumerate(rows)
            ),
        )
        head = format_html("<thead><tr><th>{}</th><th>{}</th></tr></thead>", "Name", "Value")
        final = self.build_attrs(self.attrs, attrs or {}) | {"class": "oidc-keyvalue"}
        return format_html("<table{}>{}<tbody>{}</tbody></table>", flatatt(final), head, body)

    def value_from_datadict(self, data: Any, files: Any, name: str) -> list[tuple[str, str]]:
        rows, i = [], 0
        while f"{name}_key_{i}" in data or f"{name}_value_{i}" in data:
            rows.append((data.get(f"{name}_key_{i}", "").strip(), data.get(f"{name}_value_{i}", "").strip()))
            i += 1
        return rows

    def value_omitted_from_data(self, data: Any, files: Any, name: str) -> bool:
        return f"{name}_key_0" not in data

    def id_for_label(self, id_: str) -> str:
        return ""


class AttributesField(forms.Field):
    """Custom user attributes for claims, as name / value rows. JSON lists and objects stay structured."""

    widget = KeyValueWidget

    def to_python(self, value: Any) -> dict[str, Any]:
        if isinstance(value, dict):
            return value
        result: dict[str, Any] = {}
        for number, (key, raw) in enumerate(value or [], start=1):
            if not key and not raw:
                continue
            if not ATTRIBUTE_NAME_RE.match(key):
                raise ValidationError(
                    f"Row {number}: “{key}” is not a usable name: start with a letter, then use letters, digits "
                    "and _ . : -"
                )
            if key in result:
                raise ValidationError(f"Row {number}: “{key}” appears twice; keep one row per name.")
            result[key] = self._value(number, raw)
        return result

    @staticmethod
    def _value(number: int, raw: str) -> Any:
        if raw[:1] in "[{":
            try:
                return json.loads(raw)
            except ValueError as exc:
                raise ValidationError(
                    f"Row {number}: values starting with [ or {{ are read as JSON, and this one is not valid: {exc}."
                ) from exc
        return raw

    def prepare_value(self, value: Any) -> Any:
        return value

    def has_changed(self, initial: Any, data: Any) -> bool:
        try:
            return self.to_python(data) != (initial or {})
        except ValidationError:
            return True


def _https_by_default(db_field: models.Field, **kwargs: Any) -> forms.Field | None:
    if isinstance(db_field, models.URLField):
        kwargs["assume_scheme"] = "https"  # what users type is a web address; Django 6 does the same
    return db_field.formfield(**kwargs)


class UserProfileForm(forms.ModelForm):
    attributes = AttributesField(
        required=False,
        label="Custom attributes",
        help_text="Values for custom claims: a claim whose value is “user attribute: department” reads the "
        'row named department. Text values; write ["a", "b"] for a list.',
    )

    class Meta:
        model = UserProfile
        fields = (
            "nickname",
            "middle_name",
            "picture",
            "website",
            "gender",
            "birthdate",
            "zoneinfo",
            "locale",
            "email_verified",
            "phone_number",
            "phone_number_verified",
            "street_address",
            "locality",
            "region",
            "postal_code",
            "country",
            "attributes",
        )
        formfield_callback = _https_by_default
