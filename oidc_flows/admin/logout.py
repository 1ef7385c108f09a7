"""Back-channel logout deliveries (oidc_flows.applogout): read-only, with "retry now"."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from .. import applogout
from ..models import LogoutDelivery
from .forms import ADMIN_CSS, ADMIN_JS


class StatusFilter(admin.SimpleListFilter):
    title = _("status")
    parameter_name = "status"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, Any]]:
        return [
            ("pending", _("not delivered yet")),
            ("failed", _("failed (no more retries)")),
            ("delivered", _("delivered")),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() == "pending":
            return queryset.filter(delivered_at__isnull=True, next_attempt__isnull=False)
        if self.value() == "failed":
            return queryset.filter(delivered_at__isnull=True, next_attempt__isnull=True)
        if self.value() == "delivered":
            return queryset.filter(delivered_at__isnull=False)
        return queryset


@admin.action(description=_("Retry the selected deliveries now"), permissions=["retry"])
def retry_now(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet) -> None:
    count = applogout.retry_now(queryset)
    modeladmin.message_user(
        request, _("%(count)s delivery(ies) will be sent again now.") % {"count": count}, messages.SUCCESS
    )


@admin.register(LogoutDelivery)
class LogoutDeliveryAdmin(admin.ModelAdmin):
    """Logout tokens owed to applications when sessions ended: what was delivered, what is retried, and why."""

    list_display = (
        "created",
        "application",
        "server",
        "status_label",
        "attempts",
        "last_error",
        "next_attempt",
        "delivered_at",
    )
    list_filter = (StatusFilter, "server", ("application", admin.RelatedOnlyFieldListFilter))
    search_fields = ("sid", "sub", "application__name", "application__client_id")
    list_select_related = ("application", "server")
    fields = (
        "application",
        "server",
        "sid",
        "sub",
        "created",
        "status_label",
        "attempts",
        "next_attempt",
        "last_error",
        "delivered_at",
    )
    readonly_fields = fields
    actions = [retry_now]

    class Media:
        css = ADMIN_CSS
        js = ADMIN_JS

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_retry_permission(self, request: HttpRequest) -> bool:
        return super().has_change_permission(request)

    @admin.display(description=_("status"))
    def status_label(self, obj: LogoutDelivery) -> str:
        return {
            "delivered": _("delivered"),
            "failed": _("failed: no more retries"),
            "retrying": _("retrying"),
            "pending": _("sending"),
        }[obj.status]
