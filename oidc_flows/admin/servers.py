"""Authorization servers: one page per server with its endpoints, scopes, claims, policies and keys,
plus the token preview. Scopes and claims have their own lists (filtered per server), so a server
with fifty scopes stays one readable page."""

from __future__ import annotations

from typing import Any, Final
from urllib.parse import urlencode

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from .. import keys, policy, servers
from ..access import create_default_policy
from ..models import AccessPolicy, AuthorizationServer, Claim, Scope
from ..preview import preview
from ..settings import flows_settings
from . import actions, security
from .forms import ADMIN_CSS, ADMIN_JS, SERVER_REQUEST_FIELDS, TokenPreviewForm


#: Scope and claim names shown on the server's page; the rest are one click away.
PANEL_ITEMS = 12
ENDPOINTS = ("authorize", "par", "token", "keys", "userinfo", "introspect", "revoke")


#: Pushed authorization requests (RFC 9126) and signed request objects (RFC 9101) for every application.
SERVER_REQUEST_FIELDSET: Final = (
    _("Authorization requests"),
    {
        "fields": SERVER_REQUEST_FIELDS,
        "description": _(
            "Require every application to push its authorization requests to /par, or to sign them as "
            "request objects; each application can also be required to on its own page. The FAPI 2.0 "
            "profile requires pushed requests anyway."
        ),
    },
)


def system_scope_refusal(scope: Scope) -> str | None:
    """Why ``scope`` may not be deleted (an OpenID Connect scope every server keeps); None if it may."""
    if scope.is_system:
        return f"{scope.name} is an OpenID Connect scope: every server keeps it."
    return None


def server_filter_query(server: AuthorizationServer) -> str:
    return urlencode({"server__id__exact": server.pk})


class AccessPolicyInline(admin.TabularInline):
    model = AccessPolicy
    extra = 0
    fields = ("name", "priority", "all_clients", "is_active", "rules_summary")
    readonly_fields = ("rules_summary",)
    show_change_link = True  # rules are edited on the policy's own page
    verbose_name_plural = "access policies (first matching rule of the first matching policy decides)"

    @admin.display(description="rules, in order")
    def rules_summary(self, obj: AccessPolicy) -> str:
        if not obj.pk:
            return "Save, then add rules on the policy's page."
        rules = list(obj.rules.all())
        if not rules:
            return "No rules yet: this policy allows nothing."
        return format_html_join(
            "; ",
            "{}{} ({})",
            ((r.name, "" if r.is_active else " [inactive]", r.grant_types or "any grant") for r in rules),
        )


@admin.register(AuthorizationServer)
class AuthorizationServerAdmin(admin.ModelAdmin):
    form = security.SecuredServerForm
    list_display = ("name", "server_id", "issuer_link", "scope_count", "policy_count", "is_active")
    list_filter = ("is_active",)
    search_fields = ("name", "server_id", "audience")
    inlines = [AccessPolicyInline]
    actions = [actions.rotate_keys]
    change_form_template = "admin/oidc_flows/authorizationserver/change_form.html"
    preview_template = "admin/oidc_flows/token_preview.html"

    class Media:
        css = ADMIN_CSS
        js = ADMIN_JS

    def get_queryset(self, request: HttpRequest) -> QuerySet[AuthorizationServer]:
        return (
            super()
            .get_queryset(request)
            .annotate(_scopes=Count("scopes", distinct=True), _policies=Count("access_policies", distinct=True))
        )

    def get_fieldsets(self, request: HttpRequest, obj: AuthorizationServer | None = None) -> Any:
        if obj is None:
            return [
                (None, {"fields": ("server_id", "name", "description", "is_active")}),
                ("Tokens", {"fields": ("audience", "key_rotation_days", "default_policy")}),
                ("Security profile and signing", {"fields": security.FIELDS}),
            ]
        return [
            (None, {"fields": ("name", "server_id_display", "description", "is_active")}),
            ("Endpoints", {"fields": ("issuer", "discovery", "endpoints")}),
            ("Tokens", {"fields": ("audience", "key_rotation_days")}),
            ("Security profile and signing", {"fields": ("profile_state", *security.FIELDS)}),
            SERVER_REQUEST_FIELDSET,
        ]

    def get_readonly_fields(self, request: HttpRequest, obj: AuthorizationServer | None = None) -> tuple[str, ...]:
        return ("server_id_display", "issuer", "discovery", "endpoints", "profile_state") if obj else ()

    def get_inline_instances(self, request: HttpRequest, obj: AuthorizationServer | None = None) -> list:
        if obj is None or obj.is_org:
            return []  # the org server has no access policies; a new server gets them once saved
        return super().get_inline_instances(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: AuthorizationServer | None = None) -> bool:
        return super().has_delete_permission(request, obj) and not (obj is not None and obj.is_org)

    def save_model(self, request: HttpRequest, obj: AuthorizationServer, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        servers.ensure_system_scopes(obj)
        security.apply_signing_alg(request, obj, form.cleaned_data.get("signing_alg"), self.message_user)
        if not change and form.cleaned_data.get("default_policy"):
            create_default_policy(obj)

    def response_add(self, request: HttpRequest, obj: AuthorizationServer, post_url_continue: str | None = None):
        if "_addanother" in request.POST or "_popup" in request.POST:
            return super().response_add(request, obj, post_url_continue)
        self.message_user(
            request,
            f"Added {obj.name}: issuer {obj.issuer}, with the OpenID Connect scopes and a signing key.",
            messages.SUCCESS,
        )
        return HttpResponseRedirect(reverse("admin:oidc_flows_authorizationserver_change", args=[obj.pk]))

    # -- list columns and read-only facts -------------------------------------------------------------

    @admin.display(description="issuer")
    def issuer_link(self, obj: AuthorizationServer) -> str:
        return format_html("<code>{}</code>", obj.issuer)

    @admin.display(description="scopes", ordering="_scopes")
    def scope_count(self, obj: AuthorizationServer) -> str:
        url = reverse("admin:oidc_flows_scope_changelist") + "?" + server_filter_query(obj)
        return format_html("<a href='{}'>{}</a>", url, obj._scopes)

    @admin.display(description="access policies", ordering="_policies")
    def policy_count(self, obj: AuthorizationServer) -> str:
        if obj.is_org:
            return "none (fixed lifetimes)"
        url = reverse("admin:oidc_flows_accesspolicy_changelist") + "?" + server_filter_query(obj)
        return format_html("<a href='{}'>{}</a>", url, obj._policies)

    @admin.display(description="server id")
    def server_id_display(self, obj: AuthorizationServer) -> str:
        return format_html("<code>{}</code> (fixed: it is part of the issuer)", obj.server_id)

    @admin.display(description="discovery")
    def discovery(self, obj: AuthorizationServer) -> str:
        return format_html("<a href='{0}' target='_blank' rel='noopener'>{0}</a>", obj.discovery_url)

    @admin.display(description="in effect")
    def profile_state(self, obj: AuthorizationServer) -> str:
        return security.profile_state(obj)

    @admin.display(description="endpoints")
    def endpoints(self, obj: AuthorizationServer) -> str:
        return format_html(
            "<table class='oidc-endpoints'>{}</table>",
            format_html_join(
                "", "<tr><th>{}</th><td><code>{}</code></td></tr>", ((n, obj.endpoint_url(n)) for n in ENDPOINTS)
            ),
        )

    # -- the change page's panels: scopes, claims, keys ---------------------------------------------

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict | None = None
    ) -> HttpResponse:
        server = self.get_object(request, object_id)
        if server is not None:
            extra_context = {**(extra_context or {}), **self.panels(server)}
        return super().change_view(request, object_id, form_url, extra_context)

    def panels(self, server: AuthorizationServer) -> dict[str, Any]:
        """What the change page shows beside the form: counts, the first names, links to the full lists."""
        query = server_filter_query(server)
        scopes = Scope.objects.filter(server=server)
        claims = Claim.objects.filter(server=server)
        published = keys.published(server)
        return {
            "scopes": list(scopes.order_by("-is_system", "name")[:PANEL_ITEMS]),
            "scope_count": scopes.count(),
            "scope_more": max(scopes.count() - PANEL_ITEMS, 0),
            "scopes_url": f"{reverse('admin:oidc_flows_scope_changelist')}?{query}",
            "add_scope_url": f"{reverse('admin:oidc_flows_scope_add')}?server={server.pk}&"
            + urlencode({"_changelist_filters": query}),
            "claims": list(claims[:PANEL_ITEMS]),
            "claim_count": claims.count(),
            "claim_more": max(claims.count() - PANEL_ITEMS, 0),
            "claims_url": f"{reverse('admin:oidc_flows_claim_changelist')}?{query}",
            "add_claim_url": f"{reverse('admin:oidc_flows_claim_add')}?server={server.pk}&"
            + urlencode({"_changelist_filters": query}),
            "signing_keys": published,
            "retired_published_days": flows_settings().RETIRED_KEY_PUBLISH_SECONDS // 86400,
            "older_keys": server.signing_keys.count() - len(published),
            "keys_url": f"{reverse('admin:oidc_flows_signingkey_changelist')}?{query}",
            "preview_url": reverse("admin:oidc_flows_token_preview", args=[server.pk]),
            "rotate_key_url": reverse("admin:oidc_flows_authorizationserver_rotate_key", args=[server.pk]),
        }

    # -- extra pages: token preview, rotate key -------------------------------------------------------

    def get_urls(self) -> list[URLPattern]:
        wrap = self.admin_site.admin_view
        return [
            path("<int:pk>/preview/", wrap(self.token_preview_view), name="oidc_flows_token_preview"),
            path("<int:pk>/rotate-key/", wrap(self.rotate_key_view), name="oidc_flows_authorizationserver_rotate_key"),
        ] + super().get_urls()

    def _server(self, request: HttpRequest, pk: int, *, change: bool) -> AuthorizationServer:
        server = get_object_or_404(AuthorizationServer, pk=pk)
        allowed = self.has_change_permission(request, server) if change else self.has_view_permission(request, server)
        if not allowed:
            raise PermissionDenied
        return server

    def token_preview_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        """Okta's Token Preview: the claims a /token request would get and the rule deciding, nothing issued."""
        server = self._server(request, pk, change=False)
        form = TokenPreviewForm(request.POST or None, server=server)
        result = None
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            result = preview(server, data["client"], data["grant_type"], data["scopes"].split(), data.get("user"))
        context = {
            **self.admin_site.each_context(request),
            "title": f"Token preview: {server.name}",
            "subtitle": None,
            "server": server,
            "form": form,
            "result": result,
            "opts": self.model._meta,
            "media": self.media + form.media,
            "grant_help": {g.value: rule.flow for g, rule in policy.GRANTS.items()},
        }
        return TemplateResponse(request, self.preview_template, context)

    def rotate_key_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        server = self._server(request, pk, change=True)
        change_url = reverse("admin:oidc_flows_authorizationserver_change", args=[server.pk])
        if actions.confirmed(request):
            (key,) = actions.rotate_server_keys([server], by=request)
            self.message_user(request, f"{server.server_id}: now signing with {key.kid}.", messages.SUCCESS)
            return HttpResponseRedirect(change_url)
        return actions.confirmation_page(
            self,
            request,
            [server],
            title="Rotate the signing key?",
            consequences="The published next key starts signing; the active key retires but stays in the JWKS "
            f"for {flows_settings().RETIRED_KEY_PUBLISH_SECONDS // 86400} day(s), so tokens already issued keep "
            "verifying. A new next key is published.",
            button="Yes, rotate the key",
            cancel_url=change_url,
        )


class ServerChildAdmin(admin.ModelAdmin):
    """Scopes and claims: listed per server (the server page links here with the filter set)."""

    change_list_template = "admin/oidc_flows/server_child_change_list.html"

    class Media:
        css = ADMIN_CSS
        js = ADMIN_JS

    def get_changeform_initial_data(self, request: HttpRequest) -> dict[str, Any]:
        initial = super().get_changeform_initial_data(request)
        # "Add" from a filtered list: the server of the filter.
        filters = dict(p.split("=", 1) for p in request.GET.get("_changelist_filters", "").split("&") if "=" in p)
        if "server" not in initial and filters.get("server__id__exact"):
            initial["server"] = filters["server__id__exact"]
        return initial

    def get_list_display(self, request: HttpRequest) -> tuple[str, ...]:
        shown = tuple(super().get_list_display(request))
        # Filtered to one server (the server page's link): its name in every row says nothing.
        return tuple(f for f in shown if f != "server") if request.GET.get("server__id__exact") else shown

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        server_pk = request.GET.get("server__id__exact", "")
        server = AuthorizationServer.objects.filter(pk=server_pk).first() if server_pk.isdigit() else None
        extra_context = {**(extra_context or {}), "filtered_server": server}
        return super().changelist_view(request, extra_context)


@admin.register(Scope)
class ScopeAdmin(ServerChildAdmin):
    list_display = ("name", "server", "description", "consent_required", "is_default", "include_in_metadata", "system")
    list_editable = ("description", "consent_required", "is_default", "include_in_metadata")
    list_filter = ("server", "is_default", "consent_required", "is_system")
    search_fields = ("name", "description")
    list_per_page = 50
    fieldsets = (
        (None, {"fields": ("server", "name", "description")}),
        ("How it is granted", {"fields": ("consent_required", "is_default", "include_in_metadata")}),
    )

    def get_readonly_fields(self, request: HttpRequest, obj: Scope | None = None) -> tuple[str, ...]:
        if obj is None:
            return ()
        return ("server", "name") if obj.is_system else ("server",)

    def formfield_for_dbfield(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        field = super().formfield_for_dbfield(db_field, request, **kwargs)
        helps = {
            "name": "The value clients put in the scope parameter, e.g. payments:read. No spaces or quotes.",
            "consent_required": "Users approve it on the consent page (unless the application skips consent).",
            "include_in_metadata": "Listed in scopes_supported of the discovery document.",
        }
        if field is not None and db_field.name in helps:
            field.help_text = helps[db_field.name]
        return field

    @admin.display(description="system", boolean=True, ordering="is_system")
    def system(self, obj: Scope) -> bool:
        return obj.is_system

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict | None = None):
        scope = self.get_object(request, object_id)
        if scope is not None and scope.is_system:
            extra_context = {**(extra_context or {}), "show_delete": False}
        return super().change_view(request, object_id, form_url, extra_context)

    def delete_view(self, request: HttpRequest, object_id: str, extra_context: dict | None = None) -> HttpResponse:
        scope = self.get_object(request, object_id)
        if scope is not None and (why := system_scope_refusal(scope)):
            self.message_user(request, why, messages.ERROR)
            return HttpResponseRedirect(reverse("admin:oidc_flows_scope_change", args=[scope.pk]))
        return super().delete_view(request, object_id, extra_context)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Scope]) -> None:
        if kept := list(queryset.filter(is_system=True).values_list("name", flat=True)):
            self.message_user(request, f"Kept the OpenID Connect scopes: {', '.join(sorted(kept))}.", messages.WARNING)
        queryset.filter(is_system=False).delete()


@admin.register(Claim)
class ClaimAdmin(ServerChildAdmin):
    list_display = ("name", "server", "value_type", "value", "in_access_token", "in_id_token", "scopes", "is_active")
    list_filter = ("server", "value_type", "in_access_token", "in_id_token", "is_active")
    search_fields = ("name", "value")
    list_per_page = 50
    radio_fields = {"value_type": admin.HORIZONTAL}
    fieldsets = (
        (None, {"fields": ("server", "name", "is_active")}),
        ("Value", {"fields": ("value_type", "value", "group_filter")}),
        ("Where", {"fields": ("in_access_token", "in_id_token", "scopes")}),
    )

    def get_readonly_fields(self, request: HttpRequest, obj: Claim | None = None) -> tuple[str, ...]:
        return ("server",) if obj else ()
