"""What the admin's buttons and actions do, as plain functions, plus the confirmation page they share.

Each action calls the library function the management commands use (``keys.rotate``, the token
models' ``revoke`` methods, ``sessions.end_session``, ``lockout.unlock``), so the admin and a
script cannot disagree. Actions that break clients (rotating a secret, revoking tokens) ask first.

Given ``by`` (the admin's request), a library function also writes the system log event, with the
administrator as its actor; other callers (the management API) record their own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.html import format_html
from django.views.decorators.debug import sensitive_variables
from oauth2_provider.generators import generate_client_secret

from .. import keys, registration, revocation, sessions, subjects, systemlog
from ..models import AccessToken, Application, AuthorizationServer, BrowserSession, RefreshToken, SigningKey


CONFIRM_TEMPLATE = "admin/oidc_flows/confirm_action.html"


# -- the library calls ---------------------------------------------------------------------------------


def logged(request: HttpRequest | None, event_type: str, target: Any, **detail: Any) -> None:
    """The system log event of an administrator's action (nothing without a request: the caller records)."""
    if request is not None:
        systemlog.record(
            event_type, actor=request.user, target=target, request=request, detail={"via": "admin", **detail}
        )


@sensitive_variables("secret")
def rotate_client_secret(client: Application, *, by: HttpRequest | None = None) -> str:
    """Give a confidential application a new secret and return it; the old one stops working at once.

    Only the hash is stored (DOT's ClientSecretField with our ``oidc_hmac_sha256`` hasher).
    """
    if not client.rule.confidential:
        raise ValueError(f"{client.client_id} is a public client: it has no secret.")
    secret = generate_client_secret()
    client.client_secret = secret
    registration.seal_client_secret(client, secret)  # client_secret_jwt: the server keeps it, encrypted
    # `updated` too: other processes see the change by that stamp (oidc_flows.snapshots).
    client.save(update_fields=["client_secret", "sealed_client_secret", "updated"])
    logged(by, systemlog.SECRET_ROTATE, client)
    return secret


@dataclass(frozen=True, slots=True)
class Revoked:
    access_tokens: int
    refresh_tokens: int

    def __str__(self) -> str:
        return f"{self.access_tokens} access token(s) and {self.refresh_tokens} refresh token(s)"


@transaction.atomic
def revoke_tokens(access_tokens: QuerySet[AccessToken], refresh_tokens: QuerySet[RefreshToken]) -> Revoked:
    """Revoke the given tokens. A refresh token takes its whole rotation family and their access tokens
    along (RFC 7009 §2.1), and an access token its refresh token, which could otherwise mint a new one."""
    bound = Q(access_token__in=access_tokens.values("pk"))
    targets = list(
        RefreshToken.objects.filter(revoked__isnull=True).filter(Q(pk__in=refresh_tokens.values("pk")) | bound)
    )
    families = {rt.token_family for rt in targets if rt.token_family}
    members = RefreshToken.objects.filter(token_family__in=families)
    refresh_count = members.filter(revoked__isnull=True).count() + sum(1 for rt in targets if not rt.token_family)
    access_ids = set(access_tokens.values_list("pk", flat=True))
    access_ids |= {pk for pk in members.values_list("access_token_id", flat=True) if pk}
    access_ids |= {rt.access_token_id for rt in targets if rt.access_token_id}
    for family in families:
        RefreshToken.revoke_family(family)
    for refresh_token in targets:
        refresh_token.revoke()  # no-op when its family was just revoked
    for access_token in AccessToken.objects.filter(pk__in=access_ids):
        access_token.revoke()  # DOT: revoking an access token deletes it
    return Revoked(len(access_ids), refresh_count)


def revoke_client_tokens(clients: QuerySet[Application], *, by: HttpRequest | None = None) -> Revoked:
    """Revoke every access and refresh token of these applications, on every server."""
    for client_id in clients.values_list("client_id", flat=True):
        revocation.revoke_client(client_id)  # JWT access tokens, which have no rows
    revoked = revoke_tokens(
        AccessToken.objects.filter(application__in=clients), RefreshToken.objects.filter(application__in=clients)
    )
    for client in clients if by is not None else ():
        logged(by, systemlog.APP_REVOKE_TOKENS, client, revoked=str(revoked))
    return revoked


def revoke_user_tokens(users: Iterable[AbstractBaseUser], *, by: HttpRequest | None = None) -> Revoked:
    """Revoke every access and refresh token issued for these users."""
    users = list(users)
    ids = [user.pk for user in users]
    for user in users:
        for uid in subjects.token_uids(user):  # JWT access tokens (no rows) name the user by their uid claim
            revocation.revoke_user(uid)
    revoked = revoke_tokens(AccessToken.objects.filter(user__in=ids), RefreshToken.objects.filter(user__in=ids))
    for user in users if by is not None else ():
        logged(by, systemlog.USER_REVOKE_TOKENS, user, revoked=str(revoked))
    return revoked


def rotate_server_keys(servers: Iterable[AuthorizationServer], *, by: HttpRequest | None = None) -> list[SigningKey]:
    """Rotate each server's signing key (as ``manage.py oidc_rotate_keys``); return the newly active keys."""
    rotated = []
    for server in servers:
        rotated.append(key := keys.rotate(server))
        logged(by, systemlog.KEY_ROLLOVER, server, kid=key.kid, alg=key.alg)
    return rotated


def end_sessions(records: Iterable[BrowserSession], *, by: HttpRequest | None = None) -> int:
    """Sign these browsers out of the IdP (their Django sessions are deleted); return how many."""
    count = 0
    for record in records:
        sessions.end_session(record)
        logged(by, systemlog.SESSION_END, record.user, browser=record.user_agent[:100])
        count += 1
    return count


# -- the confirmation page -----------------------------------------------------------------------------


def confirmed(request: HttpRequest) -> bool:
    """Whether the request is the "Yes" of a confirmation page (a POST, so CSRF-checked)."""
    return request.method == "POST" and request.POST.get("confirm") == "yes"


def confirmation_page(
    modeladmin: admin.ModelAdmin,
    request: HttpRequest,
    objects: Iterable[Any],
    *,
    title: str,
    consequences: str,
    button: str,
    action: str = "",
    cancel_url: str = "",
) -> TemplateResponse:
    """Ask before an action that breaks clients. ``action`` set: a changelist action (re-posted with the
    selection); empty: a single object's page, which posts back to itself."""
    objects = list(objects)
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": title,
        "subtitle": None,
        "opts": modeladmin.model._meta,
        "objects": objects,
        "consequences": consequences,
        "button": button,
        "action": action,
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        "cancel_url": cancel_url,
        "media": modeladmin.media,
    }
    return TemplateResponse(request, CONFIRM_TEMPLATE, context)


def confirm_then(
    title: str, consequences: str, button: str
) -> Callable[[Callable[..., None]], Callable[[admin.ModelAdmin, HttpRequest, QuerySet], HttpResponse | None]]:
    """Decorate a changelist action so that it runs only after the confirmation page's "Yes"."""

    def decorate(run: Callable[..., None]) -> Callable[[admin.ModelAdmin, HttpRequest, QuerySet], HttpResponse | None]:
        def action(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
            if confirmed(request):
                run(modeladmin, request, queryset)
                return None  # back to the changelist, with the messages
            return confirmation_page(
                modeladmin,
                request,
                queryset,
                title=title,
                consequences=consequences,
                button=button,
                action=run.__name__,
            )

        action.__name__ = run.__name__
        action.__doc__ = run.__doc__
        return action

    return decorate


# -- messages ------------------------------------------------------------------------------------------


def show_secret_once(request: HttpRequest, client: Application, secret: str, *, rotated: bool = False) -> None:
    """The only time a client secret is displayed: a message on the next page; only its hash is kept."""
    what = "New client secret" if rotated else "Client secret"
    after = " The old secret no longer works." if rotated else ""
    messages.warning(
        request,
        format_html(
            '{} of <strong>{}</strong> (client_id <code>{}</code>): <code class="oidc-secret" id="client-secret-{}">'
            "{}</code> Copy it now: it is stored hashed and cannot be shown again.{}",
            what,
            client.name,
            client.client_id,
            client.pk,
            secret,
            after,
        ),
        extra_tags="oidc-secret-message",
    )


# -- changelist actions --------------------------------------------------------------------------------


@admin.action(description="Rotate client secret (shown once; the old one stops working)", permissions=["change"])
@confirm_then(
    "Rotate client secrets?",
    "Each confidential application gets a new secret, shown once on the next page. The old secret stops working "
    "at once: update the application's configuration right away. Public clients have no secret and are skipped.",
    "Yes, rotate the secrets",
)
def rotate_secret(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Application]) -> None:
    for client in queryset:
        if client.rule.confidential:
            show_secret_once(request, client, rotate_client_secret(client, by=request), rotated=True)
        else:
            modeladmin.message_user(request, f"{client.name} is a public client: it has no secret.", messages.INFO)


@admin.action(description="Revoke all tokens (access and refresh, on every server)", permissions=["change"])
@confirm_then(
    "Revoke all tokens of these applications?",
    "Every access token and refresh token issued to them is revoked, with their refresh token families. "
    "Users stay signed in to the IdP; the applications must ask for new tokens.",
    "Yes, revoke the tokens",
)
def revoke_all_tokens(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Application]) -> None:
    revoked = revoke_client_tokens(queryset, by=request)
    modeladmin.message_user(request, f"Revoked {revoked}.", messages.SUCCESS)


@admin.action(description="Deactivate (no new tokens; existing ones stop being accepted here)", permissions=["change"])
def deactivate(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Application]) -> None:
    changed = list(queryset.filter(is_active=True))
    count = queryset.filter(pk__in=[c.pk for c in changed]).update(is_active=False)
    for client in changed:
        logged(request, systemlog.APP_DEACTIVATE, client)
    modeladmin.message_user(
        request,
        f"Deactivated {count} application(s). JWT access tokens stay valid for APIs that verify them offline "
        "until they expire: revoke their tokens too if they must stop at once.",
        messages.SUCCESS,
    )


@admin.action(description="Activate", permissions=["change"])
def activate(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Application]) -> None:
    changed = list(queryset.filter(is_active=False))
    count = queryset.filter(pk__in=[c.pk for c in changed]).update(is_active=True)
    for client in changed:
        logged(request, systemlog.APP_ACTIVATE, client)
    modeladmin.message_user(request, f"Activated {count} application(s).", messages.SUCCESS)


@admin.action(description="Rotate signing keys (the published next key starts signing)", permissions=["change"])
def rotate_keys(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[AuthorizationServer]) -> None:
    for server, key in zip(queryset, rotate_server_keys(queryset, by=request), strict=True):
        modeladmin.message_user(request, f"{server.server_id}: now signing with {key.kid}.", messages.SUCCESS)


@admin.action(description="Revoke selected tokens (with their refresh token families)", permissions=["delete"])
@confirm_then(
    "Revoke these tokens?",
    "Revoked access tokens are deleted; refresh tokens are marked revoked with their whole rotation family, "
    "and the access tokens issued from them are deleted too.",
    "Yes, revoke",
)
def revoke_selected_tokens(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet) -> None:
    kind = queryset.model._meta.object_name
    for pk in queryset.values_list("pk", flat=True):  # before: revoked access tokens are deleted
        logged(request, systemlog.TOKEN_REVOKE, (kind, pk, f"{kind} {pk}"))
    if queryset.model is AccessToken:
        revoked = revoke_tokens(queryset, RefreshToken.objects.none())
    else:
        revoked = revoke_tokens(AccessToken.objects.none(), queryset)
    modeladmin.message_user(request, f"Revoked {revoked}.", messages.SUCCESS)


@admin.action(description="Revoke all tokens of the selected users", permissions=["change"])
@confirm_then(
    "Revoke all tokens of these users?",
    "Every access and refresh token issued for them, by every application and server, is revoked.",
    "Yes, revoke the tokens",
)
def revoke_users_tokens(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet) -> None:
    modeladmin.message_user(request, f"Revoked {revoke_user_tokens(queryset, by=request)}.", messages.SUCCESS)


@admin.action(description="End all IdP sessions of the selected users", permissions=["change"])
def end_users_sessions(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet) -> None:
    count = end_sessions(BrowserSession.objects.filter(user__in=queryset), by=request)
    modeladmin.message_user(request, f"Ended {count} session(s); those browsers must sign in again.", messages.SUCCESS)


@admin.action(description="End selected sessions (the browser must sign in again)", permissions=["delete"])
def end_selected_sessions(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet) -> None:
    count = end_sessions(queryset, by=request)
    modeladmin.message_user(request, f"Ended {count} session(s).", messages.SUCCESS)


@admin.action(description="Revoke selected consents (users are asked again)", permissions=["delete"])
def revoke_consents(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet) -> None:
    for consent in queryset.select_related("application", "server", "user"):
        logged(
            request,
            systemlog.CONSENT_REVOKE,
            consent.user,
            client_id=consent.application.client_id,
            server=consent.server.server_id,
        )
    count, _ = queryset.delete()
    modeladmin.message_user(request, f"Revoked {count} consent(s); those users see the consent page again.")
