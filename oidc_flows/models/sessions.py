"""The IdP's browser sessions, as records a user can list and end, and the applications each one signed in to.

Django's session (one per browser) *is* the IdP session; these rows only describe it. The raw
session key stays on the server side: pages and forms name a record by its random ``sid``.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from .servers import AuthorizationServer


class BrowserSession(models.Model):
    """One signed-in browser: created on sign-in, deleted on sign-out, expiry or "end session"."""

    sid = models.UUIDField(_("session id"), default=uuid.uuid4, unique=True, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="oidc_browser_sessions")
    # The Django session key: a credential, never rendered; it lets the user end the session elsewhere.
    session_key = models.CharField(max_length=64, unique=True, editable=False)
    user_agent = models.CharField(_("browser"), max_length=255, blank=True)
    created = models.DateTimeField(_("signed in"), auto_now_add=True)
    last_seen = models.DateTimeField(_("last used"))
    expires = models.DateTimeField(_("expires"), db_index=True)

    class Meta:
        ordering = ["-last_seen"]

    def __str__(self) -> str:
        return f"{self.user} · {self.user_agent[:40] or 'unknown browser'} · {self.created:%Y-%m-%d %H:%M}"


class SessionApplication(models.Model):
    """An application that received an authorization response in a browser session (single sign-on)."""

    session = models.ForeignKey(BrowserSession, on_delete=models.CASCADE, related_name="applications")
    application = models.ForeignKey(settings.OAUTH2_PROVIDER_APPLICATION_MODEL, on_delete=models.CASCADE)
    server = models.ForeignKey(AuthorizationServer, on_delete=models.CASCADE)
    first_seen = models.DateTimeField(auto_now_add=True)
    last_seen = models.DateTimeField()

    class Meta:
        ordering = ["first_seen"]
        constraints = [
            models.UniqueConstraint(fields=["session", "application", "server"], name="one_row_per_session_client"),
        ]

    def __str__(self) -> str:
        return f"{self.application} via {self.server}"
