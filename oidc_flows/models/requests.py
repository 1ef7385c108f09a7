"""Pushed authorization requests (RFC 9126) and one-time values (assertion and proof ``jti``s)."""

from __future__ import annotations

from django.db import models

from .clients import Application
from .servers import AuthorizationServer


class PushedAuthorizationRequest(models.Model):
    """An authorization request a client pushed to /par; /authorize redeems it once, before it expires.

    ``reference`` is the random part of ``request_uri`` (``urn:ietf:params:oauth:request_uri:<reference>``).
    The parameters pushed are the only ones /authorize uses (RFC 9126 §4).
    """

    server = models.ForeignKey(AuthorizationServer, on_delete=models.CASCADE, related_name="+")
    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="+")
    reference = models.CharField(max_length=64, unique=True)
    parameters = models.JSONField()
    expires = models.DateTimeField(db_index=True)
    used_at = models.DateTimeField(null=True, blank=True)
    created = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"PAR {self.reference[:8]}… for {self.application_id}"


class OneTimeUse(models.Model):
    """A value that may be seen once until ``expires`` (oidc_flows.replay), when no shared cache holds it."""

    key = models.CharField(max_length=128, unique=True)
    expires = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"{self.key[:12]}…"
