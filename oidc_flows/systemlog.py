"""The system log: who did what to what, when, from where, with what outcome. Okta's System Log, one table.

Every administrative change (admin, management API, management commands) and every security event
(sign-ins and their failures, token requests refused by an access policy, revocations, key rotations,
lockouts) is written here by ``record``; the sign-in log (``authn.events``) records through it too.
The admin lists it (read-only) and ``GET /api/v1/logs`` serves it in Okta's event shape.

An event never holds a secret: callers pass names, ids and counts, and ``record`` drops any ``detail``
entry whose key names a secret (password, secret, token, code, key...) or whose value looks like a
token, whatever the caller meant. The token endpoint writes nothing when it issues a token: only a
refusal is an event (the hot path stays one INSERT-free request, see BENCHMARKS.md).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping
from typing import Any, Final

from django.contrib.auth.base_user import AbstractBaseUser
from django.db import models
from django.http import HttpRequest

from . import observability
from .authn.models import AuthEvent, Outcome


log = logging.getLogger("oidc_flows.systemlog")

SUCCESS: Final = Outcome.SUCCESS
FAILURE: Final = Outcome.FAILURE
DENY: Final = Outcome.DENY

# -- event types (Okta's System Log names where Okta has one) -----------------------------------------
TOKEN_REFUSED: Final = "app.oauth2.as.token.grant"  # outcome DENY: no access policy rule allows the request
AUTHORIZE_REFUSED: Final = "app.oauth2.as.authorize"  # outcome DENY, at /authorize
TOKEN_REVOKE: Final = "app.oauth2.as.token.revoke"
TOKEN_REUSE: Final = "app.oauth2.token.detect_reuse"  # a spent refresh token or code presented again
CONSENT_REVOKE: Final = "app.oauth2.as.consent.revoke"
KEY_ROLLOVER: Final = "app.oauth2.as.key.rollover"
SECRET_ROTATE: Final = "app.oauth2.credentials.secret.rotate"
APP_ACTIVATE: Final = "application.lifecycle.activate"
APP_DEACTIVATE: Final = "application.lifecycle.deactivate"
APP_REVOKE_TOKENS: Final = "app.oauth2.as.token.revoke"
USER_REVOKE_TOKENS: Final = "user.authentication.token.revoke"
SESSION_END: Final = "user.session.clear"
REGISTRATION_TOKEN_ISSUE: Final = "app.oauth2.registration.token.create"
REGISTRATION_TOKEN_REVOKE: Final = "app.oauth2.registration.token.revoke"
CLEANUP: Final = "system.cleanup.clear_expired"

#: Create/update/delete of a model, by model (``lifecycle_event``); others: ``<app>.<model>.<action>``.
_LIFECYCLE: Final[dict[str, tuple[str, str, str]]] = {
    "oidc_flows.application": (
        "application.lifecycle.create",
        "application.lifecycle.update",
        "application.lifecycle.delete",
    ),
    "oidc_flows.authorizationserver": ("oauth2.as.created", "oauth2.as.updated", "oauth2.as.deleted"),
    "oidc_flows.scope": ("oauth2.scope.created", "oauth2.scope.updated", "oauth2.scope.deleted"),
    "oidc_flows.claim": ("oauth2.claim.created", "oauth2.claim.updated", "oauth2.claim.deleted"),
    "oidc_flows.accesspolicy": ("oauth2.policy.created", "oauth2.policy.updated", "oauth2.policy.deleted"),
    "oidc_flows.policyrule": ("oauth2.policy.rule.created", "oauth2.policy.rule.updated", "oauth2.policy.rule.deleted"),
    "auth.user": ("user.lifecycle.create", "user.account.update_profile", "user.lifecycle.delete.completed"),
    "auth.group": ("group.lifecycle.create", "group.profile.update", "group.lifecycle.delete"),
}
_ACTIONS: Final = ("create", "update", "delete")

#: Okta's ``displayMessage`` for the events that have a fixed one; others show their type.
MESSAGES: Final[dict[str, str]] = {
    TOKEN_REFUSED: "OAuth2 access token request refused",
    AUTHORIZE_REFUSED: "OAuth2 authorization request refused",
    TOKEN_REVOKE: "OAuth2 token revocation",
    TOKEN_REUSE: "OAuth2 token reuse detected: its family was revoked",
    CONSENT_REVOKE: "Consent withdrawn",
    KEY_ROLLOVER: "Authorization server signing key rotated",
    SECRET_ROTATE: "Client secret rotated",
    APP_ACTIVATE: "Application activated",
    APP_DEACTIVATE: "Application deactivated",
    USER_REVOKE_TOKENS: "User's tokens revoked",
    SESSION_END: "IdP session ended",
    REGISTRATION_TOKEN_ISSUE: "Initial access token issued",
    REGISTRATION_TOKEN_REVOKE: "Initial access token revoked",
    CLEANUP: "Expired records cleared",
    "user.authentication.auth_via_primary": "User sign-in with password",
    "user.authentication.auth_via_mfa": "User sign-in second factor",
    "user.authentication.auth_via_passkey": "User sign-in with a passkey",
    "user.session.start": "User signed in to the IdP",
    "user.account.lock": "User account locked",
    "user.account.unlock": "User account unlocked",
    "user.account.update_password": "User password changed",
    "user.account.reset_password": "User password reset",
}


def lifecycle_event(model: type[models.Model] | models.Model, action: str) -> str:
    """The event type of creating, updating or deleting (``action``) a ``model`` (class or instance).

    The admin (via its LogEntry) and the management API name the same change the same way.
    """
    if action not in _ACTIONS:
        raise ValueError(f"action must be one of {_ACTIONS}, not {action!r}")
    meta = model._meta
    known = _LIFECYCLE.get(meta.label_lower)
    if known is not None:
        return known[_ACTIONS.index(action)]
    return f"{meta.label_lower}.{action}"


# -- never a secret -------------------------------------------------------------------------------------

#: A detail key is dropped when one of its words is one of these (client_secret, password1, id_token...).
_SECRET_WORDS: Final = frozenset(
    {"password", "passwd", "pass", "secret", "token", "code", "key", "assertion", "credential", "credentials"}
    | {"cookie", "otp", "pin", "jwt", "jwe", "jws", "private", "hash", "seed", "signature", "authorization"}
    | {"verifier", "nonce"}
)
_SECRET_SUBSTRINGS: Final = ("password", "secret", "token")
#: Values that look like a token whatever their key: a JWT/JWE, or a long unbroken run of base64url.
#: (64: longer than a client_id, which is an identifier, not a secret.)
_TOKENISH: Final = re.compile(r"eyJ[A-Za-z0-9_-]{8,}|[A-Za-z0-9_\-+/=]{64,}")
_DROPPED: Final = "[dropped]"


def is_secret_key(key: str) -> bool:
    lowered = key.lower()
    words = re.split(r"[^a-z]+", lowered)
    return any(word.rstrip("s0123456789") in _SECRET_WORDS or word in _SECRET_WORDS for word in words) or any(
        part in lowered for part in _SECRET_SUBSTRINGS
    )


def scrub(value: Any, *, depth: int = 0) -> Any:
    """``value`` with every secret-looking entry removed (dict keys) or replaced (token-like strings)."""
    if depth > 4:
        return _DROPPED
    if isinstance(value, Mapping):
        return {str(k): scrub(v, depth=depth + 1) for k, v in value.items() if not is_secret_key(str(k))}
    if isinstance(value, list | tuple | set | frozenset):
        return [scrub(v, depth=depth + 1) for v in list(value)[:50]]
    if isinstance(value, str):
        return _DROPPED if _TOKENISH.search(value) else value[:500]
    if value is None or isinstance(value, bool | int | float):
        return value
    return scrub(str(value), depth=depth + 1)


# -- actors and targets ---------------------------------------------------------------------------------

#: (type, id, alternateId, displayName): Okta's actor and target objects.
Party = tuple[str, str, str, str]

SYSTEM: Final[Party] = ("SystemPrincipal", "system", "system", "oidc_flows")


def _application_party(app: Any) -> Party:
    # Okta: an OIDC application's id is its client_id.
    return ("PublicClientApp", str(app.client_id), str(app.client_id), str(app.name or app.client_id))


def _user_party(user: Any) -> Party:
    full = user.get_full_name() if hasattr(user, "get_full_name") else ""
    return ("User", str(user.pk), user.get_username(), full or user.get_username())


def actor_of(actor: Any) -> Party:
    """Okta's actor: a user, an application, a command or the system (None)."""
    if actor is None or getattr(actor, "is_anonymous", False) is True:
        return SYSTEM
    if isinstance(actor, str):  # a management command: "manage.py oidc_rotate_keys"
        return ("SystemPrincipal", "system", actor[:255], actor[:255])
    if isinstance(actor, tuple):
        return _party(actor)
    if hasattr(getattr(actor, "application", None), "client_id") and not isinstance(actor, AbstractBaseUser):
        return _application_party(actor.application)  # the management API's ServicePrincipal: its application
    if hasattr(actor, "client_id") and hasattr(actor, "authorization_grant_type"):
        return _application_party(actor)
    if isinstance(actor, AbstractBaseUser):
        return _user_party(actor)
    raise TypeError(f"An actor is a user, an Application, a command name or None, not {type(actor).__name__}")


#: Models whose ``str()`` shows a secret (DOT's tokens print their token): named by type and pk only.
_OPAQUE_MODELS: Final = frozenset(
    {"oidc_flows.accesstoken", "oidc_flows.refreshtoken", "oidc_flows.idtoken", "oidc_flows.grant"}
    | {"oidc_flows.onetimetoken", "oidc_flows.transaction", "oidc_flows.deviceauthorization"}
    | {"oidc_flows.registrationtoken", "oidc_flows.initialaccesstoken", "sessions.session"}
)


def target_of(target: Any) -> Party | None:
    """Okta's target: a model instance, or a (type, id, display) tuple."""
    if target is None:
        return None
    if isinstance(target, tuple):
        return _party(target)
    if hasattr(target, "client_id") and hasattr(target, "authorization_grant_type"):
        return _application_party(target)
    if isinstance(target, AbstractBaseUser):
        return _user_party(target)
    if isinstance(target, models.Model):
        meta = target._meta
        if meta.label_lower == "oidc_flows.authorizationserver":
            return ("AuthorizationServer", str(target.server_id), str(target.server_id), str(target.name))
        if meta.label_lower == "auth.group":
            return ("UserGroup", str(target.pk), str(target.name), str(target.name))
        if meta.label_lower in _OPAQUE_MODELS:
            return (meta.object_name, str(target.pk), f"{meta.object_name} {target.pk}", f"{meta.verbose_name}")
        return (meta.object_name, str(target.pk), str(target)[:255], str(target)[:255])
    raise TypeError(f"A target is a model instance or a (type, id, display) tuple, not {type(target).__name__}")


def _party(value: tuple) -> Party:
    kind, ident, *rest = (str(v) for v in value)
    display = rest[-1] if rest else ident
    alternate = rest[0] if len(rest) > 1 else display
    return (kind[:64], ident[:100], alternate[:255], display[:255])


# -- the request ---------------------------------------------------------------------------------------


def current_request() -> HttpRequest | None:
    """The request being answered, when ``RequestLogMiddleware`` runs (it does in every deployment)."""
    return observability.current_request.get()


def client_ip(request: HttpRequest | None) -> str | None:
    """The caller's address as the server saw it (behind a proxy: what the proxy set REMOTE_ADDR to)."""
    return (request.META.get("REMOTE_ADDR") or None) if request is not None else None


def request_id_of(request: HttpRequest | None) -> str:
    if request is None:
        return ""
    found = getattr(request, "request_id", None)
    if not found:  # without the request log middleware: one id for the request's events all the same
        found = request.request_id = observability.request_id(request)
    return found


# -- writing -------------------------------------------------------------------------------------------


def record(
    event_type: str,
    *,
    actor: Any = None,
    target: Any = None,
    outcome: str = SUCCESS,
    request: HttpRequest | None = None,
    detail: dict | None = None,
    reason: str = "",
    user: AbstractBaseUser | None = None,
    username: str = "",
    factor_type: str = "",
) -> AuthEvent:
    """Write one event (and one log line with the same facts); return it.

    ``actor``: who did it (a user, an Application, a command name, or None for the system).
    ``target``: what it was done to (a model instance or a ``(type, id, display)`` tuple).
    ``request``: the HTTP request (client address, request id); the current one when omitted.
    ``detail``: ids, names and counts only; secret-looking entries are dropped (``scrub``).
    ``user``/``username``/``factor_type``: the sign-in log's columns (the user an event is about).
    """
    if outcome not in Outcome.values:
        raise ValueError(f"outcome must be one of {Outcome.values}, not {outcome!r}")
    request = request if request is not None else observability.current_request.get()
    a_type, a_id, a_alt, a_name = actor_of(actor)
    t_type, t_id, t_alt, t_name = target_of(target) or ("", "", "", "")
    agent = request.META.get("HTTP_USER_AGENT", "") if request is not None else ""
    if user is not None and not user.pk:
        user = None
    event = AuthEvent.objects.create(
        event_type=event_type[:64],
        outcome=outcome,
        reason=scrub(reason)[:255] if reason else "",
        actor_type=a_type,
        actor_id=a_id,
        actor_alternate_id=a_alt,
        actor_display=a_name,
        target_type=t_type,
        target_id=t_id,
        target_alternate_id=t_alt,
        target_display=t_name,
        request_id=request_id_of(request)[:128],
        user=user,
        username=(username or (user.get_username() if user is not None else ""))[:150],
        client_ip=client_ip(request),
        user_agent="".join(c for c in agent[:255] if c.isprintable()),
        factor_type=factor_type,
        detail=scrub(detail or {}),
    )
    log.info(
        "system log event",
        extra={"event": event_type, "outcome": outcome, "actor": a_alt, "target": t_alt, "reason": event.reason},
    )
    return event


def severity(event: AuthEvent) -> str:
    """Okta's severity: WARN for refusals and failures, INFO otherwise."""
    return "INFO" if event.outcome == SUCCESS else "WARN"


def display_message(event: AuthEvent) -> str:
    return MESSAGES.get(event.event_type, event.event_type)


# -- Django admin: every change it logs (LogEntry) is an event --------------------------------------------

_ADMIN_ACTIONS: Final = {1: "create", 2: "update", 3: "delete"}  # LogEntry's ADDITION, CHANGE, DELETION


def _admin_fields(entry: Any) -> list[str]:
    """The names of the fields an admin change touched (never their values: LogEntry keeps none either)."""
    try:
        messages = json.loads(entry.change_message or "[]")
    except ValueError:
        return []
    names: list[str] = []
    for message in messages if isinstance(messages, list) else []:
        for change in message.values() if isinstance(message, dict) else []:
            if isinstance(change, dict):
                names += [str(name) for name in change.get("fields", [])]
                if "object" in change:
                    names.append(f"{change.get('name', '')}: {change['object']}")
    return names[:50]


def admin_change(sender: type, instance: Any, created: bool, raw: bool = False, **kwargs: Any) -> None:
    """``post_save`` of Django's admin ``LogEntry``: the same change, in the system log, with its actor."""
    if not created or raw or instance.action_flag not in _ADMIN_ACTIONS:
        return
    action = _ADMIN_ACTIONS[instance.action_flag]
    model = instance.content_type.model_class() if instance.content_type_id else None
    if model is None:
        event_type, kind = f"system.admin.{action}", "Object"
    else:
        event_type, kind = lifecycle_event(model, action), model._meta.object_name
    obj = model._default_manager.filter(pk=instance.object_id).first() if model and action != "delete" else None
    try:
        target = target_of(obj) if obj is not None else None
    except TypeError:
        target = None
    if target is None:
        opaque = model is not None and model._meta.label_lower in _OPAQUE_MODELS
        target = (kind, str(instance.object_id), kind if opaque else instance.object_repr)
    detail = {"fields": fields} if (fields := _admin_fields(instance)) else {}
    record(event_type, actor=instance.user, target=target, detail={"via": "admin", **detail})


def _record_bulk_deletions(log_deletions: Any) -> Any:
    """Deleting several objects at once, Django's admin writes its LogEntries with ``bulk_create``, which
    sends no ``post_save``: record those entries here (one object: ``admin_change`` saw it already)."""

    def wrapped(self: Any, request: HttpRequest, queryset: Any) -> Any:
        entries = log_deletions(self, request, queryset)
        if isinstance(entries, list) and len(entries) > 1:
            for entry in entries:
                admin_change(type(entry), entry, created=True)
        return entries

    wrapped._oidc_flows_systemlog = True  # type: ignore[attr-defined]
    return wrapped


def install_admin_hook() -> None:
    from django.contrib.admin import ModelAdmin

    if not getattr(ModelAdmin.log_deletions, "_oidc_flows_systemlog", False):
        ModelAdmin.log_deletions = _record_bulk_deletions(ModelAdmin.log_deletions)
