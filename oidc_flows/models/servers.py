"""Authorization servers (the org server and custom ones) and their scopes."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from ..settings import flows_settings


#: Ids that would collide with URL segments: /oauth2/v1/... belongs to the org server.
RESERVED_SERVER_IDS = frozenset({"v1", "org", "well-known"})
ORG_SERVER_ID = "org"
server_id_validator = RegexValidator(
    r"^[a-z0-9][a-z0-9-]{0,62}$", _("Use 1-63 lowercase letters, digits and hyphens, starting with a letter or digit.")
)


class AuthorizationServerQuerySet(models.QuerySet):
    def active(self) -> AuthorizationServerQuerySet:
        return self.filter(is_active=True)

    def for_url(self, server_id: str | None) -> AuthorizationServerQuerySet:
        """The server that a URL names; ``None`` is the org server (/oauth2/v1/...)."""
        if server_id is None:
            return self.filter(is_org=True)
        return self.filter(server_id=server_id, is_org=False)


class AuthorizationServer(models.Model):
    """An issuer of tokens: its own endpoints, keys, scopes and (later) access policies."""

    server_id = models.CharField(
        _("server id"),
        max_length=63,
        unique=True,
        validators=[server_id_validator],
        help_text=_("Appears in the URLs: /oauth2/SERVER-ID/v1/authorize. Cannot change later."),
    )
    name = models.CharField(_("name"), max_length=100)
    description = models.TextField(_("description"), blank=True)
    audience = models.CharField(
        _("audience"),
        max_length=255,
        blank=True,
        help_text=_("The 'aud' of the access tokens this server issues; default api://SERVER-ID."),
    )
    is_org = models.BooleanField(
        _("org server"),
        default=False,
        editable=False,
        help_text=_("The org server issues tokens for the IdP's own APIs; its endpoints are /oauth2/v1/."),
    )
    is_active = models.BooleanField(_("active"), default=True)
    key_rotation_days = models.PositiveIntegerField(
        _("rotate signing key every (days)"),
        default=90,
        help_text=_(
            "The active key is replaced automatically after this many days; 0: only when an administrator rotates it."
        ),
    )
    fapi_profile = models.BooleanField(
        _("FAPI 2.0 Security Profile"),
        default=False,
        help_text=_(
            "Enforce the FAPI 2.0 Security Profile on this server: pushed authorization requests, PKCE "
            "S256, confidential clients with private_key_jwt, DPoP-bound tokens, response_type=code "
            "only (no implicit, hybrid or password), authorization codes of 60 seconds at most, and "
            "PS256 or ES256 signing keys."
        ),
    )
    require_pushed_authorization_requests = models.BooleanField(
        _("require PAR"),
        default=False,
        help_text=_("/authorize accepts only pushed authorization requests (RFC 9126) on this server."),
    )
    require_signed_request_object = models.BooleanField(
        _("require signed request objects"),
        default=False,
        help_text=_("/authorize and /par accept only requests sent as signed request objects (RFC 9101)."),
    )
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    objects = AuthorizationServerQuerySet.as_manager()

    class Meta:
        ordering = ["-is_org", "server_id"]
        constraints = [
            models.UniqueConstraint(fields=["is_org"], condition=models.Q(is_org=True), name="one_org_server"),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs) -> None:
        if not self.audience and not self.is_org:
            self.audience = self.default_audience  # the org server's follows BASE_URL: see effective_audience
        super().save(*args, **kwargs)

    def clean(self) -> None:
        if not self.is_org and self.server_id in RESERVED_SERVER_IDS:
            raise ValidationError({"server_id": _("'%(id)s' is reserved.") % {"id": self.server_id}})

    @property
    def effective_audience(self) -> str:
        """The ``aud`` of this server's access tokens: the org server's follows BASE_URL (its issuer)."""
        return self.audience or self.default_audience

    @property
    def default_audience(self) -> str:
        return self.issuer if self.is_org else f"api://{self.server_id}"

    @property
    def issuer(self) -> str:
        """The ``iss`` of every token and the base of every endpoint; built from BASE_URL only."""
        base = flows_settings().BASE_URL
        return base if self.is_org else f"{base}/oauth2/{self.server_id}"

    @property
    def endpoint_base(self) -> str:
        base = flows_settings().BASE_URL
        return f"{base}/oauth2/v1" if self.is_org else f"{self.issuer}/v1"

    def endpoint_url(self, name: str) -> str:
        """Absolute URL of one of this server's endpoints (authorize, token, keys, ...)."""
        return f"{self.endpoint_base}/{name}"

    @property
    def discovery_url(self) -> str:
        return f"{self.issuer}/.well-known/openid-configuration"

    @property
    def profile(self):
        """The security profile this server enforces (policy.FAPI2), or None."""
        from .. import policy

        return policy.FAPI2 if self.fapi_profile else None

    @property
    def requires_par(self) -> bool:
        return self.require_pushed_authorization_requests or self.fapi_profile

    @property
    def requires_dpop(self) -> bool:
        return self.fapi_profile

    @property
    def issues_jwt_access_tokens(self) -> bool:
        # Org server access tokens are opaque: only the IdP's own endpoints accept them.
        return not self.is_org


class Scope(models.Model):
    server = models.ForeignKey(AuthorizationServer, on_delete=models.CASCADE, related_name="scopes")
    name = models.CharField(
        _("name"),
        max_length=255,
        validators=[
            RegexValidator(r"^[\x21\x23-\x5B\x5D-\x7E]+$", _("RFC 6749 §3.3: no spaces, quotes or backslashes."))
        ],
    )
    description = models.CharField(_("description"), max_length=255, help_text=_("Shown on the consent page."))
    consent_required = models.BooleanField(_("consent required"), default=True)
    is_default = models.BooleanField(
        _("default scope"), default=False, help_text=_("Granted when a request names no scope.")
    )
    include_in_metadata = models.BooleanField(_("listed in discovery"), default=True)
    is_system = models.BooleanField(_("system scope"), default=False, editable=False)

    class Meta:
        ordering = ["server", "-is_system", "name"]
        constraints = [models.UniqueConstraint(fields=["server", "name"], name="unique_scope_per_server")]

    def __str__(self) -> str:
        return self.name
