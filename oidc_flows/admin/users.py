"""Users and groups with what the IdP adds: profile claims, sign-in lockout, IdP sessions, consents, tokens.

Extends whatever admin the project registered for the user model and groups. Not shown: MFA,
which this IdP does not implement (there is nothing to enrol, so there is no state to show).
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.widgets import AdminURLFieldWidget
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied
from django.db import models
from django.db.models import Count, QuerySet
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from .. import lockout
from ..models import BrowserSession, Consent, PolicyRule, UserProfile
from . import actions
from .forms import ADMIN_CSS, ADMIN_JS, UserProfileForm
from .tokens import token_links


User = get_user_model()


class UserProfileInline(admin.StackedInline):
    model = UserProfile
    form = UserProfileForm
    formfield_overrides = {models.URLField: {"widget": AdminURLFieldWidget, "assume_scheme": "https"}}
    can_delete = False
    max_num = 1
    verbose_name = verbose_name_plural = "OpenID Connect profile"
    fieldsets = (
        (
            "Profile claims (scope profile)",
            {"fields": ("nickname", "middle_name", "picture", "website", "gender", "birthdate", "zoneinfo", "locale")},
        ),
        (
            "Email and phone (scopes email, phone)",
            {"fields": ("email_verified", "phone_number", "phone_number_verified")},
        ),
        ("Address (scope address)", {"fields": ("street_address", "locality", "region", "postal_code", "country")}),
        ("Custom attributes (for the servers' custom claims)", {"fields": ("attributes",)}),
    )


class ConsentInline(admin.TabularInline):
    model = Consent
    extra = 0
    fields = ("application", "server", "scope", "updated")
    readonly_fields = fields
    verbose_name = "granted consent"
    verbose_name_plural = "granted consents (tick “Delete?” and save to revoke: the user is asked again)"

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class EndSessionFormSet(BaseInlineFormSet):
    """Deleting a session row ends the session: its Django session goes too, so the browser is signed out."""

    def delete_existing(self, obj: BrowserSession, commit: bool = True) -> None:
        if commit:
            actions.end_sessions([obj])


class BrowserSessionInline(admin.TabularInline):
    model = BrowserSession
    formset = EndSessionFormSet
    extra = 0
    fields = ("user_agent", "created", "last_seen", "expires", "signed_in_to")
    readonly_fields = fields
    verbose_name = "IdP session"
    verbose_name_plural = "IdP sessions (tick “Delete?” and save to end one: that browser must sign in again)"

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_queryset(self, request: HttpRequest) -> QuerySet[BrowserSession]:
        return super().get_queryset(request).filter(expires__gt=timezone.now()).prefetch_related("applications")

    @admin.display(description="signed in to")
    def signed_in_to(self, obj: BrowserSession) -> str:
        return signed_in_to(obj)


def signed_in_to(record: BrowserSession) -> str:
    names = sorted({str(row.application) for row in record.applications.all()})
    return ", ".join(names) or "no application yet"


class LockedFilter(admin.SimpleListFilter):
    title = "sign-in"
    parameter_name = "locked"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [("yes", "locked out"), ("failures", "with failed attempts")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() == "yes":
            return queryset.filter(oidc_profile__locked_until__gt=timezone.now())
        if self.value() == "failures":
            return queryset.filter(oidc_profile__failed_sign_ins__gt=0)
        return queryset


BaseUserAdmin = type(admin.site.get_model_admin(User)) if admin.site.is_registered(User) else UserAdmin


class IdpUserAdmin(BaseUserAdmin):
    inlines = [*BaseUserAdmin.inlines, UserProfileInline, BrowserSessionInline, ConsentInline]
    list_display = (*BaseUserAdmin.list_display, "sign_in")
    list_filter = (*BaseUserAdmin.list_filter, LockedFilter)
    actions = [*(BaseUserAdmin.actions or ()), actions.unlock, actions.revoke_users_tokens, actions.end_users_sessions]
    change_form_template = "admin/oidc_flows/user/change_form.html"

    class Media:
        css = ADMIN_CSS
        js = ADMIN_JS

    def get_fieldsets(self, request: HttpRequest, obj: AbstractBaseUser | None = None) -> Any:
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None:
            return fieldsets
        return [*fieldsets, ("Identity provider", {"fields": ("sign_in_status", "idp_tokens")})]

    def get_readonly_fields(self, request: HttpRequest, obj: AbstractBaseUser | None = None) -> tuple[str, ...]:
        found = tuple(super().get_readonly_fields(request, obj))
        return (*found, "sign_in_status", "idp_tokens") if obj else found

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("oidc_profile")

    @admin.display(description="sign-in")
    def sign_in(self, obj: AbstractBaseUser) -> str:
        profile = getattr(obj, "oidc_profile", None)
        if profile is not None and profile.locked_until and profile.locked_until > timezone.now():
            return format_html("<span class='oidc-badge oidc-badge-bad'>locked</span>")
        return "ok"

    @admin.display(description="sign-in lockout")
    def sign_in_status(self, obj: AbstractBaseUser) -> str:
        profile = UserProfile.objects.filter(user=obj).first()
        until = lockout.locked_until(obj)
        if until is not None:
            return format_html(
                "<strong>Locked</strong> until {} after {} wrong passwords. “Unlock sign-in” (top right) lifts it.",
                timezone.localtime(until).strftime("%Y-%m-%d %H:%M %Z"),
                profile.failed_sign_ins,
            )
        failures = profile.failed_sign_ins if profile else 0
        return (
            f"Not locked. {failures} recent wrong password(s); the account locks after {lockout.MAX_FAILURES} "
            f"in a row, for {int(lockout.LOCK_DURATION.total_seconds() // 60)} minutes."
        )

    @admin.display(description="tokens")
    def idp_tokens(self, obj: AbstractBaseUser) -> str:
        return token_links("user", obj.pk, live_access_only=True)

    # -- buttons on the user's page ----------------------------------------------------------------

    def get_urls(self) -> list[URLPattern]:
        wrap = self.admin_site.admin_view
        return [
            path("<id>/unlock/", wrap(self.unlock_view), name="oidc_flows_user_unlock"),
            path("<id>/revoke-tokens/", wrap(self.revoke_tokens_view), name="oidc_flows_user_revoke_tokens"),
            path("<id>/end-sessions/", wrap(self.end_sessions_view), name="oidc_flows_user_end_sessions"),
        ] + super().get_urls()

    def _user(self, request: HttpRequest, id: str) -> AbstractBaseUser:
        user = get_object_or_404(User, pk=id)
        if not self.has_change_permission(request, user):
            raise PermissionDenied
        return user

    def _change_url(self, user: AbstractBaseUser) -> str:
        return reverse(f"admin:{User._meta.app_label}_{User._meta.model_name}_change", args=[user.pk])

    def unlock_view(self, request: HttpRequest, id: str) -> HttpResponse:
        user = self._user(request, id)
        if request.method != "POST":
            return HttpResponseRedirect(self._change_url(user))
        done = actions.unlock_users([user])
        self.message_user(request, "Unlocked: the user may sign in again." if done else "The user was not locked.")
        return HttpResponseRedirect(self._change_url(user))

    def revoke_tokens_view(self, request: HttpRequest, id: str) -> HttpResponse:
        user = self._user(request, id)
        if actions.confirmed(request):
            self.message_user(request, f"Revoked {actions.revoke_user_tokens([user])}.", messages.SUCCESS)
            return HttpResponseRedirect(self._change_url(user))
        return actions.confirmation_page(
            self,
            request,
            [user],
            title="Revoke all tokens of this user?",
            consequences="Every access and refresh token issued for this user, by every application and server, "
            "is revoked. The user's IdP sessions stay; end them too to sign the user out everywhere.",
            button="Yes, revoke the tokens",
            cancel_url=self._change_url(user),
        )

    def end_sessions_view(self, request: HttpRequest, id: str) -> HttpResponse:
        user = self._user(request, id)
        if actions.confirmed(request):
            count = actions.end_sessions(BrowserSession.objects.filter(user=user))
            self.message_user(request, f"Ended {count} session(s).", messages.SUCCESS)
            return HttpResponseRedirect(self._change_url(user))
        return actions.confirmation_page(
            self,
            request,
            [user],
            title="End all IdP sessions of this user?",
            consequences="Every browser signed in as this user is signed out of the IdP and must sign in again. "
            "Tokens already issued stay valid until they expire; revoke them too to cut access at once.",
            button="Yes, end the sessions",
            cancel_url=self._change_url(user),
        )

    def render_change_form(self, request: HttpRequest, context: dict[str, Any], *args: Any, **kwargs: Any):
        obj = kwargs.get("obj")
        if obj is not None:
            context["has_failed_sign_ins"] = UserProfile.objects.filter(user=obj, failed_sign_ins__gt=0).exists() or (
                lockout.is_locked(obj)
            )
        return super().render_change_form(request, context, *args, **kwargs)


if admin.site.is_registered(User):
    admin.site.unregister(User)
admin.site.register(User, IdpUserAdmin)


BaseGroupAdmin = type(admin.site.get_model_admin(Group)) if admin.site.is_registered(Group) else GroupAdmin


class IdpGroupAdmin(BaseGroupAdmin):
    """Groups feed claims (value type "groups") and access policy rules; this shows where they are used."""

    list_display = ("name", "members")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Group]:
        return super().get_queryset(request).annotate(_members=Count("user", distinct=True))

    def get_readonly_fields(self, request: HttpRequest, obj: Group | None = None) -> tuple[str, ...]:
        found = tuple(super().get_readonly_fields(request, obj))
        return (*found, "rules") if obj else found

    @admin.display(description="members", ordering="_members")
    def members(self, obj: Group) -> int:
        return obj._members

    @admin.display(description="access policy rules naming it")
    def rules(self, obj: Group) -> str:
        rules = PolicyRule.objects.filter(groups=obj).select_related("policy__server")
        if not rules:
            return "None."
        return format_html_join(
            ", ",
            "<a href='{}'>{} › {}</a>",
            ((reverse("admin:oidc_flows_accesspolicy_change", args=[r.policy_id]), r.policy, r.name) for r in rules),
        )


if admin.site.is_registered(Group):
    admin.site.unregister(Group)
admin.site.register(Group, IdpGroupAdmin)


@admin.register(BrowserSession)
class BrowserSessionAdmin(admin.ModelAdmin):
    """Signed-in browsers across all users; "end" signs one out (its Django session is deleted)."""

    list_display = ("user", "user_agent", "created", "last_seen", "expires", "signed_in_to")
    list_filter = ("created",)
    search_fields = ("user__username", "user__email")
    list_select_related = ("user",)
    fields = ("user", "user_agent", "created", "last_seen", "expires", "signed_in_to")
    readonly_fields = fields
    actions = [actions.end_selected_sessions]

    def get_queryset(self, request: HttpRequest) -> QuerySet[BrowserSession]:
        live = super().get_queryset(request).filter(expires__gt=timezone.now())
        return live.prefetch_related("applications__application")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_actions(self, request: HttpRequest) -> dict:
        found = super().get_actions(request)
        found.pop("delete_selected", None)  # deleting the record alone would leave the browser signed in
        return found

    def delete_model(self, request: HttpRequest, obj: BrowserSession) -> None:
        actions.end_sessions([obj])

    @admin.display(description="signed in to")
    def signed_in_to(self, obj: BrowserSession) -> str:
        return signed_in_to(obj)


@admin.register(Consent)
class ConsentAdmin(admin.ModelAdmin):
    """Remembered consents; revoking one makes the consent page appear again for that application."""

    list_display = ("user", "application", "server", "scope", "updated")
    list_filter = ("server", ("application", admin.RelatedOnlyFieldListFilter))
    search_fields = ("user__username", "user__email", "application__name", "application__client_id")
    list_select_related = ("user", "application", "server")
    fields = ("user", "application", "server", "scope", "created", "updated")
    readonly_fields = fields
    actions = [actions.revoke_consents]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_actions(self, request: HttpRequest) -> dict:
        found = super().get_actions(request)
        found.pop("delete_selected", None)
        return found
