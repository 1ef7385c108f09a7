"""Logout notices owed to applications (OpenID Connect Back-Channel Logout 1.0), kept until delivered.

A row is written in the transaction that ends the IdP session, so a crash or a restart loses none;
``oidc_flows.applogout`` signs the logout token when it sends it and retries with back-off.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from .servers import AuthorizationServer


class LogoutDelivery(models.Model):
    """One logout token owed to one application, for one ended session, through one server."""

    application = models.ForeignKey(
        settings.OAUTH2_PROVIDER_APPLICATION_MODEL, on_delete=models.CASCADE, related_name="logout_deliveries"
    )
    server = models.ForeignKey(AuthorizationServer, on_delete=models.CASCADE, related_name="+")
    #: The ended session's ``sid`` and the user's ``sub`` as this application knows them (the token's claims).
    sid = models.CharField(_("session id"), max_length=64)
    sub = models.CharField(_("subject"), max_length=255)
    created = models.DateTimeField(_("session ended"), auto_now_add=True)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    #: When a worker may (next) send it; while one sends it, the end of its claim; null: finished.
    next_attempt = models.DateTimeField(_("next attempt"), null=True, blank=True, db_index=True)
    last_error = models.CharField(_("last error"), max_length=300, blank=True, default="")
    delivered_at = models.DateTimeField(_("delivered"), null=True, blank=True)

    class Meta:
        ordering = ["-created"]
        verbose_name = _("back-channel logout delivery")
        verbose_name_plural = _("back-channel logout deliveries")

    def __str__(self) -> str:
        return f"logout of session {self.sid} → {self.application}"

    @property
    def status(self) -> str:
        if self.delivered_at is not None:
            return "delivered"
        if self.next_attempt is None:
            return "failed"  # every retry spent
        return "retrying" if self.attempts else "pending"
