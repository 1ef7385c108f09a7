"""Remembered consent, per user, application and server (the consent page is skipped once given)."""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction

from . import snapshots
from .models import Application, AuthorizationServer, Consent, Scope


def scopes_needing_consent(server: AuthorizationServer, scopes: Iterable[str]) -> list[Scope]:
    """The requested scopes that the user must approve, in display order."""
    wanted = set(scopes)
    return [s for s in snapshots.of(server).scopes.values() if s.consent_required and s.name in wanted]


def needed(user: AbstractBaseUser, client: Application, server: AuthorizationServer, scopes: Iterable[str]) -> bool:
    """Whether ``user`` must see the consent page for these scopes."""
    if client.skip_authorization:
        return False  # trusted first-party application, set by an administrator
    if not user.is_authenticated:
        return True
    wanted = {s.name for s in scopes_needing_consent(server, scopes)}
    if not wanted:
        return False
    # One small query with SQL compiled once (every /authorize of a signed-in user asks this).
    where = ("user", "application", "server")
    given = snapshots.read_stamp(Consent, ("scope",), where, [user.pk, client.pk, server.pk])
    return given is None or not wanted <= frozenset(given[0].split())


@transaction.atomic
def remember(
    user: AbstractBaseUser, client: Application, server: AuthorizationServer, scopes: Iterable[str]
) -> Consent:
    """Record that ``user`` approved ``scopes``; earlier approvals are kept."""
    consent, _ = Consent.objects.select_for_update().get_or_create(user=user, application=client, server=server)
    consent.scope = " ".join(sorted(consent.scopes | set(scopes)))
    consent.save()
    return consent
