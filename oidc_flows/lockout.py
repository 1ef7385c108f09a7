"""Sign-in lockout: after too many wrong passwords in a row, a user cannot sign in for a while.

How many and for how long is the user's password policy (``authn.policies.password``: ``max_failures``,
0 meaning never, and ``lockout``); ``MAX_FAILURES`` and ``LOCK_DURATION`` are the built-in default.
Failures count towards a lock only while each follows the previous one within ``WINDOW``.

Enable it with ``AUTHENTICATION_BACKENDS = ["oidc_flows.lockout.LockoutBackend"]`` (in place of
Django's ``ModelBackend``). Counting happens in receivers of ``user_login_failed`` and
``user_logged_in``, defined here: Django imports a backend before it authenticates anyone, so
wherever the backend is in force the receivers are too. The state lives on ``UserProfile``
(``failed_sign_ins``, ``last_failed_sign_in``, ``locked_until``), so every node sees it. A new lock
is written to the sign-in log (``authn.events.LOCK``); an administrator unlocks a user in the admin
(Users → a user → Unlock sign-in).

Only users that exist are counted: a wrong username locks nobody, and nothing is created for it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Final

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.db import transaction
from django.dispatch import receiver
from django.utils import timezone

from .models import UserProfile


#: Wrong passwords in a row (each within ``WINDOW`` of the previous one) that lock the account, when no
#: password policy applies (the built-in default, ``authn.policies.DEFAULT_PASSWORD``).
MAX_FAILURES: Final = 5
#: How long the account stays locked, when no password policy applies.
LOCK_DURATION: Final = timedelta(minutes=15)
#: A failure older than this no longer counts towards the next lock.
WINDOW: Final = timedelta(minutes=15)


def locked_until(user: AbstractBaseUser, *, now: datetime | None = None) -> datetime | None:
    """When the user's lock ends, or ``None`` if the user may sign in now."""
    until = UserProfile.objects.filter(user_id=user.pk).values_list("locked_until", flat=True).first()
    return until if until and until > (now or timezone.now()) else None


def is_locked(user: AbstractBaseUser, *, now: datetime | None = None) -> bool:
    """Whether sign-in is refused for ``user`` because of too many wrong passwords."""
    return locked_until(user, now=now) is not None


@transaction.atomic
def record_failure(user: AbstractBaseUser, *, now: datetime | None = None, request: Any = None) -> UserProfile:
    """Count one wrong password for ``user``; lock the account when its password policy says so."""
    from .authn import events, policies  # the policies import the models, which import this app's models

    rules = policies.password(user)
    now = now or timezone.now()
    UserProfile.objects.get_or_create(user=user)
    profile = UserProfile.objects.select_for_update().get(user=user)  # two nodes may count at once
    if profile.locked_until and profile.locked_until > now:
        return profile  # already locked: more attempts do not extend the lock
    stale = profile.last_failed_sign_in is None or now - profile.last_failed_sign_in > WINDOW
    expired_lock = profile.locked_until is not None
    profile.failed_sign_ins = 1 if stale or expired_lock else profile.failed_sign_ins + 1
    profile.last_failed_sign_in = now
    locks = 0 < rules.max_failures <= profile.failed_sign_ins
    profile.locked_until = now + rules.lockout if locks else None
    profile.save(update_fields=["failed_sign_ins", "last_failed_sign_in", "locked_until"])
    if locks:
        events.record(
            events.LOCK,
            request=request,
            user=user,
            reason="too many wrong passwords",
            failures=profile.failed_sign_ins,
            policy=rules.policy,
        )
    return profile


def unlock(user: AbstractBaseUser) -> bool:
    """Lift the lock and forget the failures; return whether there was anything to reset."""
    changed = UserProfile.objects.filter(user_id=user.pk).exclude(failed_sign_ins=0, locked_until=None)
    return bool(changed.update(failed_sign_ins=0, last_failed_sign_in=None, locked_until=None))


class LockoutBackend(ModelBackend):
    """Django's ``ModelBackend`` that refuses locked users, even with the right password."""

    def user_can_authenticate(self, user: AbstractBaseUser | None) -> bool:
        return super().user_can_authenticate(user) and not is_locked(user)


@receiver(user_login_failed, dispatch_uid="oidc_flows.lockout.failed")
def _count_failure(sender: Any, credentials: dict[str, Any], request: Any = None, **kwargs: Any) -> None:
    model = get_user_model()
    username = credentials.get(model.USERNAME_FIELD) or credentials.get("username")
    if not isinstance(username, str) or not username:
        return
    user = model._default_manager.filter(**{model.USERNAME_FIELD: username}).first()
    if user is not None:
        record_failure(user, request=request)


@receiver(user_logged_in, dispatch_uid="oidc_flows.lockout.signed_in")
def _reset_failures(sender: Any, user: AbstractBaseUser, **kwargs: Any) -> None:
    UserProfile.objects.filter(user_id=user.pk, failed_sign_ins__gt=0).update(
        failed_sign_ins=0, last_failed_sign_in=None
    )
