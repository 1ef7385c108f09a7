"""Device authorizations (RFC 8628), read-only: which device asked, who answered, and how it stands.

The device_code is a credential and is stored as its SHA-256 only; the admin shows neither. An
administrator may delete a request, which the device then hears as ``invalid_grant``.
"""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from ..models import DeviceAuthorization
from .forms import ADMIN_CSS, ADMIN_JS


@admin.register(DeviceAuthorization)
class DeviceAuthorizationAdmin(admin.ModelAdmin):
    list_display = ("__str__", "application", "server", "user", "status", "created", "expires")
    list_filter = ("status", "server")
    search_fields = ("user_code", "application__name", "application__client_id", "user__username")
    list_select_related = ("application", "server", "user")
    fields = (
        "user_code",
        "application",
        "server",
        "scope",
        "status",
        "user",
        "decided",
        "auth_time",
        "amr",
        "acr",
        "interval",
        "last_poll",
        "created",
        "expires",
    )
    readonly_fields = fields

    class Media:
        css = ADMIN_CSS
        js = ADMIN_JS

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: DeviceAuthorization | None = None) -> bool:
        return False
