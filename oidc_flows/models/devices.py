"""Device authorizations (RFC 8628): a device's pending request, approved or denied on /activate."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from .clients import Application
from .servers import AuthorizationServer


class DeviceStatus(models.TextChoices):
    PENDING = "pending", _("waiting for the user")
    APPROVED = "approved", _("approved")
    DENIED = "denied", _("denied")
    USED = "used", _("tokens issued")


class DeviceAuthorization(models.Model):
    """One device authorization request (RFC 8628 §3.1), from /device/authorize until its tokens are issued.

    ``device_code`` is a credential of the device: only its SHA-256 is stored, and the token endpoint
    looks it up by that. ``user_code`` is stored normalised (8 letters, no dash); it is unique, so a
    code the user types names one request only.
    """

    server = models.ForeignKey(AuthorizationServer, on_delete=models.CASCADE, related_name="+")
    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="+")
    device_code_hash = models.CharField(max_length=64, unique=True, editable=False)
    user_code = models.CharField(_("user code"), max_length=16, unique=True)
    scope = models.TextField(_("scopes"), blank=True)
    status = models.CharField(_("status"), max_length=16, choices=DeviceStatus.choices, default=DeviceStatus.PENDING)
    expires = models.DateTimeField(_("expires"), db_index=True)
    #: Seconds between polls; a poll that comes sooner answers slow_down and adds 5 (RFC 8628 §3.5).
    interval = models.PositiveIntegerField(_("polling interval (s)"))
    last_poll = models.DateTimeField(_("last poll"), null=True, blank=True)
    # -- the user's decision, and the sign-in behind it (the ID token's auth_time, amr and acr) --
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    decided = models.DateTimeField(_("decided"), null=True, blank=True)
    auth_time = models.DateTimeField(null=True, blank=True)
    amr = models.CharField(max_length=200, blank=True)
    acr = models.CharField(max_length=200, blank=True)
    created = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["-created"]
        verbose_name = _("device authorization")

    def __str__(self) -> str:
        return f"{self.user_code[:4]}-{self.user_code[4:]} ({self.status})"
