"""Keep ``UserProfile.password_changed`` true however a password is set (our pages, the admin, ``changepassword``)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db.models.signals import post_save
from django.dispatch import receiver
from django.utils import timezone

from ..models import UserProfile
from . import config  # noqa: F401  (connects the handlers that stamp every change of the sign-in configuration)


@receiver(post_save, sender=settings.AUTH_USER_MODEL, dispatch_uid="oidc_flows.authn.password_changed")
def _note_password_change(sender: Any, instance: Any, created: bool, **kwargs: Any) -> None:
    # AbstractBaseUser keeps the raw password in `_password` from set_password() until after this save.
    if getattr(instance, "_password", None) is None or created:
        return
    updated = UserProfile.objects.filter(user_id=instance.pk).update(password_changed=timezone.now())
    if not updated:
        UserProfile.objects.create(user_id=instance.pk, password_changed=timezone.now())
