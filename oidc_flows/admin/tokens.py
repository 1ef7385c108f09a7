"""Access and refresh tokens: find them by user, application or server, and revoke them.

Token values are never shown: they are stored as SHA-256 checksums only (DOT's
COMPLIANT_BCP_RFC9700_TOKEN_STORAGE), and the checksum is not displayed either. JWT access
tokens show their ``jti``, which is what an API logs.
"""

from __future__ import annotations

from datetime import timedelta

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from ..models import AccessToken, Grant, IDToken, RefreshToken
from . import actions
from .forms import ADMIN_CSS, ADMIN_JS


for model in (AccessToken, RefreshToken, IDToken, Grant):
    if admin.site.is_registered(model):
        admin.site.unregister(model)  # DOT's admins show (masked) token values and allow editing them


def token_links(field: str, pk: int, *, live_access_only: bool) -> str:
    """Links to the access and refresh tokens of one application or user (``field``), with their counts."""
    access = AccessToken.objects.filter(**{field: pk})
    if live_access_only:
        access = access.filter(expires__gt=timezone.now())
    refresh = RefreshToken.objects.filter(**{field: pk}, revoked__isnull=True).count()
    live = "&amp;status=live" if live_access_only else ""
    return format_html(
        "<a href='{}?{}__id__exact={}" + live + "'>{} {}access token(s)</a> · "
        "<a href='{}?{}__id__exact={}&amp;status=live'>{} live refresh token(s)</a>",
        reverse("admin:oidc_flows_accesstoken_changelist"),
        field,
        pk,
        access.count(),
        "live " if live_access_only else "",
        reverse("admin:oidc_flows_refreshtoken_changelist"),
        field,
        pk,
        refresh,
    )


class AccessTokenStatusFilter(admin.SimpleListFilter):
    title = "status"
    parameter_name = "status"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [("live", "live"), ("expired", "expired")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        now = timezone.now()
        if self.value() == "live":
            return queryset.filter(expires__gt=now)
        if self.value() == "expired":
            return queryset.filter(expires__lte=now)
        return queryset


class RefreshTokenStatusFilter(admin.SimpleListFilter):
    title = "status"
    parameter_name = "status"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [("live", "live"), ("revoked", "revoked")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() == "live":
            return queryset.filter(revoked__isnull=True)
        if self.value() == "revoked":
            return queryset.filter(revoked__isnull=False)
        return queryset


class TokenAdmin(admin.ModelAdmin):
    """Read-only lists with a "revoke" action; no add, no edit, no token value."""

    list_select_related = ("user", "application", "server")
    search_fields = ("user__username", "user__email", "application__client_id", "application__name")
    date_hierarchy = "created"
    list_per_page = 50
    actions = [actions.revoke_selected_tokens]

    class Media:
        css = ADMIN_CSS
        js = ADMIN_JS

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def get_actions(self, request: HttpRequest) -> dict:
        found = super().get_actions(request)
        found.pop("delete_selected", None)  # "revoke" is the one way out, so families go along
        return found

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict | None = None):
        return super().change_view(request, object_id, form_url, {**(extra_context or {}), "show_delete": False})


@admin.register(AccessToken)
class AccessTokenAdmin(TokenAdmin):
    list_display = ("id", "user", "application", "server", "scope", "jti", "created", "expires", "live")
    list_filter = (AccessTokenStatusFilter, "server", ("application", admin.RelatedOnlyFieldListFilter))
    search_fields = TokenAdmin.search_fields + ("=jti",)
    fields = ("id", "user", "application", "server", "scope", "jti", "created", "expires", "live")
    readonly_fields = fields

    @admin.display(description="live", boolean=True)
    def live(self, obj: AccessToken) -> bool:
        return obj.expires is not None and obj.expires > timezone.now()


@admin.register(RefreshToken)
class RefreshTokenAdmin(TokenAdmin):
    list_display = ("id", "user", "application", "server", "family", "created", "revoked", "expires", "live")
    list_filter = (RefreshTokenStatusFilter, "server", ("application", admin.RelatedOnlyFieldListFilter))
    fields = ("id", "user", "application", "server", "family", "created", "revoked", "expires", "live")
    readonly_fields = fields

    @admin.display(description="family")
    def family(self, obj: RefreshToken) -> str:
        return str(obj.token_family)[:8] if obj.token_family else "—"

    @admin.display(description="expires")
    def expires(self, obj: RefreshToken) -> object:
        """The earlier of the family's deadline and the idle expiry (access policy rule); None: never."""
        deadlines = [obj.family_expires] if obj.family_expires else []
        if obj.idle_seconds is not None:
            deadlines.append(obj.created + timedelta(seconds=obj.idle_seconds))
        return min(deadlines, default=None) or "never"

    @admin.display(description="live", boolean=True)
    def live(self, obj: RefreshToken) -> bool:
        deadline = self.expires(obj)
        return obj.revoked is None and (deadline == "never" or deadline > timezone.now())
