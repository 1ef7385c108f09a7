"""Admin for the sign-in: sign-on, enrollment and password policies, trusted origins, factors and the sign-in log.

Policies are data edited here and evaluated in ``policies`` only; the sign-in log and the factors are
read-only (a user's factors are reset from the user's page). No form or list shows a secret: factors
show their type and dates, never their sealed secret, public profile or recovery code hashes.
"""

from __future__ import annotations

import ipaddress
from typing import Any
from urllib.parse import urlsplit

from django import forms
from django.contrib import admin
from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.db.models import Count, QuerySet
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from ..admin.forms import ADMIN_CSS, ADMIN_JS
from ..redirects import LOOPBACK_HOSTS
from . import origins
from .models import (
    AuthEvent,
    EnrollmentPolicy,
    Factor,
    FactorType,
    PasswordPolicy,
    SignOnPolicy,
    SignOnRule,
    TrustedOrigin,
)


DEFAULT_PORTS = {"http": 80, "https": 443}


class ReadOnlyAdmin(admin.ModelAdmin):
    """Viewable, never added, changed or deleted from the admin."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class PolicyAdmin(admin.ModelAdmin):
    """The parts the three policy kinds share: order, assignment to groups, activation."""

    list_display = ("name", "priority", "assigned_to", "is_active")
    list_filter = ("is_active",)
    search_fields = ("name", "description")
    autocomplete_fields = ("groups",)
    base_fieldsets: tuple = (
        (None, {"fields": ("name", "description", "priority", "is_active")}),
        (
            _("Assigned to"),
            {
                "fields": ("groups",),
                "description": _("The first active policy, by priority, assigned to one of the user's groups decides."),
            },
        ),
    )

    class Media:
        css = ADMIN_CSS
        js = ADMIN_JS

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).prefetch_related("groups")

    @admin.display(description=_("assigned to"))
    def assigned_to(self, obj: Any) -> str:
        names = sorted(group.name for group in obj.groups.all())
        return ", ".join(names) or gettext("everyone")


# -- sign-on policies -------------------------------------------------------------------------------


def factor_type_choices() -> list[tuple[str, str]]:
    return [(value, f"{label} ({value})") for value, label in FactorType.choices]


class SignOnRuleForm(forms.ModelForm):
    """A sign-on rule; the factor types are ticked and stored as the space-separated wire values."""

    factor_types = forms.MultipleChoiceField(
        label=_("Factor types that satisfy it"),
        choices=factor_type_choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text=_("The second factor must be one of these; none ticked: any factor."),
    )

    class Meta:
        model = SignOnRule
        fields = (
            "name",
            "priority",
            "is_active",
            "groups",
            "applications",
            "servers",
            "access",
            "primary",
            "mfa",
            "mfa_frequency",
            "factor_types",
            "session_lifetime_minutes",
            "session_idle_minutes",
        )
        help_texts = {
            "groups": _("The rule applies to members of these groups; empty: to everyone."),
            "applications": _("…signing in to one of these applications; empty: to any (and to the IdP itself)."),
            "servers": _("…through one of these authorization servers; empty: through any."),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.initial["factor_types"] = (self.instance.factor_types or "").split()

    def clean_factor_types(self) -> str:
        chosen = set(self.cleaned_data["factor_types"])
        known = {value for value, _label in FactorType.choices}
        if unknown := sorted(chosen - known):
            raise ValidationError(_("Unknown factor types: %(types)s."), params={"types": ", ".join(unknown)})
        return " ".join(value for value, _label in FactorType.choices if value in chosen)  # FactorType order

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        lifetime, idle = data.get("session_lifetime_minutes"), data.get("session_idle_minutes")
        if lifetime and idle and idle > lifetime:
            self.add_error("session_idle_minutes", _("The idle timeout cannot be longer than the session lifetime."))
        return data


class SignOnRuleInline(admin.StackedInline):
    model = SignOnRule
    form = SignOnRuleForm
    extra = 0
    autocomplete_fields = ("groups", "applications", "servers")
    fieldsets = (
        (None, {"fields": ("name", "priority", "is_active")}),
        (_("If the sign-in is by…"), {"fields": ("groups", "applications", "servers")}),
        (_("…then"), {"fields": ("access", "primary", "mfa", "mfa_frequency", "factor_types")}),
        (_("…and the session lasts"), {"fields": ("session_lifetime_minutes", "session_idle_minutes")}),
    )
    verbose_name = _("rule")
    verbose_name_plural = _("rules (in priority order; the first that matches decides)")


@admin.register(SignOnPolicy)
class SignOnPolicyAdmin(PolicyAdmin):
    list_display = ("name", "priority", "assigned_to", "rule_count", "is_active")
    fieldsets = PolicyAdmin.base_fieldsets
    inlines = [SignOnRuleInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[SignOnPolicy]:
        return super().get_queryset(request).annotate(_rules=Count("rules", distinct=True))

    @admin.display(description=_("rules"), ordering="_rules")
    def rule_count(self, obj: SignOnPolicy) -> str:
        return str(obj._rules) if obj._rules else gettext("none: nobody it applies to can sign in")


# -- enrollment and password policies ---------------------------------------------------------------

ENROLLMENT_FIELDS = ("totp", "webauthn", "email", "recovery_code")


@admin.register(EnrollmentPolicy)
class EnrollmentPolicyAdmin(PolicyAdmin):
    list_display = ("name", "priority", "assigned_to", *ENROLLMENT_FIELDS, "is_active")
    radio_fields = dict.fromkeys(ENROLLMENT_FIELDS, admin.HORIZONTAL)
    fieldsets = (
        *PolicyAdmin.base_fieldsets,
        (
            _("Factors"),
            {
                "fields": ENROLLMENT_FIELDS,
                "description": _(
                    "Required: users without one enroll it at their next sign-in. Optional: offered, may be "
                    "skipped. Disabled: cannot be enrolled."
                ),
            },
        ),
    )


class PasswordPolicyForm(forms.ModelForm):
    class Meta:
        model = PasswordPolicy
        fields = (
            *("name", "description", "priority", "is_active", "groups"),
            *("max_failures", "lockout_minutes", "show_lockout_status", "max_age_days", "warn_days"),
            *("email_recovery", "self_unlock", "recovery_token_minutes"),
        )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        max_age, warn = data.get("max_age_days"), data.get("warn_days")
        if warn and not max_age:
            self.add_error("warn_days", _("Passwords that never expire need no warning: set an expiry, or 0 here."))
        elif warn and max_age and warn >= max_age:
            self.add_error("warn_days", _("The warning must start before the password expires."))
        return data


@admin.register(PasswordPolicy)
class PasswordPolicyAdmin(PolicyAdmin):
    form = PasswordPolicyForm
    list_display = ("name", "priority", "assigned_to", "lockout_summary", "max_age_days", "is_active")
    readonly_fields = ("password_rules",)
    fieldsets = (
        *PolicyAdmin.base_fieldsets,
        (_("Lockout"), {"fields": ("max_failures", "lockout_minutes", "show_lockout_status")}),
        (_("Expiry"), {"fields": ("max_age_days", "warn_days")}),
        (_("Self-service recovery"), {"fields": ("email_recovery", "self_unlock", "recovery_token_minutes")}),
        (_("Password rules"), {"fields": ("password_rules",)}),
    )

    @admin.display(description=_("lockout"))
    def lockout_summary(self, obj: PasswordPolicy) -> str:
        if not obj.max_failures:
            return gettext("never")
        return gettext("after %(failures)d, for %(minutes)d min") % {
            "failures": obj.max_failures,
            "minutes": obj.lockout_minutes,
        }

    @admin.display(description=_("new passwords must"))
    def password_rules(self, obj: PasswordPolicy | None) -> str:
        texts = password_validation.password_validators_help_texts()
        if not texts:
            return gettext("Anything goes: AUTH_PASSWORD_VALIDATORS is empty.")
        rules = format_html_join("", "<li>{}</li>", ((text,) for text in texts))
        return format_html(
            "<ul class='oidc-plain'>{}</ul><p class='help'>{}</p>",
            rules,
            gettext("Django's password validators (AUTH_PASSWORD_VALIDATORS, in the settings), for every user."),
        )


# -- trusted origins --------------------------------------------------------------------------------


def normalise_origin(raw: str) -> str:
    """``scheme://host[:port]`` in lower case, without a default port: what a browser sends as ``Origin``.

    https, or http on a loopback host; no path, query, fragment or user info.
    """
    value = raw.strip()
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        raise ValidationError(_("%(value)s is not an origin (bad port or address).") % {"value": value}) from None
    scheme, host = parts.scheme.lower(), (parts.hostname or "")
    if scheme not in DEFAULT_PORTS or not host or "://" not in value:
        raise ValidationError(_("Write scheme://host[:port], e.g. https://app.example.com."))
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise ValidationError(_("An origin has no user name or password."))
    if parts.path not in ("", "/") or parts.query or parts.fragment or "?" in value or "#" in value:
        raise ValidationError(_("An origin has no path, query or fragment: only scheme://host[:port]."))
    if scheme == "http" and host not in LOOPBACK_HOSTS:
        raise ValidationError(_("Use https (plain http only for localhost, 127.0.0.1 or [::1])."))
    try:
        host = f"[{ipaddress.IPv6Address(host).compressed}]"
    except ValueError:
        try:
            host = host.encode("idna").decode("ascii")  # browsers send internationalised names as punycode
        except UnicodeError:
            raise ValidationError(_("%(host)s is not a valid host name.") % {"host": host}) from None
    return f"{scheme}://{host}" + (f":{port}" if port is not None and port != DEFAULT_PORTS[scheme] else "")


class TrustedOriginForm(forms.ModelForm):
    class Meta:
        model = TrustedOrigin
        fields = ("name", "origin", "cors", "redirect", "is_active")

    def clean_origin(self) -> str:
        return normalise_origin(self.cleaned_data.get("origin", ""))


@admin.register(TrustedOrigin)
class TrustedOriginAdmin(admin.ModelAdmin):
    """Pages allowed to call /api/v1/authn from a browser (CORS) or to be redirected to after a sign-in."""

    form = TrustedOriginForm
    list_display = ("origin", "name", "cors", "redirect", "is_active")
    list_filter = ("cors", "redirect", "is_active")
    search_fields = ("origin", "name")

    # Saving or deleting an origin stamps the change (authn.config), so every node uses it at its next request.
    def save_model(self, request: HttpRequest, obj: TrustedOrigin, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        origins.forget()

    def delete_model(self, request: HttpRequest, obj: TrustedOrigin) -> None:
        super().delete_model(request, obj)
        origins.forget()

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[TrustedOrigin]) -> None:
        super().delete_queryset(request, queryset)
        origins.forget()


# -- read-only: factors and the sign-in log ---------------------------------------------------------


@admin.register(Factor)
class FactorAdmin(ReadOnlyAdmin):
    """Enrolled factors of every user; a user's page has "Reset factors"."""

    list_display = ("user", "factor_type", "name", "status", "created", "last_verified")
    list_filter = ("factor_type", "status")
    search_fields = ("user__username", "user__email", "name")
    list_select_related = ("user",)
    # Never the sealed secret, the profile (email address, credential), the code hashes or the counter.
    fields = ("user", "factor_type", "provider", "name", "status", "created", "activated", "last_verified")
    readonly_fields = fields


@admin.register(AuthEvent)
class AuthEventAdmin(ReadOnlyAdmin):
    """The system log: sign-ins, administrative changes and security events, searchable by event type,
    actor, target, address and request id; nothing in it is a secret (oidc_flows.systemlog)."""

    list_display = ("created", "event_type", "outcome", "actor", "target", "client_ip", "reason")
    list_filter = ("outcome", "actor_type", "target_type", "event_type", "created")
    date_hierarchy = "created"
    search_fields = (
        "=event_type",
        "actor_alternate_id",
        "=actor_id",
        "target_alternate_id",
        "=target_id",
        "username",
        "user__email",
        "=client_ip",
        "=request_id",
    )
    fieldsets = (
        (None, {"fields": ("created", "uuid", "event_type", "outcome", "reason")}),
        (_("Actor"), {"fields": ("actor_type", "actor_id", "actor_alternate_id", "actor_display")}),
        (_("Target"), {"fields": ("target_type", "target_id", "target_alternate_id", "target_display")}),
        (_("Sign-in"), {"fields": ("user", "username", "factor_type")}),
        (_("Request"), {"fields": ("client_ip", "user_agent", "request_id", "detail")}),
    )
    readonly_fields = tuple(name for _title, options in fieldsets for name in options["fields"])
    show_full_result_count = False  # the log grows without bound; COUNT(*) on each page is wasted work

    @admin.display(description=_("actor"), ordering="actor_alternate_id")
    def actor(self, obj: AuthEvent) -> str:
        return f"{obj.actor_alternate_id} ({obj.actor_type})" if obj.actor_type else obj.username

    @admin.display(description=_("target"), ordering="target_alternate_id")
    def target(self, obj: AuthEvent) -> str:
        return f"{obj.target_alternate_id} ({obj.target_type})" if obj.target_type else ""
