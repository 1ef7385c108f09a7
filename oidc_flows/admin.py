"""Django admin for servers, applications and keys (the full admin experience lands with issue 5)."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.http import HttpRequest
from oauth2_provider.generators import generate_client_secret

from . import policy
from .models import Application, AuthorizationServer, Consent, Scope, SigningKey, UserProfile


for model in (Application,):
    if admin.site.is_registered(model):
        admin.site.unregister(model)  # DOT registers its own admin for the swapped model


class ScopeInline(admin.TabularInline):
    model = Scope
    extra = 0
    fields = ("name", "description", "consent_required", "is_default", "include_in_metadata", "is_system")
    readonly_fields = ("is_system",)


class SigningKeyInline(admin.TabularInline):
    model = SigningKey
    extra = 0
    fields = ("kid", "alg", "status", "created", "activated_at", "retired_at")
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(AuthorizationServer)
class AuthorizationServerAdmin(admin.ModelAdmin):
    list_display = ("name", "server_id", "issuer", "audience", "is_active")
    search_fields = ("name", "server_id")
    inlines = [ScopeInline, SigningKeyInline]

    def get_readonly_fields(self, request: HttpRequest, obj=None) -> tuple[str, ...]:
        return ("server_id", "issuer") if obj else ("issuer",)

    def save_model(self, request: HttpRequest, obj: AuthorizationServer, form, change: bool) -> None:
        from . import keys, servers

        super().save_model(request, obj, form, change)
        servers.ensure_system_scopes(obj)
        keys.ensure_signing_key(obj)


ApplicationFields = (
    "name",
    "application_type",
    "client_id",
    "grant_types",
    "redirect_uris",
    "post_logout_redirect_uris",
    "allowed_origins",
    "token_endpoint_auth_method",
    "skip_authorization",
    "is_active",
)


class ApplicationForm(forms.ModelForm):
    """Grant choices come from the protocol table; the model's clean() applies its rules per type."""

    grant_types = forms.MultipleChoiceField(
        choices=[(g.value, g.value) for g in policy.Grant],
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text="Leave empty for the type's defaults. Implicit and password are for legacy clients only.",
    )

    class Meta:
        model = Application
        fields = ApplicationFields

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial["grant_types"] = sorted(self.instance.grant_type_set)

    def clean_grant_types(self) -> str:
        return " ".join(sorted(self.cleaned_data["grant_types"]))


@admin.register(Application)
class ApplicationAdmin(admin.ModelAdmin):
    form = ApplicationForm
    list_display = ("name", "client_id", "application_type", "grant_types", "is_active")
    list_filter = ("application_type", "is_active")
    search_fields = ("name", "client_id")
    fields = ApplicationFields

    def get_readonly_fields(self, request: HttpRequest, obj=None) -> tuple[str, ...]:
        return ("client_id", "application_type") if obj else ()

    def save_model(self, request: HttpRequest, obj: Application, form, change: bool) -> None:
        secret = None
        if not change and obj.rule.confidential:
            secret = obj.client_secret = generate_client_secret()
        super().save_model(request, obj, form, change)
        if secret:
            # Shown once: only its hash is stored.
            messages.warning(
                request, f"Client secret of {obj.client_id} (copy it now, it is not shown again): {secret}"
            )


admin.site.register(Consent)
admin.site.register(UserProfile)
