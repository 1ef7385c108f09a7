"""Access policies and their rules (admin-configured; ``policy.py`` is the fixed protocol table).

A policy belongs to one custom server and is assigned to all applications or to listed ones; its
rules, in priority order, say which requests get tokens and how long they live.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.admin.widgets import FilteredSelectMultiple
from django.db.models import Count, QuerySet
from django.http import HttpRequest

from ..models import AccessPolicy, AuthorizationServer, PolicyRule
from .forms import ADMIN_CSS, ADMIN_JS, PolicyRuleForm


class PolicyRuleInline(admin.StackedInline):
    model = PolicyRule
    form = PolicyRuleForm
    extra = 0
    autocomplete_fields = ("users", "groups")  # scales to many users, unlike a select box
    fieldsets = (
        (None, {"fields": ("name", "priority", "is_active")}),
        ("If the request…", {"fields": ("grant_types", "users", "groups", "scopes")}),
        (
            "…then issue tokens that live",
            {"fields": ("access_token_seconds", "refresh_token_seconds", "refresh_token_idle_seconds")},
        ),
    )
    verbose_name = "rule"
    verbose_name_plural = "rules (in priority order; the first that matches decides)"


@admin.register(AccessPolicy)
class AccessPolicyAdmin(admin.ModelAdmin):
    list_display = ("name", "server", "priority", "assigned_to", "rule_count", "is_active")
    list_filter = ("server", "is_active", "all_clients")
    search_fields = ("name", "description", "server__server_id")
    filter_horizontal = ("clients",)
    inlines = [PolicyRuleInline]
    fieldsets = (
        (None, {"fields": ("server", "name", "description", "priority", "is_active")}),
        (
            "Assigned to",
            {
                "fields": ("all_clients", "clients"),
                "description": "A policy counts for an application only if it is assigned to it.",
            },
        ),
    )

    class Media:
        css = ADMIN_CSS
        js = ADMIN_JS

    def get_queryset(self, request: HttpRequest) -> QuerySet[AccessPolicy]:
        return (
            super()
            .get_queryset(request)
            .select_related("server")
            .annotate(_rules=Count("rules", distinct=True), _clients=Count("clients", distinct=True))
        )

    def get_readonly_fields(self, request: HttpRequest, obj: AccessPolicy | None = None) -> tuple[str, ...]:
        return ("server",) if obj else ()

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "server":
            # The org server has no policies: fixed lifetimes, tokens for the IdP's own APIs.
            kwargs["queryset"] = AuthorizationServer.objects.filter(is_org=False)
            kwargs["help_text"] = "The custom authorization server whose token requests this policy decides."
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "clients":
            kwargs["widget"] = FilteredSelectMultiple("applications", is_stacked=False)
        field = super().formfield_for_manytomany(db_field, request, **kwargs)
        if db_field.name == "clients":
            field.label_from_instance = lambda app: f"{app.name} · {app.application_type} · {app.client_id[:12]}"
            field.help_text = "Ignored while “all clients” is ticked."
        return field

    @admin.display(description="assigned to")
    def assigned_to(self, obj: AccessPolicy) -> str:
        return "all applications" if obj.all_clients else f"{obj._clients} application(s)"

    @admin.display(description="rules", ordering="_rules")
    def rule_count(self, obj: AccessPolicy) -> str:
        return str(obj._rules) if obj._rules else "none: allows nothing"
