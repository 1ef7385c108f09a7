"""What the IdP keeps about end users beyond Django's User: OIDC profile claims and consents."""

from __future__ import annotations

import secrets
import string
from typing import Final

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from .servers import AuthorizationServer


#: Okta's user ids: "00u" and 17 base62 characters, 20 in all (about 101 random bits).
SUBJECT_PREFIX: Final = "00u"
SUBJECT_LENGTH: Final = 20
_BASE62: Final = string.digits + string.ascii_letters


def new_subject() -> str:
    """A new opaque user id: random, so it says nothing about when the user joined or how many there are."""
    return SUBJECT_PREFIX + "".join(secrets.choice(_BASE62) for _ in range(SUBJECT_LENGTH - len(SUBJECT_PREFIX)))


class UserProfile(models.Model):
    """Standard claims (OIDC Core §5.1) that django.contrib.auth's User does not have."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="oidc_profile")
    #: The public ``sub`` (OIDC Core §2: "never reassigned"), set once when the profile is created and never
    #: changed: not the primary key (sequential) nor the username (it can change). oidc_flows.subjects.
    subject = models.CharField(
        _("subject identifier"),
        max_length=SUBJECT_LENGTH,
        unique=True,
        default=new_subject,
        editable=False,
        help_text=_("The user's sub claim for applications with public subjects; it never changes."),
    )
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


class PairwiseSubject(models.Model):
    """A pairwise ``sub`` (OIDC Core §8.1) once issued, so that a token carrying it leads back to its user.

    The value is computed (oidc_flows.subjects.pairwise), never chosen: this row only makes the reverse
    lookup (userinfo, introspection, revocation of a JWT access token) one indexed query.
    """

    sector_identifier = models.CharField(max_length=255)
    subject = models.CharField(max_length=64)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        # Not unique per (sector, user): a new PAIRWISE_SALT gives the user new subs, and the old rows keep
        # the tokens issued before it working until they expire.
        constraints = [models.UniqueConstraint(fields=["sector_identifier", "subject"], name="one_pairwise_subject")]

    def __str__(self) -> str:
        return f"{self.sector_identifier}: {self.subject}"
