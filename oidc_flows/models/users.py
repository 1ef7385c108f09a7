"""What the IdP keeps about end users beyond Django's User: OIDC profile claims and consents."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from .servers import AuthorizationServer


class UserProfile(models.Model):
    """Standard claims (OIDC Core §5.1) that django.contrib.auth's User does not have."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="oidc_profile")
    middle_name = models.CharField(max_length=100, blank=True)
    nickname = models.CharField(max_length=100, blank=True)
    picture = models.URLField(blank=True)
    website = models.URLField(blank=True)
    gender = models.CharField(max_length=32, blank=True)
    birthdate = models.DateField(null=True, blank=True)
    zoneinfo = models.CharField(max_length=64, blank=True, help_text=_("e.g. Europe/Paris"))
    locale = models.CharField(max_length=35, blank=True, help_text=_("BCP 47, e.g. en-US"))
    email_verified = models.BooleanField(default=False)
    phone_number = models.CharField(max_length=32, blank=True, help_text=_("E.164, e.g. +1 555 0100"))
    phone_number_verified = models.BooleanField(default=False)
    street_address = models.CharField(max_length=255, blank=True)
    locality = models.CharField(max_length=100, blank=True)
    region = models.CharField(max_length=100, blank=True)
    postal_code = models.CharField(max_length=20, blank=True)
    country = models.CharField(max_length=100, blank=True)
    attributes = models.JSONField(
        default=dict, blank=True, help_text=_('Custom attributes for claims, e.g. {"department": "Finance"}.')
    )
    updated = models.DateTimeField(auto_now=True)
    # -- sign-in lockout (oidc_flows.lockout); not claims, so saving them leaves `updated` alone --
    failed_sign_ins = models.PositiveIntegerField(
        _("failed sign-ins"), default=0, editable=False, help_text=_("Wrong passwords in a row; reset on sign-in.")
    )
    last_failed_sign_in = models.DateTimeField(_("last failed sign-in"), null=True, blank=True, editable=False)
    locked_until = models.DateTimeField(
        _("locked until"), null=True, blank=True, editable=False, help_text=_("No sign-in is accepted before then.")
    )
    #: When the password was last set (oidc_flows.authn: expiry); None: when the user joined.
    password_changed = models.DateTimeField(_("password changed"), null=True, blank=True, editable=False)

    def __str__(self) -> str:
        return f"Profile of {self.user}"


class Consent(models.Model):
    """Scopes a user agreed to share with an application through one server."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="oidc_consents")
    application = models.ForeignKey(settings.OAUTH2_PROVIDER_APPLICATION_MODEL, on_delete=models.CASCADE)
    server = models.ForeignKey(AuthorizationServer, on_delete=models.CASCADE)
    scope = models.TextField(_("scopes"), blank=True)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "application", "server"], name="one_consent_per_client"),
        ]

    def __str__(self) -> str:
        return f"{self.user} → {self.application}: {self.scope}"

    @property
    def scopes(self) -> frozenset[str]:
        return frozenset(self.scope.split())
