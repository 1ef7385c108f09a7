"""Initial access tokens for dynamic client registration (RFC 7591 §3): issue (shown once) and revoke.

The same library calls as ``manage.py oidc_issue_registration_token``: ``InitialAccessToken.issue``
and ``revoke``.
"""

from __future__ import annotations

import secrets

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _
from django.views.decorators.debug import sensitive_variables

from .. import dcr, systemlog
from ..models import InitialAccessToken
from ..models.registration import hash_token
from . import actions


@admin.register(InitialAccessToken)
class InitialAccessTokenAdmin(admin.ModelAdmin):
    list_display = ("name", "prefix", "status", "uses", "max_uses", "expires", "created_by", "created")
    list_filter = ("revoked",)
    search_fields = ("name", "prefix")
    actions = ["revoke"]
    readonly_fields = ("prefix", "status", "uses", "created_by", "created", "revoked", "registered")

    def get_fields(self, request: HttpRequest, obj: InitialAccessToken | None = None) -> tuple[str, ...]:
        if obj is None:
            return ("name", "expires", "max_uses")
        return (
            "name",
            "prefix",
            "status",
            "expires",
            "max_uses",
            "uses",
            "created_by",
            "created",
            "revoked",
            "registered",
        )

    @sensitive_variables("value")
    def save_model(self, request: HttpRequest, obj: InitialAccessToken, form, change: bool) -> None:
        value = None
        if not change:
            # As InitialAccessToken.issue: the prefix finds the row, only a keyed hash of the token is kept.
            obj.prefix = secrets.token_hex(6)
            value = f"{obj.prefix}.{secrets.token_urlsafe(32)}"
            obj.token_hash = hash_token(value)
            obj.created_by = request.user
        super().save_model(request, obj, form, change)
        if value:
            messages.warning(
                request,
                format_html(
                    'Initial access token “{}”: <code class="oidc-secret" id="initial-access-token">{}</code> '
                    "Copy it now: it is stored hashed and cannot be shown again. Clients send it as "
                    "<code>Authorization: Bearer …</code> to <code>POST {}</code>.",
                    obj.name,
                    value,
                    dcr.endpoint_url(),
                ),
                extra_tags="oidc-secret-message",
            )

    @admin.display(description=_("status"))
    def status(self, obj: InitialAccessToken) -> str:
        return obj.status

    @admin.display(description=_("applications it registered"))
    def registered(self, obj: InitialAccessToken) -> str:
        apps = obj.applications.order_by("name")
        if not apps:
            return "—"
        return format_html(
            "<ul class='oidc-plain'>{}</ul>",
            format_html_join(
                "",
                "<li><a href='{}'>{}</a> <code>{}</code></li>",
                ((reverse("admin:oidc_flows_application_change", args=[a.pk]), a.name, a.client_id) for a in apps),
            ),
        )

    @admin.action(description=_("Revoke (clients it registered keep working)"), permissions=["change"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[InitialAccessToken]) -> None:
        for token in queryset:
            token.revoke()
            actions.logged(request, systemlog.REGISTRATION_TOKEN_REVOKE, token)
        self.message_user(request, f"Revoked {queryset.count()} initial access token(s).", messages.SUCCESS)
