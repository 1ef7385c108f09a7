"""Signing keys, read-only: kid, algorithm, status and the public JWK. Private keys are never shown.

Keys are made and rotated by ``keys.rotate`` (the server page's "Rotate signing key", the
changelist action, ``manage.py oidc_rotate_keys``); nothing here edits or deletes one.
"""

from __future__ import annotations

import json

from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from .. import keys
from ..models import SigningKey
from .forms import ADMIN_CSS, ADMIN_JS


@admin.register(SigningKey)
class SigningKeyAdmin(admin.ModelAdmin):
    list_display = ("kid", "server", "alg", "status", "published", "created", "activated_at", "retired_at")
    list_filter = ("server", "status", "alg")
    search_fields = ("kid", "server__server_id")
    fields = ("kid", "server", "alg", "status", "published", "created", "activated_at", "retired_at", "public_key")
    readonly_fields = fields
    actions = None

    class Media:
        css = ADMIN_CSS
        js = ADMIN_JS

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: SigningKey | None = None) -> bool:
        return False

    # Deleting a server deletes its keys, so the delete permission stays; a key alone is never deleted here.
    def delete_view(self, request: HttpRequest, object_id: str, extra_context: dict | None = None) -> HttpResponse:
        self.message_user(request, "Signing keys are retired by rotation, never deleted.", messages.ERROR)
        return HttpResponseRedirect(reverse("admin:oidc_flows_signingkey_changelist"))

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict | None = None):
        return super().change_view(request, object_id, form_url, {**(extra_context or {}), "show_delete": False})

    @admin.display(description="in the JWKS", boolean=True)
    def published(self, obj: SigningKey) -> bool:
        return obj in keys.published(obj.server, now=timezone.now())

    @admin.display(description="public key (JWK)")
    def public_key(self, obj: SigningKey) -> str:
        return format_html("<pre class='oidc-json'>{}</pre>", json.dumps(obj.public_jwk, indent=2, sort_keys=True))
