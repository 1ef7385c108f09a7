"""Applications (OAuth clients): "Add application" starts from the type, and each type's form has only its settings.

The types, their grants, secrets and redirect URI kinds come from ``policy.APP_TYPES``. A client
secret is generated on creation and on "rotate secret", shown once in a message, and stored hashed.
"""

from __future__ import annotations

from typing import Any, Final
from urllib.parse import urlencode

from django.contrib import admin, messages
from django.contrib.admin.options import IS_POPUP_VAR, TO_FIELD_VAR
from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _
from django.views.decorators.debug import sensitive_variables
from oauth2_provider.generators import generate_client_secret

from .. import policy, registration
from ..models import AccessPolicy, Application, AuthorizationServer
from . import actions, security
from .forms import (
    ADMIN_CSS,
    ADMIN_JS,
    LOGOUT_FIELDS,
    REQUEST_FIELDS,
    SUBJECT_FIELDS,
    TYPE_DESCRIPTIONS,
    TYPE_SHORT_NAMES,
    ApplicationForm,
    ApplicationTypeGuideForm,
    allowed_redirects,
)
from .tokens import token_links


#: RFC 9449 §5.2 ``dpop_bound_access_tokens``: its own fieldset, so that the other high-security
#: settings can sit beside it without touching the type's fieldsets.
DPOP_FIELDSET: Final = (
    _("Sender-constrained tokens (DPoP)"),
    {
        "fields": ("dpop_bound_access_tokens",),
        "description": _(
            "With DPoP (RFC 9449) the application proves with its own key that it holds a token: a stolen "
            "token is useless without that key. When required, token requests without a DPoP proof are "
            "refused and every access token is bound to the key. FAPI 2.0 servers always require it."
        ),
    },
)

if admin.site.is_registered(Application):
    admin.site.unregister(Application)  # DOT registers its own admin for the swapped model


class ServerFilter(admin.SimpleListFilter):
    """Applications a server issues tokens to: assigned to one of its active policies, or to all via an
    "all applications" policy. The org server has no policies and serves every application."""

    title = "authorization server"
    parameter_name = "server"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [(s.server_id, s.name) for s in AuthorizationServer.objects.all()]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Application]) -> QuerySet[Application]:
        server = AuthorizationServer.objects.filter(server_id=self.value()).first() if self.value() else None
        if server is None or server.is_org:
            return queryset
        active = AccessPolicy.objects.filter(server=server, is_active=True)
        if active.filter(all_clients=True).exists():
            return queryset
        return queryset.filter(access_policies__in=active).distinct()


class OriginFilter(admin.SimpleListFilter):
    """DOT's ``registration_source``, worded as the change page words it."""

    title = _("origin")
    parameter_name = "origin"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [
            (Application.RegistrationSource.MANUAL, _("Created by an administrator")),
            (Application.RegistrationSource.DCR, _("Registered dynamically")),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Application]) -> QuerySet[Application]:
        return queryset.filter(registration_source=self.value()) if self.value() else queryset


TYPE_FIELDSETS: dict[str, tuple[tuple[str | None, dict[str, Any]], ...]] = {
    app_type: tuple(
        fieldset
        for fieldset in (
            (None, {"fields": ("name", "client_id")}),
            (
                "Redirects",
                {
                    "fields": ("redirect_uris", "post_logout_redirect_uris")
                    + (("allowed_origins",) if app_type == policy.AppType.SPA else ()),
                },
            )
            if rule.redirects
            else None,
            (
                "Flows",
                {
                    "fields": ("grant_types",)
                    + (("token_endpoint_auth_method",) if rule.confidential else ())
                    + (("skip_authorization",) if rule.redirects else ())
                    + ("is_active",)
                    + (("management_scopes",) if policy.Grant.CLIENT_CREDENTIALS in rule.grants else ()),
                },
            ),
            (
                _("Keys"),
                {
                    "fields": (("token_endpoint_auth_signing_alg",) if rule.confidential else ())
                    + ("jwks", "jwks_uri"),
                    "description": _(
                        "The application's public keys: they verify its private_key_jwt assertions (RFC 7523) "
                        "and its signed request objects. Inline or at a JWKS URI, not both."
                    ),
                },
            ),
        )
        if fieldset is not None
    )
    for app_type, rule in policy.APP_TYPES.items()
}


#: Pushed authorization requests and signed request objects, for applications that redirect.
REQUEST_FIELDSET: Final = (
    _("Pushed and signed authorization requests"),
    {
        "fields": REQUEST_FIELDS,
        "description": _(
            "Pushed authorization requests (RFC 9126) keep the request out of the browser's URL; signed "
            "request objects (RFC 9101) prove it comes from the application, with its registered public keys."
        ),
    },
)


#: OIDC Back-Channel and Front-Channel Logout 1.0, for applications that sign users in.
LOGOUT_FIELDSET: Final = (
    _("Logout"),
    {
        "fields": LOGOUT_FIELDS,
        "description": _(
            "When a user's IdP session ends (they sign out here or at another application, an administrator "
            "ends it), the application is told: a signed logout token POSTed to its back-channel URI (retried "
            "until it answers; see Back-channel logout deliveries), and/or its front-channel URI loaded in an "
            "invisible iframe of the signed-out page."
        ),
    },
)


#: OIDC Core §8: public or pairwise subs, for applications that sign users in.
SUBJECT_FIELDSET: Final = (
    _("Subject identifiers"),
    {
        "fields": SUBJECT_FIELDS,
        "description": _(
            "Which sub the application sees for a user: the user's public id, or a pairwise one that only "
            "applications of the same sector see, so that applications cannot correlate users. Changing it (or, "
            "for pairwise, the sector) changes the sub the application sees for every user."
        ),
    },
)


@admin.register(Application)
class ApplicationAdmin(admin.ModelAdmin):
    form = ApplicationForm
    list_display = ("name", "client_id", "type_label", "grants", "is_active")
    list_display_links = ("name",)
    list_filter = ("application_type", ServerFilter, "is_active", OriginFilter)
    search_fields = ("name", "client_id")
    ordering = ("name",)
    actions = [actions.rotate_secret, actions.revoke_all_tokens, actions.deactivate, actions.activate]
    change_form_template = "admin/oidc_flows/application/change_form.html"
    view_on_site = False  # DOT's detail page is not part of this IdP
    choose_type_template = "admin/oidc_flows/application/choose_type.html"

    class Media:
        css = ADMIN_CSS
        js = ADMIN_JS

    # -- step 1 of "Add application": the type, with the flow guide ----------------------------------

    def add_view(self, request: HttpRequest, form_url: str = "", extra_context: dict | None = None) -> HttpResponse:
        if self._requested_type(request) is None:
            return self.choose_type_view(request)
        app_type = self._requested_type(request)
        rule = policy.APP_TYPES[app_type]
        extra_context = {
            **(extra_context or {}),
            "title": f"Add {rule.label.lower()}",
            "app_type": app_type,
            "app_type_rule": rule,
            "app_type_description": TYPE_DESCRIPTIONS[app_type],
        }
        return super().add_view(request, form_url, extra_context)

    def choose_type_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_add_permission(request):
            raise PermissionDenied
        guide = ApplicationTypeGuideForm(request.GET if "has_user" in request.GET else None)
        recommendation = guide.recommendation() if guide.is_bound else None
        # A popup ("+" beside a policy's applications) stays a popup on the type's form.
        keep = {k: request.GET[k] for k in (IS_POPUP_VAR, TO_FIELD_VAR) if k in request.GET}
        add_url = reverse("admin:oidc_flows_application_add") + "?" + urlencode(keep | {"application_type": ""})
        types = [
            {
                "value": app_type.value,
                "rule": rule,
                "description": TYPE_DESCRIPTIONS[app_type],
                "default_grants": sorted(rule.default_grants),
                "optional_grants": sorted(rule.optional_grants),
                "redirects": allowed_redirects(app_type),
                "url": add_url + app_type.value,
                "short": TYPE_SHORT_NAMES[app_type],
                "recommended": recommendation is not None and recommendation.app_type == app_type,
            }
            for app_type, rule in policy.APP_TYPES.items()
        ]
        context = {
            **self.admin_site.each_context(request),
            "title": "Add application: choose its type",
            "subtitle": None,
            "opts": self.model._meta,
            "types": types,
            "guide": guide,
            "recommendation": recommendation,
            "media": self.media,
        }
        return TemplateResponse(request, self.choose_type_template, context)

    @staticmethod
    def _requested_type(request: HttpRequest) -> policy.AppType | None:
        raw = request.GET.get("application_type", "")
        return policy.AppType(raw) if raw in policy.APP_TYPES else None

    def _app_type(self, request: HttpRequest, obj: Application | None) -> policy.AppType | None:
        if obj is not None:
            return policy.AppType(obj.application_type)
        return self._requested_type(request)

    # -- the form of one type --------------------------------------------------------------------------

    def get_fieldsets(self, request: HttpRequest, obj: Application | None = None) -> Any:
        app_type = self._app_type(request, obj)
        if app_type is None:
            return [(None, {"fields": ("name",)})]
        fieldsets = list(TYPE_FIELDSETS[app_type])
        fieldsets.append(DPOP_FIELDSET)
        if policy.APP_TYPES[app_type].redirects:
            fieldsets.append(REQUEST_FIELDSET)
            fieldsets.append(LOGOUT_FIELDSET)
            fieldsets.append(SUBJECT_FIELDSET)
        if obj is not None:
            fieldsets.insert(1, ("Credentials", {"fields": ("type_label", "origin", "secret_status")}))
            fieldsets.append(("Where it is used", {"fields": ("servers", "tokens")}))
        return fieldsets

    def get_readonly_fields(self, request: HttpRequest, obj: Application | None = None) -> tuple[str, ...]:
        fields = ("client_id", "type_label", "origin", "secret_status", "servers", "tokens") if obj else ()
        # Granting management API scopes gives the application powers over everything: superusers only,
        # or a staff user could grant an application more than their own permissions allow.
        return fields if request.user.is_superuser else (*fields, "management_scopes")

    def get_form(self, request: HttpRequest, obj: Application | None = None, change: bool = False, **kwargs: Any):
        app_type = self._app_type(request, obj)
        if app_type is not None:
            kwargs["form"] = ApplicationForm.for_type(app_type)
        return super().get_form(request, obj, change, **kwargs)

    @sensitive_variables("secret")
    def save_model(self, request: HttpRequest, obj: Application, form: Any, change: bool) -> None:
        secret = None
        if obj.rule.confidential and (not change or registration.needs_new_secret(obj)):
            # New, or switched to client_secret_jwt: the server must now keep the plaintext (sealed), and
            # the hash of the old secret cannot give it back, so a new secret is issued and shown once.
            secret = obj.client_secret = generate_client_secret()  # hashed by ClientSecretField on save
        registration.seal_client_secret(obj, secret)  # and cleared when the method is not client_secret_jwt
        super().save_model(request, obj, form, change)
        if secret:
            actions.show_secret_once(request, obj, secret, rotated=change)

    def response_add(self, request: HttpRequest, obj: Application, post_url_continue: str | None = None):
        if "_addanother" in request.POST or "_popup" in request.POST:
            response = super().response_add(request, obj, post_url_continue)
            if "_addanother" in request.POST:  # "add another" of the same type
                location = response["Location"]
                sep = "&" if "?" in location else "?"
                response["Location"] = f"{location}{sep}application_type={obj.application_type}"
            return response
        # The new application's own page: its client id, its endpoints, and (once) its secret.
        self.message_user(request, f"Added {obj.rule.label.lower()} “{obj.name}”.", messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:oidc_flows_application_change", args=[obj.pk]))

    # -- read-only facts on the change page -----------------------------------------------------------

    @admin.display(description="type", ordering="application_type")
    def type_label(self, obj: Application) -> str:
        return obj.rule.label

    @admin.display(description=_("origin"), ordering="registration_source")
    def origin(self, obj: Application) -> str:
        if obj.registration_source != Application.RegistrationSource.DCR:
            return _("Created by an administrator")
        how = _("Registered dynamically (RFC 7591) on %(date)s") % {"date": obj.created.strftime("%Y-%m-%d %H:%M")}
        token = obj.initial_access_token
        return f"{how}, " + (
            _("with the initial access token “%s”") % token if token else _("without an initial access token")
        )

    @admin.display(description="grant types")
    def grants(self, obj: Application) -> str:
        return ", ".join(sorted(obj.grant_type_set))

    @admin.display(description="client secret")
    def secret_status(self, obj: Application) -> str:
        if not obj.rule.confidential:
            return "None: a public client proves itself with PKCE, not with a secret."
        if obj.token_endpoint_auth_method == "client_secret_jwt":
            return _(
                "Stored hashed, and encrypted for client_secret_jwt (the server computes the assertions' HMAC "
                "with it); never shown again. “Rotate secret” issues a new one and shows it once."
            )
        return "Stored hashed; nobody can read it back. “Rotate secret” issues a new one and shows it once."

    @admin.display(description="authorization servers")
    def servers(self, obj: Application) -> str:
        policies = AccessPolicy.objects.filter(is_active=True).filter(Q(all_clients=True) | Q(clients=obj))
        rows = {}
        for access_policy in policies.select_related("server").distinct():
            rows.setdefault(access_policy.server, []).append(access_policy.name)
        org = AuthorizationServer.objects.filter(is_org=True).first()
        items = [(org, "org server: every application")] if org else []
        items += [(server, "policies: " + ", ".join(names)) for server, names in rows.items()]
        return format_html(
            "<ul class='oidc-plain'>{}</ul>",
            format_html_join(
                "",
                "<li><a href='{}'>{}</a> <code>{}</code>: {}{}</li>",
                (
                    (
                        reverse("admin:oidc_flows_authorizationserver_change", args=[s.pk]),
                        s.name,
                        s.issuer,
                        why,
                        security.profile_warning(s, obj),
                    )
                    for s, why in items
                ),
            ),
        )

    @admin.display(description="tokens")
    def tokens(self, obj: Application) -> str:
        return token_links("application", obj.pk, live_access_only=False)

    # -- single-object actions: buttons on the change page ------------------------------------------

    def get_urls(self) -> list[URLPattern]:
        wrap = self.admin_site.admin_view
        return [
            path("<int:pk>/rotate-secret/", wrap(self.rotate_secret_view), name="oidc_flows_application_rotate_secret"),
            path("<int:pk>/revoke-tokens/", wrap(self.revoke_tokens_view), name="oidc_flows_application_revoke_tokens"),
        ] + super().get_urls()

    def rotate_secret_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        client = self._change_permitted(request, pk)
        change_url = reverse("admin:oidc_flows_application_change", args=[client.pk])
        if not client.rule.confidential:
            self.message_user(request, "A public client has no secret to rotate.", messages.ERROR)
            return HttpResponseRedirect(change_url)
        if actions.confirmed(request):
            actions.show_secret_once(request, client, actions.rotate_client_secret(client, by=request), rotated=True)
            return HttpResponseRedirect(change_url)
        return actions.confirmation_page(
            self,
            request,
            [client],
            title="Rotate the client secret?",
            consequences="A new secret is generated and shown once on the next page. The current secret stops "
            "working at once: update the application's configuration right away.",
            button="Yes, rotate the secret",
            cancel_url=change_url,
        )

    def revoke_tokens_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        client = self._change_permitted(request, pk)
        change_url = reverse("admin:oidc_flows_application_change", args=[client.pk])
        if actions.confirmed(request):
            revoked = actions.revoke_client_tokens(Application.objects.filter(pk=client.pk), by=request)
            self.message_user(request, f"Revoked {revoked}.", messages.SUCCESS)
            return HttpResponseRedirect(change_url)
        return actions.confirmation_page(
            self,
            request,
            [client],
            title="Revoke all tokens of this application?",
            consequences="Every access and refresh token issued to it, on every server, is revoked with its "
            "refresh token family. Users stay signed in to the IdP.",
            button="Yes, revoke the tokens",
            cancel_url=change_url,
        )

    def _change_permitted(self, request: HttpRequest, pk: int) -> Application:
        client = get_object_or_404(Application, pk=pk)
        if not self.has_change_permission(request, client):
            raise PermissionDenied
        return client
