"""Applications (OAuth clients): DOT's swapped model, typed by application_type (policy.APP_TYPES)."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _
from oauth2_provider.models import AbstractApplication

from .. import policy, redirects


APP_TYPE_CHOICES = [(t.value, rule.label) for t, rule in policy.APP_TYPES.items()]
AUTH_METHOD_CHOICES = [(m, m) for m in policy.TOKEN_ENDPOINT_AUTH_METHODS]
SUBJECT_TYPE_CHOICES = [
    (policy.SubjectType.PUBLIC.value, _("Public: the same sub for every application")),
    (policy.SubjectType.PAIRWISE.value, _("Pairwise: a sub of its own for this application's sector")),
]


class Application(AbstractApplication):
    application_type = models.CharField(
        _("application type"),
        max_length=16,
        choices=APP_TYPE_CHOICES,
        help_text=_("Decides which flows the application may use and whether it keeps a secret."),
    )
    grant_types = models.CharField(
        _("grant types"),
        max_length=255,
        blank=True,
        help_text=_("Space-separated grant types this application may use; empty means its type's defaults."),
    )
    token_endpoint_auth_method = models.CharField(
        _("token endpoint authentication"),
        max_length=32,
        choices=AUTH_METHOD_CHOICES,
        blank=True,
        help_text=_("How the application proves who it is at /token; public clients use 'none'."),
    )
    is_active = models.BooleanField(_("active"), default=True, help_text=_("Inactive applications get no tokens."))
    #: The management API's scopes (policy.MANAGEMENT_SCOPES) an administrator granted this application for
    #: its client_credentials tokens of the org server; nothing else grants them to an application.
    management_scopes = models.TextField(
        _("management API scopes"),
        blank=True,
        default="",
        help_text=_(
            "Space-separated scopes of the management API (/api/v1/) this application may request from the org "
            "server with client credentials, e.g. oidc_flows.apps.read oidc_flows.users.manage."
        ),
    )
    # -- high-security clients (RFC 7523, RFC 9101, RFC 9126, RFC 9449) ---------------------------
    jwks = models.JSONField(
        _("public keys (JWKS)"),
        blank=True,
        default=dict,
        help_text=_(
            'The application\'s public keys as a JWK Set ({"keys": [...]}), for private_key_jwt and signed '
            "request objects. Leave empty when it publishes them at a JWKS URI."
        ),
    )
    jwks_uri = models.URLField(
        _("JWKS URI"),
        max_length=500,
        blank=True,
        help_text=_("Where the application publishes its public keys (https). Fetched with a timeout, and cached."),
    )
    token_endpoint_auth_signing_alg = models.CharField(
        _("client assertion algorithm"),
        max_length=8,
        blank=True,
        help_text=_("The one algorithm the application signs its client assertions with; empty: any allowed one."),
    )
    #: The secret of a client_secret_jwt application, encrypted at rest (oidc_flows.sealing): the
    #: server must compute the HMAC itself, so a one-way hash cannot serve. Empty for other methods.
    sealed_client_secret = models.TextField(blank=True, default="", editable=False)
    request_uris = models.TextField(
        _("request URIs"),
        blank=True,
        help_text=_(
            "Space-separated https URLs (or prefixes ending in /) where the application hosts request "
            "objects; empty: only the server's own pushed request URIs."
        ),
    )
    require_pushed_authorization_requests = models.BooleanField(
        _("require PAR"),
        default=False,
        help_text=_("/authorize accepts this application's requests only as pushed authorization requests."),
    )
    require_signed_request_object = models.BooleanField(
        _("require signed request objects"),
        default=False,
        help_text=_("/authorize and /par accept this application's requests only as signed request objects."),
    )
    dpop_bound_access_tokens = models.BooleanField(
        _("require DPoP"),
        default=False,
        help_text=_("Tokens are issued to this application only with a DPoP proof, and bound to its key."),
    )
    # -- logout that reaches the application (OIDC Back-Channel / Front-Channel Logout 1.0) ---------
    # The names are the registration metadata's (Back-Channel §2.2, Front-Channel §2).
    backchannel_logout_uri = models.CharField(
        _("back-channel logout URI"),
        max_length=500,
        blank=True,
        help_text=_(
            "When a user's IdP session ends, a signed logout token is POSTed here (https; http only on a "
            "loopback address). Retried until the application answers 2xx."
        ),
    )
    backchannel_logout_session_required = models.BooleanField(
        _("back-channel logout needs sid"),
        default=False,
        help_text=_("The application needs the session id (sid) in logout tokens; they always carry it here."),
    )
    frontchannel_logout_uri = models.CharField(
        _("front-channel logout URI"),
        max_length=500,
        blank=True,
        help_text=_(
            "Loaded in an invisible iframe on the signed-out page. Same scheme, host and port as one of "
            "the redirect URIs."
        ),
    )
    frontchannel_logout_session_required = models.BooleanField(
        _("front-channel logout needs iss and sid"),
        default=False,
        help_text=_("The iframe's URL carries the issuer (iss) and the session id (sid) as query parameters."),
    )

    # -- dynamic client registration (RFC 7591, RFC 7592; oidc_flows.dcr) ------------------------------
    # DOT's ``registration_source`` says how it was registered ("dcr": registered dynamically).
    #: Keyed hash of the registration access token (RFC 7592 §1); empty: not manageable through the API.
    registration_access_token = models.CharField(max_length=255, blank=True, default="", editable=False)
    initial_access_token = models.ForeignKey(
        "oidc_flows.InitialAccessToken",
        verbose_name=_("registered with"),
        null=True,
        blank=True,
        editable=False,
        on_delete=models.SET_NULL,
        related_name="applications",
    )
    #: Registered metadata that only informs (RFC 7591 §2: logo_uri, client_uri, policy_uri, tos_uri, ...).
    client_metadata = models.JSONField(_("client metadata"), blank=True, default=dict, editable=False)

    # -- subject identifiers (OIDC Core §8; oidc_flows.subjects) ---------------------------------------
    subject_type = models.CharField(
        _("subject type"),
        max_length=16,
        choices=SUBJECT_TYPE_CHOICES,
        default=policy.SubjectType.PUBLIC.value,
        help_text=_(
            "Pairwise: the application sees a sub that no other application (outside its sector) sees for the "
            "same user, so applications cannot correlate users. Changing it changes the sub it sees."
        ),
    )
    sector_identifier_uri = models.URLField(
        _("sector identifier URI"),
        max_length=500,
        blank=True,
        help_text=_(
            "Pairwise only: an https URL serving a JSON array of redirect URIs that includes all of this "
            "application's. Its host is the sector: applications of one sector see the same sub. Needed when "
            "the redirect URIs have several hosts; without it, the sector is the redirect URIs' host."
        ),
    )

    class Meta(AbstractApplication.Meta):
        swappable = "OAUTH2_PROVIDER_APPLICATION_MODEL"

    @property
    def rule(self) -> policy.AppTypeRule:
        return policy.APP_TYPES[policy.AppType(self.application_type)]

    @property
    def grant_type_set(self) -> frozenset[str]:
        return frozenset(self.grant_types.split()) or frozenset(self.rule.default_grants)

    def allows_grant(self, grant: str) -> bool:
        """Return whether this application may use ``grant``: its type allows it and it holds it."""
        return policy.may_use(self.application_type, grant) and grant in self.grant_type_set

    def refusal(self, grant: str) -> str | None:
        """Why this application may not use ``grant``, in words a developer can act on; None if it may."""
        if self.allows_grant(grant):
            return None
        if not policy.may_use(self.application_type, grant):
            return f"A {self.rule.label.lower()} can never use the {grant} grant."
        return f"This application is not enabled for the {grant} grant; an administrator can enable it."

    def save(self, *args, **kwargs) -> None:
        rule = self.rule
        self.client_type = self.CLIENT_CONFIDENTIAL if rule.confidential else self.CLIENT_PUBLIC
        if not self.grant_types:
            self.grant_types = " ".join(sorted(rule.default_grants))
        if not self.token_endpoint_auth_method:
            self.token_endpoint_auth_method = "client_secret_basic" if rule.confidential else "none"
        # DOT's single-grant column: kept coherent for DOT's own admin and helpers only.
        code = policy.Grant.AUTHORIZATION_CODE in self.grant_type_set
        self.authorization_grant_type = self.GRANT_AUTHORIZATION_CODE if code else self.GRANT_CLIENT_CREDENTIALS
        if not rule.confidential:
            self.client_secret = ""  # public: nothing to hash (and "" never authenticates: the method is "none")
            self.hash_client_secret = False
        super().save(*args, **kwargs)

    def clean(self) -> None:
        errors: dict[str, list[str]] = {}
        if self.application_type not in policy.APP_TYPES:
            raise ValidationError({"application_type": _("Choose an application type.")})
        rule = self.rule
        unknown = self.grant_type_set - set(policy.Grant)
        refused = (self.grant_type_set & set(policy.Grant)) - rule.grants
        if unknown:
            errors.setdefault("grant_types", []).append(_("Unknown grant types: %s.") % ", ".join(sorted(unknown)))
        if refused:
            errors.setdefault("grant_types", []).append(
                _("A %(type)s cannot use %(grants)s.")
                % {"type": rule.label.lower(), "grants": ", ".join(sorted(refused))}
            )
        uris = self.redirect_uris.split()
        if not rule.redirects and uris:
            errors.setdefault("redirect_uris", []).append(
                _("This type of application never redirects: leave it empty.")
            )
        for uri in uris:
            kind = redirects.classify(uri)
            if kind is None or kind not in rule.redirects:
                allowed = ", ".join(sorted(rule.redirects)) or "none"
                errors.setdefault("redirect_uris", []).append(
                    _("%(uri)s is not allowed for this type (allowed: %(allowed)s; no fragments).")
                    % {"uri": uri, "allowed": allowed}
                )
        for uri in self.post_logout_redirect_uris.split():
            # RP-Initiated Logout §3: the same rules as redirect URIs (no javascript:, no fragments...).
            kind = redirects.classify(uri)
            if kind is None or kind not in rule.redirects:
                errors.setdefault("post_logout_redirect_uris", []).append(
                    _("%(uri)s is not allowed for this type of application.") % {"uri": uri}
                )
        errors |= logout_uri_errors(self)
        if why := self.management_scope_errors():
            errors.setdefault("management_scopes", []).extend(why)
        needs_redirect = self.grant_type_set & {policy.Grant.AUTHORIZATION_CODE, policy.Grant.IMPLICIT}
        if rule.redirects and needs_redirect and not uris:
            errors.setdefault("redirect_uris", []).append(_("Register at least one redirect URI."))
        if not errors:
            from .. import subjects  # imports the models

            # OIDC Core §8.1 / OIDC Registration §5: the sector, checked (and fetched) where every path passes.
            for field, messages in subjects.sector_errors(self).items():
                errors.setdefault(field, []).extend(messages)
        if errors:
            raise ValidationError(errors)

    @property
    def management_scope_set(self) -> frozenset[str]:
        """The management API scopes an administrator granted this application (client credentials only)."""
        return frozenset(self.management_scopes.split())

    def management_scope_errors(self) -> list[str]:
        granted = self.management_scope_set
        if not granted:
            return []
        if unknown := granted - policy.MANAGEMENT_SCOPES.keys():
            return [_("Unknown management API scopes: %s.") % ", ".join(sorted(unknown))]
        if not self.allows_grant(policy.Grant.CLIENT_CREDENTIALS):
            return [_("Only an application that uses the client_credentials grant can be granted these scopes.")]
        return []

    @property
    def holds_logout_uris(self) -> bool:
        return bool(self.backchannel_logout_uri or self.frontchannel_logout_uri)

    @property
    def is_pairwise(self) -> bool:
        return self.subject_type == policy.SubjectType.PAIRWISE

    def requires_par(self, server) -> bool:
        """Whether /authorize takes this application's requests only through /par on ``server``."""
        return self.require_pushed_authorization_requests or server.requires_par

    def requires_signed_request_object(self, server) -> bool:
        return self.require_signed_request_object or server.require_signed_request_object

    def requires_dpop(self, server) -> bool:
        """Whether ``server`` issues this application only sender-constrained (DPoP) tokens."""
        return self.dpop_bound_access_tokens or server.requires_dpop

    def get_allowed_schemes(self) -> list[str]:
        schemes = {urisplit.split(":", 1)[0].lower() for urisplit in self.redirect_uris.split()}
        return sorted(schemes | {"https"})

    def redirect_uri_allowed(self, uri: str) -> bool:
        return redirects.matches(uri, self.redirect_uris.split())

    def origin_allowed(self, origin: str) -> bool:
        # CORS: an exact registered origin, https or (as the admin accepts for development) http on a
        # loopback host. DOT's version allows only OAUTH2_PROVIDER["ALLOWED_SCHEMES"], i.e. https.
        kind = redirects.classify(f"{origin}/")
        return kind in (policy.Redirect.HTTPS, policy.Redirect.LOOPBACK) and origin in self.allowed_origins.split()

    def is_usable(self, request) -> bool:
        return self.is_active


def _origin(uri: str) -> tuple[str, str | None, int | None]:
    parts = urlsplit(uri)
    default = {"https": 443, "http": 80}.get(parts.scheme.lower())
    return parts.scheme.lower(), (parts.hostname or "").lower(), parts.port or default


def logout_uri_errors(app: Application) -> dict[str, list[str]]:
    """Why ``app``'s logout URIs cannot be used, by field.

    Back-Channel §2.2 and Front-Channel §2: absolute, no fragment, https (we allow plain http only on a
    loopback address, as for redirect URIs: a logout token or a session id never crosses a network
    in clear). Front-Channel §2: "The domain, port, and scheme of this URL MUST be the same as that of
    a registered Redirection URI value."
    """
    errors: dict[str, list[str]] = {}
    usable = (policy.Redirect.HTTPS, policy.Redirect.LOOPBACK)
    for name in ("backchannel_logout_uri", "frontchannel_logout_uri"):
        uri = getattr(app, name)
        if uri and redirects.classify(uri) not in usable:
            errors[name] = [
                _("Use an https URL without a fragment (plain http only for 127.0.0.1, [::1] or localhost).")
            ]
    front = app.frontchannel_logout_uri
    if front and "frontchannel_logout_uri" not in errors:
        if _origin(front) not in {_origin(uri) for uri in app.redirect_uris.split()}:
            errors["frontchannel_logout_uri"] = [
                _("Use the scheme, host and port of one of the application's redirect URIs.")
            ]
    return errors
