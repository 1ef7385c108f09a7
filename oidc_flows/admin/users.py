"""Users and groups with what the IdP adds: profile claims, sign-in lockout, factors, IdP sessions, consents, tokens.

Extends whatever admin the project registered for the user model and groups. A user's page lists the
enrolled factors (type and dates, never a secret) and has "Reset factors", "Send recovery email" and
"Unlock sign-in"; each of these is written to the sign-in log with the administrator who did it.
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
from django.db import models, transaction
from django.db.models import Count, QuerySet
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.debug import sensitive_post_parameters

from .. import lockout
from ..authn import events, policies, recovery
from ..authn.models import Factor, RecoveryType
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


def unlock_users(request: HttpRequest, users: Any) -> int:
    """Lift the users' lockouts and log each one as the administrator's; return how many had one."""
    count = 0
    for user in users:
        if lockout.unlock(user):
            events.record(
                events.UNLOCK,
                request=request,
                user=user,
                reason="administrator",
                actor=request.user,
                by=request.user.get_username(),
            )
            count += 1
    return count


@admin.action(description=_("Unlock sign-in"), permissions=["change"])
def unlock(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet) -> None:
    count = unlock_users(request, queryset)
    message = ngettext(
        "Unlocked %(count)d user; the others were not locked.",
        "Unlocked %(count)d users; the others were not locked.",
        count,
    )
    modeladmin.message_user(request, message % {"count": count}, messages.SUCCESS)


@transaction.atomic
def reset_factors(request: HttpRequest, user: AbstractBaseUser) -> int:
    """Delete every factor of ``user`` (the next sign-in enrolls afresh, as the policies say); return how many."""
    _total, per_model = Factor.objects.filter(user=user).delete()
    count = per_model.get(Factor._meta.label, 0)
    events.record(
        events.FACTOR_RESET, request=request, user=user, actor=request.user, by=request.user.get_username(), count=count
    )
    return count


def factor_table(user: AbstractBaseUser) -> str:
    """The user's factors as a small table: type, name, status, enrolled, last used. Never a secret."""
    rows = Factor.objects.filter(user=user).order_by("created")
    if not rows:
        return gettext("None enrolled.")

    def when(moment: Any) -> str:
        return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M") if moment else "–"

    body = format_html_join(
        "",
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
        (
            (f.get_factor_type_display(), f.name or "–", f.get_status_display(), when(f.created), when(f.last_verified))
            for f in rows
        ),
    )
    head = format_html_join(
        "", "<th>{}</th>", ((label,) for label in (_("type"), _("name"), _("status"), _("enrolled"), _("last used")))
    )
    return format_html(
        '<table class="oidc-mini-table" id="user-factors"><thead><tr>{}</tr></thead><tbody>{}</tbody></table>'
        '<p class="help">{}</p>',
        head,
        body,
        gettext("“Reset factors” (top right) deletes them all: the user enrolls again at the next sign-in."),
    )


BaseUserAdmin = type(admin.site.get_model_admin(User)) if admin.site.is_registered(User) else UserAdmin


IDP_FIELDS = ("subject_id", "sign_in_status", "factors", "idp_tokens")


class IdpUserAdmin(BaseUserAdmin):
    inlines = [*BaseUserAdmin.inlines, UserProfileInline, BrowserSessionInline, ConsentInline]
    list_display = (*BaseUserAdmin.list_display, "sign_in")
    list_filter = (*BaseUserAdmin.list_filter, LockedFilter)
    actions = [*(BaseUserAdmin.actions or ()), unlock, actions.revoke_users_tokens, actions.end_users_sessions]
    change_form_template = "admin/oidc_flows/user/change_form.html"

    class Media:
        css = ADMIN_CSS
        js = ADMIN_JS

    def get_fieldsets(self, request: HttpRequest, obj: AbstractBaseUser | None = None) -> Any:
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None:
            return fieldsets
        return [*fieldsets, (_("Identity provider"), {"fields": IDP_FIELDS})]

    def get_readonly_fields(self, request: HttpRequest, obj: AbstractBaseUser | None = None) -> tuple[str, ...]:
        found = tuple(super().get_readonly_fields(request, obj))
        return (*found, *IDP_FIELDS) if obj else found

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("oidc_profile")

    @admin.display(description="sign-in")
    def sign_in(self, obj: AbstractBaseUser) -> str:
        profile = getattr(obj, "oidc_profile", None)
        if profile is not None and profile.locked_until and profile.locked_until > timezone.now():
            return format_html("<span class='oidc-badge oidc-badge-bad'>locked</span>")
        return "ok"

    @admin.display(description=_("subject identifier (sub)"))
    def subject_id(self, obj: AbstractBaseUser) -> str:
        """The public sub (oidc_flows.subjects): what logs and public applications know the user by."""
        subject = UserProfile.objects.filter(user=obj).values_list("subject", flat=True).first()
        if subject is None:
            return gettext("Assigned when a token first names the user.")
        return format_html(
            "<code>{}</code> {}", subject, gettext("(public; pairwise applications see their own value)")
        )

    @admin.display(description=_("sign-in lockout"))
    def sign_in_status(self, obj: AbstractBaseUser) -> str:
        profile = UserProfile.objects.filter(user=obj).first()
        until = lockout.locked_until(obj)
        if until is not None:
            return format_html(
                "<strong>{}</strong> {}",
                gettext("Locked"),
                gettext("until %(until)s after %(failures)d wrong passwords. “Unlock sign-in” (top right) lifts it.")
                % {
                    "until": timezone.localtime(until).strftime("%Y-%m-%d %H:%M %Z"),
                    "failures": profile.failed_sign_ins,
                },
            )
        failures = profile.failed_sign_ins if profile else 0
        rules = policies.password(obj)
        values = {"failures": failures, "policy": rules.policy}
        if not rules.max_failures:
            return (
                gettext("Not locked. %(failures)d recent wrong password(s); password policy “%(policy)s” never locks.")
                % values
            )
        return gettext(
            "Not locked. %(failures)d recent wrong password(s); under password policy “%(policy)s” the account "
            "locks after %(max)d in a row, for %(minutes)d minutes."
        ) % (values | {"max": rules.max_failures, "minutes": int(rules.lockout.total_seconds() // 60)})

    @admin.display(description=_("factors (MFA)"))
    def factors(self, obj: AbstractBaseUser) -> str:
        return factor_table(obj)

    @admin.display(description="tokens")
    def idp_tokens(self, obj: AbstractBaseUser) -> str:
        return token_links("user", obj.pk, live_access_only=True)

    # -- buttons on the user's page ----------------------------------------------------------------

    def get_urls(self) -> list[URLPattern]:
        wrap = self.admin_site.admin_view
        return [
            path("<id>/unlock/", wrap(self.unlock_view), name="oidc_flows_user_unlock"),
            path("<id>/reset-factors/", wrap(self.reset_factors_view), name="oidc_flows_user_reset_factors"),
            path(
                "<id>/send-recovery/",
                wrap(sensitive_post_parameters()(self.send_recovery_view)),
                name="oidc_flows_user_send_recovery",
            ),
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
        done = unlock_users(request, [user])
        self.message_user(
            request, gettext("Unlocked: the user may sign in again.") if done else gettext("The user was not locked.")
        )
        return HttpResponseRedirect(self._change_url(user))

    def reset_factors_view(self, request: HttpRequest, id: str) -> HttpResponse:
        user = self._user(request, id)
        if actions.confirmed(request):
            count = reset_factors(request, user)
            self.message_user(
                request,
                ngettext("Deleted %(count)d factor.", "Deleted %(count)d factors.", count) % {"count": count},
                messages.SUCCESS,
            )
            return HttpResponseRedirect(self._change_url(user))
        return actions.confirmation_page(
            self,
            request,
            [user],
            title=gettext("Reset all factors of this user?"),
            consequences=gettext(
                "Every authenticator app, passkey, email factor and recovery code of this user is deleted. At the "
                "next sign-in the user enrolls again, as the enrollment policy says. Use it when a device is lost."
            ),
            button=gettext("Yes, reset the factors"),
            cancel_url=self._change_url(user),
        )

    def send_recovery_view(self, request: HttpRequest, id: str) -> HttpResponse:
        """Mail the user a password recovery token (the hosted reset page's link); the admin never sees it."""
        user = self._user(request, id)
        if request.method != "POST":
            return HttpResponseRedirect(self._change_url(user))
        if why := self._recovery_refusal(user):
            self.message_user(request, why, messages.ERROR)
            return HttpResponseRedirect(self._change_url(user))
        recovery.request_recovery(request, user.get_username(), RecoveryType.PASSWORD)
        self.message_user(
            request,
            gettext("A password recovery email is on its way to %(email)s. Its link works once.")
            % {"email": user.email},
            messages.SUCCESS,
        )
        return HttpResponseRedirect(self._change_url(user))

    def _recovery_refusal(self, user: AbstractBaseUser) -> str:
        """Why no recovery email can be sent, in the administrator's words; empty: it can."""
        if not user.is_active:
            return gettext("The user is inactive: activate the account first.")
        if not getattr(user, "email", ""):
            return gettext("The user has no email address: add one first.")
        if not policies.password(user).email_recovery:
            return gettext("The user's password policy does not allow password reset by email.")
        return ""

    def revoke_tokens_view(self, request: HttpRequest, id: str) -> HttpResponse:
        user = self._user(request, id)
        if actions.confirmed(request):
            self.message_user(request, f"Revoked {actions.revoke_user_tokens([user], by=request)}.", messages.SUCCESS)
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
            count = actions.end_sessions(BrowserSession.objects.filter(user=user), by=request)
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
            context["has_factors"] = Factor.objects.filter(user=obj).exists()
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
