"""Per-process snapshot of the sign-in configuration: sign-on, enrollment and password policies, trusted origins.

Every sign-in and every /authorize evaluates the policies; reading their rows (with groups, rules and
the rules' conditions) took a dozen queries each time. A snapshot reads them once per process and is
stamped like the servers' configuration (``oidc_flows.snapshots``):

- the stamp is the one row of ``AuthnConfigStamp``; every save or delete of a policy, a rule, their
  groups, applications and servers, or a trusted origin sets it in the same transaction (the signal
  handlers below), so a rolled-back change rolls the stamp back with it;
- every request reads the stamp (once, with SQL compiled once) and rebuilds the snapshot when it
  differs, so a change made on any node applies on every node at the very next request;
- changes that bypass model signals (``QuerySet.update``, raw SQL) are seen within ``MAX_AGE`` seconds.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.signals import request_finished, request_started, setting_changed
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_delete
from django.utils import timezone

from .. import snapshots
from ..models.servers import AuthorizationServer
from . import policies
from .models import (
    Access,
    AuthnConfigStamp,
    EnrollmentPolicy,
    MfaFrequency,
    PasswordPolicy,
    Primary,
    SignOnPolicy,
    SignOnRule,
    TrustedOrigin,
)


#: Upper bound, in seconds, on how long a change that skipped the model signals can go unseen.
MAX_AGE = snapshots.MAX_AGE


@dataclass(frozen=True, slots=True)
class Rule:
    """An active sign-on rule: its conditions (empty: any) and its decision."""

    groups: frozenset[int]
    applications: frozenset[int]
    servers: frozenset[int]
    decision: policies.SignOn


@dataclass(frozen=True, slots=True)
class Assigned:
    """An active policy of any kind, with the groups it is assigned to (empty: everyone)."""

    groups: frozenset[int]
    value: Any  # sign-on: tuple[Rule, ...]; enrollment: dict[str, str]; password: PasswordRules

    def applies(self, group_ids: frozenset[int] | set[int]) -> bool:
        return not self.groups or bool(self.groups & group_ids)


@dataclass(frozen=True)
class Config:
    """Read-only: the sign-in configuration as of ``stamp``."""

    stamp: tuple
    built: float
    sign_on: tuple[Assigned, ...]  # active policies by priority; value: their active rules by priority
    any_sign_on_policy: bool  # rows exist (active or not): with none at all, the built-in default applies
    enrollment: tuple[Assigned, ...]
    password: tuple[Assigned, ...]
    passwordless: bool  # an active rule lets a passkey alone sign in
    origins: dict[str, frozenset[str]]  # "cors" / "redirect": trusted origins, lower case
    uses_groups: bool  # some active policy or rule names groups: only then are a user's groups read


_lock = threading.Lock()
_config: Config | None = None
_request = threading.local()  # the config one request uses: its stamp is read once per request


def current() -> Config:
    """The configuration as of the stamp in the database (read once per request), built when missing."""
    if getattr(_request, "active", False) and (memo := getattr(_request, "config", None)) is not None:
        return memo
    stamp = snapshots.read_stamp(AuthnConfigStamp, ("id", "updated"), ("id",), [1])
    if stamp is None:  # a flushed database (tests): a new stamp, so no snapshot of older rows can match
        stamp = (1, AuthnConfigStamp.objects.get_or_create(pk=1)[0].updated)
    found = _config
    if found is None or found.stamp != stamp or time.monotonic() - found.built >= MAX_AGE:
        found = _build(stamp)
        _store(found)
    if getattr(_request, "active", False):
        _request.config = found
    return found


def _store(config: Config) -> None:
    global _config
    with _lock:
        _config = config


def _build(stamp: tuple) -> Config:
    built = time.monotonic()  # before reading: a change made while reading is re-read at MAX_AGE at worst
    sign_on = []
    rules = SignOnRule.objects.filter(is_active=True).prefetch_related("groups", "applications", "servers")
    rules_of: dict[int, list[SignOnRule]] = {}
    for rule in sorted(rules, key=lambda r: (r.priority, r.pk)):
        rules_of.setdefault(rule.policy_id, []).append(rule)
    uses_groups = False
    for policy in SignOnPolicy.objects.filter(is_active=True).prefetch_related("groups").order_by("priority", "id"):
        decided = []
        for rule in rules_of.get(policy.pk, []):
            groups = frozenset(g.pk for g in rule.groups.all())
            uses_groups = uses_groups or bool(groups)
            decided.append(
                Rule(
                    groups=groups,
                    applications=frozenset(a.pk for a in rule.applications.all()),
                    servers=frozenset(s.pk for s in rule.servers.all()),
                    decision=_decision(policy, rule),
                )
            )
        sign_on.append(Assigned(frozenset(g.pk for g in policy.groups.all()), tuple(decided)))
    fields = policies.ENROLLMENT_FIELDS.items()
    enrollment = [
        Assigned(frozenset(g.pk for g in p.groups.all()), {t: getattr(p, f) for t, f in fields})
        for p in EnrollmentPolicy.objects.filter(is_active=True).prefetch_related("groups").order_by("priority", "id")
    ]
    password = [
        Assigned(frozenset(g.pk for g in p.groups.all()), _password_rules(p))
        for p in PasswordPolicy.objects.filter(is_active=True).prefetch_related("groups").order_by("priority", "id")
    ]
    origins: dict[str, set[str]] = {"cors": set(), "redirect": set()}
    trusted = TrustedOrigin.objects.filter(is_active=True).values_list("origin", "cors", "redirect")
    for origin, cors, redirect in trusted:
        for kind, on in (("cors", cors), ("redirect", redirect)):
            if on:
                origins[kind].add(origin.lower())
    uses_groups = uses_groups or any(p.groups for p in (*sign_on, *enrollment, *password))
    return Config(
        stamp=stamp,
        built=built,
        sign_on=tuple(sign_on),
        any_sign_on_policy=SignOnPolicy.objects.exists(),
        enrollment=tuple(enrollment),
        password=tuple(password),
        passwordless=SignOnRule.objects.filter(is_active=True, primary=Primary.PASSWORD_OR_PASSKEY).exists(),
        origins={kind: frozenset(values) for kind, values in origins.items()},
        uses_groups=uses_groups,
    )


def _decision(policy: SignOnPolicy, rule: SignOnRule) -> policies.SignOn:
    return policies.SignOn(
        policy=policy.name,
        rule=rule.name,
        allowed=rule.access == Access.ALLOW,
        passwordless=rule.primary == Primary.PASSWORD_OR_PASSKEY,
        mfa=rule.mfa,
        once_per_session=rule.mfa_frequency == MfaFrequency.ONCE_PER_SESSION,
        factor_types=frozenset(rule.factor_types.split()),
        session_lifetime=rule.session_lifetime_minutes * 60,
        session_idle=rule.session_idle_minutes * 60,
    )


def _password_rules(policy: PasswordPolicy) -> policies.PasswordRules:
    return policies.PasswordRules(
        policy=policy.name,
        max_failures=policy.max_failures,
        lockout=timedelta(minutes=policy.lockout_minutes),
        max_age=timedelta(days=policy.max_age_days) if policy.max_age_days else None,
        warn=timedelta(days=policy.warn_days),
        show_lockout_status=policy.show_lockout_status,
        email_recovery=policy.email_recovery,
        self_unlock=policy.self_unlock,
        recovery_token_seconds=policy.recovery_token_minutes * 60,
    )


def forget() -> None:
    """Drop this process's snapshot (and this request's): the next read builds it again."""
    _store(None)  # type: ignore[arg-type]
    _request.config = None


def changed() -> None:
    """The sign-in configuration changed: set the stamp (every process) and forget the snapshot (this one)."""
    if not AuthnConfigStamp.objects.filter(pk=1).update(updated=timezone.now()):
        AuthnConfigStamp.objects.update_or_create(pk=1, defaults={"updated": timezone.now()})
    forget()


# -- signal handlers: every change to the snapshot's rows ---------------------------------------------
def _row_changed(sender: Any, **kwargs: Any) -> None:
    if not kwargs.get("raw"):  # loaddata: the stamp row may not be there yet; forgetting is enough
        changed()
    else:
        forget()


def _members_changed(sender: Any, action: str, **kwargs: Any) -> None:
    if action.startswith("post_"):
        changed()


def _referenced_deleted(sender: Any, **kwargs: Any) -> None:
    # A group, application or server named by a policy or rule: the m2m rows go by cascade, without m2m signals.
    changed()


def _request_started(**kwargs: Any) -> None:
    _request.active, _request.config = True, None


def _request_finished(**kwargs: Any) -> None:
    _request.active, _request.config = False, None


def _settings_changed(**kwargs: Any) -> None:
    forget()  # SECRET_KEY, time zones... (tests override settings)


for _model in (SignOnPolicy, SignOnRule, EnrollmentPolicy, PasswordPolicy, TrustedOrigin):
    post_save.connect(_row_changed, sender=_model, dispatch_uid=f"oidc_flows.authn.config.{_model.__name__}")
    post_delete.connect(_row_changed, sender=_model, dispatch_uid=f"oidc_flows.authn.config.{_model.__name__}-del")
for _through in (
    SignOnPolicy.groups.through,
    EnrollmentPolicy.groups.through,
    PasswordPolicy.groups.through,
    SignOnRule.groups.through,
    SignOnRule.applications.through,
    SignOnRule.servers.through,
):
    m2m_changed.connect(_members_changed, sender=_through, dispatch_uid=f"oidc_flows.authn.config.{_through.__name__}")
for _referenced in (Group, AuthorizationServer, settings.OAUTH2_PROVIDER_APPLICATION_MODEL):
    pre_delete.connect(_referenced_deleted, sender=_referenced, dispatch_uid=f"oidc_flows.authn.config.{_referenced}")
request_started.connect(_request_started, dispatch_uid="oidc_flows.authn.config.request_started")
request_finished.connect(_request_finished, dispatch_uid="oidc_flows.authn.config.request_finished")
setting_changed.connect(_settings_changed, dispatch_uid="oidc_flows.authn.config.settings")
