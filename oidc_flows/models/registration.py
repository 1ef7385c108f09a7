"""Initial access tokens (RFC 7591 §3): what lets a client register itself at /oauth2/v1/clients."""

from __future__ import annotations

import secrets
from datetime import datetime

from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


#: Client secrets' hasher (oidc_flows.hashers.ClientSecretHasher): these tokens are random, 256 bits.
TOKEN_HASHER = "oidc_hmac_sha256"


def hash_token(value: str) -> str:
    """The stored form of a random token (an initial or a registration access token)."""
    return make_password(value, hasher=TOKEN_HASHER)


def token_matches(value: str, stored: str) -> bool:
    return bool(value and stored) and check_password(value, stored)


class InitialAccessTokenQuerySet(models.QuerySet):
    def usable(self, now: datetime | None = None) -> InitialAccessTokenQuerySet:
        """Tokens that can still register a client: not revoked, not expired, not used up."""
        now = now or timezone.now()
        return self.filter(revoked__isnull=True).filter(
            Q(expires__isnull=True) | Q(expires__gt=now), Q(max_uses__isnull=True) | Q(uses__lt=F("max_uses"))
        )


class InitialAccessToken(models.Model):
    """A bearer token an administrator hands to a developer so that their client can register itself.

    The token is ``<prefix>.<secret>``: the prefix finds the row, and only a keyed hash of the whole
    token is stored, like a client secret. It is shown once, when issued.
    """

    name = models.CharField(_("name"), max_length=100, help_text=_("Who or what it is for, e.g. “partner X, test”."))
    prefix = models.CharField(_("prefix"), max_length=16, unique=True, editable=False)
    token_hash = models.CharField(max_length=255, editable=False)
    created = models.DateTimeField(_("issued"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("issued by"),
        null=True,
        blank=True,
        editable=False,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    expires = models.DateTimeField(_("expires"), null=True, blank=True, help_text=_("Empty: never."))
    max_uses = models.PositiveIntegerField(
        _("registrations allowed"),
        null=True,
        blank=True,
        default=1,
        help_text=_("How many clients it can register; empty: any number until it expires or is revoked."),
    )
    uses = models.PositiveIntegerField(_("registrations made"), default=0, editable=False)
    revoked = models.DateTimeField(_("revoked"), null=True, blank=True, editable=False)

    objects = InitialAccessTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created"]
        verbose_name = _("initial access token")

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @classmethod
    def issue(
        cls, name: str, *, created_by=None, expires: datetime | None = None, max_uses: int | None = 1
    ) -> tuple[InitialAccessToken, str]:
        """Create a token; return it with its plaintext, which is never available again."""
        prefix = secrets.token_hex(6)
        value = f"{prefix}.{secrets.token_urlsafe(32)}"
        row = cls.objects.create(
            name=name,
            prefix=prefix,
            token_hash=hash_token(value),
            created_by=created_by,
            expires=expires,
            max_uses=max_uses,
        )
        return row, value

    @classmethod
    def find(cls, value: str) -> InitialAccessToken | None:
        """The token ``value`` is, usable or not; None if it is none of ours."""
        prefix = value.split(".", 1)[0]
        row = cls.objects.filter(prefix=prefix[:16]).first() if "." in value else None
        return row if row is not None and token_matches(value, row.token_hash) else None

    def refusal(self, now: datetime | None = None) -> str | None:
        """Why this token cannot register a client now (for the error description), or None."""
        now = now or timezone.now()
        if self.revoked:
            return "The initial access token was revoked."
        if self.expires and self.expires <= now:
            return "The initial access token has expired."
        if self.max_uses is not None and self.uses >= self.max_uses:
            return "The initial access token has been used up."
        return None

    def consume(self) -> bool:
        """Count one registration; False if the token stopped being usable meanwhile (one conditional
        UPDATE, so concurrent registrations cannot exceed ``max_uses``)."""
        return bool(InitialAccessToken.objects.usable().filter(pk=self.pk).update(uses=F("uses") + 1))

    def revoke(self) -> None:
        if not self.revoked:
            self.revoked = timezone.now()
            self.save(update_fields=["revoked"])

    @property
    def status(self) -> str:
        return self.refusal() or "usable"
