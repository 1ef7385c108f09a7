"""Access policies and their rules: who may get which tokens from a custom server, and for how long.

Okta's model: policies in priority order, each assigned to some or all clients, each holding rules
in priority order. The first rule that matches, in the first policy that has one, decides.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from .. import policy
from .servers import AuthorizationServer


GRANT_CHOICES = [(g.value, g.value) for g in policy.Grant]


#: The longest an access token may live (Okta's limit too); revocations are kept this long.
MAX_ACCESS_TOKEN_SECONDS = 86400


class AccessPolicy(models.Model):
    server = models.ForeignKey(AuthorizationServer, on_delete=models.CASCADE, related_name="access_policies")
    name = models.CharField(_("name"), max_length=100)
    description = models.CharField(_("description"), max_length=255, blank=True)
    priority = models.PositiveIntegerField(_("priority"), default=1, help_text=_("Lower numbers are evaluated first."))
    is_active = models.BooleanField(_("active"), default=True)
    all_clients = models.BooleanField(
        _("all clients"), default=True, help_text=_("Applies to every application; otherwise only to those listed.")
    )
    clients = models.ManyToManyField(
        settings.OAUTH2_PROVIDER_APPLICATION_MODEL,
        blank=True,
        related_name="access_policies",
        verbose_name=_("assigned applications"),
    )
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["server", "priority", "id"]
        verbose_name_plural = _("access policies")

    def __str__(self) -> str:
        return f"{self.server.server_id}: {self.name}"


class PolicyRule(models.Model):
    policy = models.ForeignKey(AccessPolicy, on_delete=models.CASCADE, related_name="rules")
    name = models.CharField(_("name"), max_length=100)
    priority = models.PositiveIntegerField(_("priority"), default=1, help_text=_("Lower numbers are evaluated first."))
    is_active = models.BooleanField(_("active"), default=True)
    # -- conditions (empty: any) --
    grant_types = models.CharField(
        _("grant types"),
        max_length=255,
        blank=True,
        help_text=_("Space-separated grant types this rule applies to; empty: any grant type."),
    )
    users = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="+", verbose_name=_("users"))
    groups = models.ManyToManyField(Group, blank=True, related_name="+", verbose_name=_("groups"))
    scopes = models.CharField(
        _("scopes"),
        max_length=1000,
        blank=True,
        help_text=_("Space-separated scopes a request may ask for under this rule; empty: any scope of the server."),
    )
    # -- actions --
    access_token_seconds = models.PositiveIntegerField(
        _("access token lifetime (s)"),
        default=3600,
        validators=[MinValueValidator(60), MaxValueValidator(MAX_ACCESS_TOKEN_SECONDS)],
        help_text=_("From 1 minute to 24 hours; Okta's default is one hour."),
    )
    refresh_token_seconds = models.PositiveIntegerField(
        _("refresh token lifetime (s)"),
        null=True,
        blank=True,
        help_text=_("Total lifetime of a refresh token family; empty: unlimited."),
    )
    refresh_token_idle_seconds = models.PositiveIntegerField(
        _("refresh token idle expiry (s)"),
        null=True,
        blank=True,
        default=7 * 24 * 3600,
        help_text=_("A refresh token unused for this long expires; empty: never."),
    )

    class Meta:
        ordering = ["policy", "priority", "id"]

    def __str__(self) -> str:
        return self.name

    @property
    def grant_type_set(self) -> frozenset[str]:
        return frozenset(self.grant_types.split())

    @property
    def scope_set(self) -> frozenset[str]:
        return frozenset(self.scopes.split())

    def clean(self) -> None:
        unknown = self.grant_type_set - {g.value for g in policy.Grant}
        if unknown:
            raise ValidationError({"grant_types": _("Unknown grant types: %s.") % ", ".join(sorted(unknown))})
        if self.refresh_token_seconds is not None and self.refresh_token_seconds < self.access_token_seconds:
            raise ValidationError({"refresh_token_seconds": _("A refresh token must outlive its access tokens.")})
