"""Evaluate a custom server's access policies for one token request (admin-configured rules).

Policies are read in priority order; a policy counts only if the client is assigned to it. Within
it, rules are read in priority order; the first rule whose conditions (grant type, user or group,
scopes) all hold decides: a token is issued, with that rule's lifetimes. The org server has no
policies: it issues tokens for the IdP's own APIs with fixed lifetimes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.auth.base_user import AbstractBaseUser
from django.utils import timezone

from . import snapshots
from .models import AccessPolicy, Application, AuthorizationServer, PolicyRule
from .settings import flows_settings


#: What an administrator sees in the error description: no policy internals (names, ids) leak.
NO_MATCH = "No access policy of this authorization server allows this request."


@dataclass(frozen=True, slots=True)
class Decision:
    """Why a token may be issued, and how long its parts live."""

    access_token_seconds: int
    refresh_token_seconds: int | None
    refresh_token_idle_seconds: int | None
    policy: AccessPolicy | None = None
    rule: PolicyRule | None = None

    def family_expires(self, now: datetime | None = None) -> datetime | None:
        if self.refresh_token_seconds is None:
            return None
        return (now or timezone.now()) + timedelta(seconds=self.refresh_token_seconds)

    def describe(self) -> str:
        if self.rule is None:
            return "org server (fixed lifetimes)"
        return f"policy “{self.policy.name}”, rule “{self.rule.name}”"


def org_decision() -> Decision:
    return Decision(flows_settings().ACCESS_TOKEN_SECONDS, None, None)


def _rule_matches(rule: PolicyRule, grant_type: str, user: AbstractBaseUser | None, scopes: frozenset[str]) -> bool:
    if rule.grant_type_set and grant_type not in rule.grant_type_set:
        return False
    if rule.scope_set and not scopes <= rule.scope_set:
        return False
    user_ids = {u.pk for u in rule.users.all()}
    group_ids = {g.pk for g in rule.groups.all()}
    if not (user_ids or group_ids):
        return True  # everyone, including client_credentials (no user)
    if user is None:
        return False
    return user.pk in user_ids or bool(group_ids & set(user.groups.values_list("pk", flat=True)))


def applicable_policies(server: AuthorizationServer, client: Application) -> list[AccessPolicy]:
    """The server's active policies that the client is assigned to, in priority order (active rules prefetched)."""
    snapshot = snapshots.of(server)
    return [p for p in snapshot.policies if p.all_clients or client.pk in snapshot.policy_clients[p.pk]]


def evaluate(
    server: AuthorizationServer,
    client: Application,
    grant_type: str,
    user: AbstractBaseUser | None,
    scopes: Iterable[str],
) -> Decision | None:
    """The decision for a token request, or ``None`` when no rule allows it."""
    if server.is_org:
        return org_decision()
    wanted = frozenset(scopes)
    for access_policy in applicable_policies(server, client):
        for rule in access_policy.rules.all():
            if _rule_matches(rule, grant_type, user, wanted):
                return Decision(
                    rule.access_token_seconds,
                    rule.refresh_token_seconds,
                    rule.refresh_token_idle_seconds,
                    policy=access_policy,
                    rule=rule,
                )
    return None


def create_default_policy(server: AuthorizationServer) -> AccessPolicy:
    """Okta's ``default`` policy: every client, any grant its type allows, one-hour access tokens,
    refresh tokens that live while they are used at least once a week."""
    access_policy = AccessPolicy.objects.create(
        server=server, name="Default Policy", description="Applies to every application.", priority=1
    )
    PolicyRule.objects.create(policy=access_policy, name="Default Policy Rule", priority=1)
    return access_policy
