"""What the sign-in needs to remember: factors, transactions, one-time tokens, policies, trusted origins, events.

The models live in the ``oidc_flows`` app (``app_label``) so that one ``migrate`` installs them; their
home is this subpackage. Every secret is stored hashed (state, session and recovery tokens, recovery
codes) or sealed (TOTP secrets): a copy of the database signs nobody in.
"""

from __future__ import annotations

import secrets
import string
import uuid

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ..models.servers import AuthorizationServer


_ID_ALPHABET = string.ascii_letters + string.digits


def new_factor_id() -> str:
    """An Okta-like opaque id (20 characters); random, so ids say nothing about order or count."""
    return "fct" + "".join(secrets.choice(_ID_ALPHABET) for _ in range(17))


class FactorType(models.TextChoices):
    """Okta's ``factorType`` wire values; ``recovery_code`` is ours (Okta has no recovery codes)."""

    TOTP = "token:software:totp", _("Authenticator app (TOTP)")
    WEBAUTHN = "webauthn", _("Passkey or security key")
    EMAIL = "email", _("Email code")
    RECOVERY_CODE = "recovery_code", _("Recovery codes")


class FactorStatus(models.TextChoices):
    PENDING_ACTIVATION = "PENDING_ACTIVATION", _("pending activation")
    ACTIVE = "ACTIVE", _("active")


class Factor(models.Model):
    """A factor a user enrolled: an authenticator app, a passkey, an email address, a set of recovery codes."""

    id = models.CharField(primary_key=True, max_length=20, default=new_factor_id, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="authn_factors")
    factor_type = models.CharField(_("type"), max_length=32, choices=FactorType.choices)
    provider = models.CharField(_("provider"), max_length=16, default="OKTA")
    status = models.CharField(_("status"), max_length=20, choices=FactorStatus.choices)
    name = models.CharField(_("name"), max_length=100, blank=True)
    #: Sealed (``oidc_flows.sealing``): the TOTP secret. Never rendered.
    secret = models.TextField(blank=True, editable=False)
    #: Public facts: the email address, a WebAuthn credential id, its public key and transports.
    profile = models.JSONField(default=dict, blank=True, editable=False)
    #: Hashes of unused recovery codes; never the codes.
    code_hashes = models.JSONField(default=list, blank=True, editable=False)
    #: TOTP: the last time step accepted (each code once). WebAuthn: the last signature counter.
    counter = models.BigIntegerField(default=0, editable=False)
    created = models.DateTimeField(_("enrolled"), auto_now_add=True)
    activated = models.DateTimeField(_("activated"), null=True, blank=True, editable=False)
    last_verified = models.DateTimeField(_("last used"), null=True, blank=True, editable=False)

    class Meta:
        app_label = "oidc_flows"
        ordering = ["created"]
        indexes = [models.Index(fields=["user", "factor_type", "status"])]

    def __str__(self) -> str:
        return f"{self.get_factor_type_display()} of {self.user}" + (f" ({self.name})" if self.name else "")

    @property
    def is_active(self) -> bool:
        return self.status == FactorStatus.ACTIVE


class AuthnStatus(models.TextChoices):
    """The states of an authentication transaction (Okta's ``status`` wire values)."""

    UNAUTHENTICATED = "UNAUTHENTICATED"
    PASSWORD_EXPIRED = "PASSWORD_EXPIRED"
    PASSWORD_WARN = "PASSWORD_WARN"
    RECOVERY = "RECOVERY"
    RECOVERY_CHALLENGE = "RECOVERY_CHALLENGE"
    PASSWORD_RESET = "PASSWORD_RESET"
    LOCKED_OUT = "LOCKED_OUT"
    MFA_ENROLL = "MFA_ENROLL"
    MFA_ENROLL_ACTIVATE = "MFA_ENROLL_ACTIVATE"
    MFA_REQUIRED = "MFA_REQUIRED"
    MFA_CHALLENGE = "MFA_CHALLENGE"
    SUCCESS = "SUCCESS"


class RecoveryType(models.TextChoices):
    PASSWORD = "PASSWORD"
    UNLOCK = "UNLOCK"


class Transaction(models.Model):
    """One sign-in (or recovery) in progress, named by its ``stateToken`` (stored as an HMAC only)."""

    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    status = models.CharField(max_length=24, choices=AuthnStatus.choices)
    created = models.DateTimeField(auto_now_add=True)
    expires = models.DateTimeField(db_index=True)
    #: Set when the transaction succeeded, was cancelled or failed for good: its stateToken is spent.
    ended = models.DateTimeField(null=True, blank=True)
    #: The factor being enrolled or challenged.
    factor = models.ForeignKey(Factor, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    #: Outstanding challenge: a WebAuthn challenge, or an email code's hash and expiry.
    challenge = models.JSONField(default=dict, blank=True)
    #: RFC 8176 methods proven so far ("pwd", "otp", "hwk", ...).
    amr = models.JSONField(default=list, blank=True)
    #: When the primary authentication (password or passkey) happened.
    auth_time = models.DateTimeField(null=True, blank=True)
    recovery_type = models.CharField(max_length=10, blank=True, choices=RecoveryType.choices)
    relay_state = models.CharField(max_length=2048, blank=True)
    #: Where the sign-in is for (client_id, server_id, acr_values, options) and what was skipped.
    context = models.JSONField(default=dict, blank=True)

    class Meta:
        app_label = "oidc_flows"

    def __str__(self) -> str:
        return f"{self.status} for {self.user or 'nobody yet'}"

    @property
    def is_live(self) -> bool:
        return self.ended is None and self.expires > timezone.now()


class TokenPurpose(models.TextChoices):
    SESSION = "session", _("session token")
    RECOVERY = "recovery", _("recovery token")


class OneTimeToken(models.Model):
    """A ``sessionToken`` or a mailed recovery token: random, hashed, short-lived, redeemed once."""

    purpose = models.CharField(max_length=10, choices=TokenPurpose.choices)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    created = models.DateTimeField(auto_now_add=True)
    expires = models.DateTimeField(db_index=True)
    used = models.DateTimeField(null=True, blank=True)
    #: Session tokens: amr, auth_time, session lifetimes. Recovery tokens: the recovery type.
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        app_label = "oidc_flows"

    def __str__(self) -> str:
        return f"{self.get_purpose_display()} of {self.user}"


# -- policies (administered in the admin; evaluated in oidc_flows.authn.policies) -------------------


class PolicyBase(models.Model):
    """Shared by the three policy kinds: ordered, assigned to groups (none: everyone)."""

    name = models.CharField(_("name"), max_length=100)
    description = models.CharField(_("description"), max_length=255, blank=True)
    priority = models.PositiveIntegerField(_("priority"), default=1, help_text=_("Lower numbers are evaluated first."))
    is_active = models.BooleanField(_("active"), default=True)
    groups = models.ManyToManyField(
        Group, blank=True, related_name="+", verbose_name=_("assigned groups"), help_text=_("Empty: every user.")
    )

    class Meta:
        abstract = True
        ordering = ["priority", "id"]

    def __str__(self) -> str:
        return self.name


class SignOnPolicy(PolicyBase):
    """Okta's global session policy: who may sign in, with which factors, for how long."""

    class Meta(PolicyBase.Meta):
        app_label = "oidc_flows"
        verbose_name = _("sign-on policy")
        verbose_name_plural = _("sign-on policies")


class Access(models.TextChoices):
    ALLOW = "allow", _("allow")
    DENY = "deny", _("deny")


class Primary(models.TextChoices):
    PASSWORD = "password", _("password")
    PASSWORD_OR_PASSKEY = "password_or_passkey", _("password, or a passkey alone (passwordless)")


class MfaRequirement(models.TextChoices):
    NEVER = "never", _("never")
    IF_ENROLLED = "if_enrolled", _("when the user has a factor")
    ALWAYS = "always", _("always (users without a factor must enroll one)")


class MfaFrequency(models.TextChoices):
    EVERY_SIGN_IN = "every_sign_in", _("at every sign-in")
    ONCE_PER_SESSION = "once_per_session", _("once per session")


class SignOnRule(models.Model):
    policy = models.ForeignKey(SignOnPolicy, on_delete=models.CASCADE, related_name="rules")
    name = models.CharField(_("name"), max_length=100)
    priority = models.PositiveIntegerField(_("priority"), default=1, help_text=_("Lower numbers are evaluated first."))
    is_active = models.BooleanField(_("active"), default=True)
    # -- conditions (empty: any) --
    groups = models.ManyToManyField(Group, blank=True, related_name="+", verbose_name=_("groups"))
    applications = models.ManyToManyField(
        settings.OAUTH2_PROVIDER_APPLICATION_MODEL, blank=True, related_name="+", verbose_name=_("applications")
    )
    servers = models.ManyToManyField(
        AuthorizationServer, blank=True, related_name="+", verbose_name=_("authorization servers")
    )
    # -- actions --
    access = models.CharField(_("access"), max_length=8, choices=Access.choices, default=Access.ALLOW)
    primary = models.CharField(_("primary factor"), max_length=24, choices=Primary.choices, default=Primary.PASSWORD)
    mfa = models.CharField(
        _("multi-factor authentication"),
        max_length=16,
        choices=MfaRequirement.choices,
        default=MfaRequirement.IF_ENROLLED,
    )
    mfa_frequency = models.CharField(
        _("ask for the second factor"),
        max_length=20,
        choices=MfaFrequency.choices,
        default=MfaFrequency.ONCE_PER_SESSION,
    )
    factor_types = models.CharField(
        _("factor types that satisfy it"),
        max_length=255,
        blank=True,
        help_text=_("Space-separated factor types (token:software:totp webauthn email recovery_code); empty: any."),
    )
    session_lifetime_minutes = models.PositiveIntegerField(
        _("session lifetime (minutes)"),
        default=12 * 60,
        validators=[MinValueValidator(1), MaxValueValidator(90 * 24 * 60)],
    )
    session_idle_minutes = models.PositiveIntegerField(
        _("session idle timeout (minutes)"),
        default=2 * 60,
        validators=[MinValueValidator(1), MaxValueValidator(90 * 24 * 60)],
    )

    class Meta:
        app_label = "oidc_flows"
        ordering = ["policy__priority", "priority", "id"]
        verbose_name = _("sign-on rule")

    def __str__(self) -> str:
        return f"{self.policy.name}: {self.name}"


class Enrollment(models.TextChoices):
    REQUIRED = "REQUIRED", _("required")
    OPTIONAL = "OPTIONAL", _("optional")
    DISABLED = "DISABLED", _("disabled")


class EnrollmentPolicy(PolicyBase):
    """Okta's authenticator enrollment policy: per factor type, required, optional or disabled."""

    totp = models.CharField(
        _("authenticator app (TOTP)"), max_length=8, choices=Enrollment.choices, default=Enrollment.OPTIONAL
    )
    webauthn = models.CharField(
        _("passkey / security key"), max_length=8, choices=Enrollment.choices, default=Enrollment.OPTIONAL
    )
    email = models.CharField(_("email code"), max_length=8, choices=Enrollment.choices, default=Enrollment.OPTIONAL)
    recovery_code = models.CharField(
        _("recovery codes"), max_length=8, choices=Enrollment.choices, default=Enrollment.OPTIONAL
    )

    class Meta(PolicyBase.Meta):
        app_label = "oidc_flows"
        verbose_name = _("authenticator enrollment policy")
        verbose_name_plural = _("authenticator enrollment policies")


class PasswordPolicy(PolicyBase):
    """Lockout, expiry and self-service recovery for the users it is assigned to."""

    max_failures = models.PositiveIntegerField(
        _("lock after wrong passwords"),
        default=5,
        help_text=_("Wrong passwords in a row that lock the account; 0: never."),
    )
    lockout_minutes = models.PositiveIntegerField(
        _("lockout duration (minutes)"), default=15, validators=[MinValueValidator(1)]
    )
    max_age_days = models.PositiveIntegerField(
        _("password expires after (days)"), default=0, help_text=_("0: passwords never expire.")
    )
    warn_days = models.PositiveIntegerField(
        _("warn before expiry (days)"),
        default=0,
        help_text=_("Clients that ask (warnBeforePasswordExpired) see PASSWORD_WARN."),
    )
    show_lockout_status = models.BooleanField(
        _("tell locked-out users"),
        default=False,
        help_text=_("Answer LOCKED_OUT instead of the generic failure. It reveals that the account exists."),
    )
    email_recovery = models.BooleanField(_("password reset by email"), default=True)
    self_unlock = models.BooleanField(_("unlock by email"), default=True)
    recovery_token_minutes = models.PositiveIntegerField(
        _("recovery token lifetime (minutes)"),
        default=60,
        validators=[MinValueValidator(5), MaxValueValidator(24 * 60)],
    )

    class Meta(PolicyBase.Meta):
        app_label = "oidc_flows"
        verbose_name = _("password policy")
        verbose_name_plural = _("password policies")


class AuthnConfigStamp(models.Model):
    """One row: when the sign-in configuration (the policies above, their rules, trusted origins) last changed.

    Every save or delete of those rows sets ``updated`` in the same transaction (``authn.config``);
    every process reads it per request and rebuilds its snapshot of the configuration when it differs,
    so a change made on one node applies at once on every node, with nothing shared but the database.
    """

    id = models.PositiveSmallIntegerField(primary_key=True, default=1, editable=False)
    updated = models.DateTimeField(default=timezone.now)

    class Meta:
        app_label = "oidc_flows"

    def __str__(self) -> str:
        return f"sign-in configuration of {self.updated:%Y-%m-%d %H:%M:%S}"


class TrustedOrigin(models.Model):
    """Okta's Trusted Origins: web pages that may call the Authentication API (CORS) or be redirected to."""

    name = models.CharField(_("name"), max_length=100)
    origin = models.CharField(_("origin"), max_length=255, unique=True, help_text=_("e.g. https://app.example.com"))
    cors = models.BooleanField(_("CORS"), default=True, help_text=_("May call /api/v1/authn from a browser."))
    redirect = models.BooleanField(
        _("redirect"), default=True, help_text=_("May be the redirectUrl of /login/sessionCookieRedirect.")
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        app_label = "oidc_flows"
        ordering = ["origin"]

    def __str__(self) -> str:
        return self.origin


class Outcome(models.TextChoices):
    SUCCESS = "SUCCESS"
    FAILURE = "FAILURE"
    DENY = "DENY"


class AuthEvent(models.Model):
    """One event of the system log (Okta's System Log event names): sign-ins, administrative changes,
    security events. Written by ``oidc_flows.systemlog.record`` only. Never a secret."""

    #: Okta's ``uuid``: the event's public id.
    uuid = models.UUIDField(_("id"), default=uuid.uuid4, unique=True, editable=False)
    created = models.DateTimeField(_("when"), default=timezone.now, db_index=True)
    event_type = models.CharField(_("event"), max_length=64, db_index=True)
    outcome = models.CharField(_("outcome"), max_length=8, choices=Outcome.choices)
    reason = models.CharField(_("reason"), max_length=255, blank=True)
    # Who did it (Okta's ``actor``): a user, an application (PublicClientApp) or the system (SystemPrincipal).
    actor_type = models.CharField(_("actor type"), max_length=32, blank=True)
    actor_id = models.CharField(_("actor id"), max_length=100, blank=True, db_index=True)
    actor_alternate_id = models.CharField(_("actor"), max_length=255, blank=True)
    actor_display = models.CharField(_("actor name"), max_length=255, blank=True)
    # What it was done to (Okta's ``target``).
    target_type = models.CharField(_("target type"), max_length=64, blank=True)
    target_id = models.CharField(_("target id"), max_length=100, blank=True, db_index=True)
    target_alternate_id = models.CharField(_("target"), max_length=255, blank=True)
    target_display = models.CharField(_("target name"), max_length=255, blank=True)
    #: The X-Request-ID of the request that caused it (oidc_flows.observability), to find its log lines.
    request_id = models.CharField(_("request id"), max_length=128, blank=True)
    #: The user the event is about (the account page lists a user's own sign-ins by it).
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="authn_events"
    )
    #: The username as typed (an unknown one too): what an administrator searches for.
    username = models.CharField(_("username"), max_length=150, blank=True, db_index=True)
    client_ip = models.GenericIPAddressField(_("client address"), null=True, blank=True)
    user_agent = models.CharField(_("browser"), max_length=255, blank=True)
    factor_type = models.CharField(_("factor"), max_length=32, blank=True)
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        app_label = "oidc_flows"
        ordering = ["-created", "-id"]
        verbose_name = _("system log event")
        verbose_name_plural = _("system log")

    def __str__(self) -> str:
        return f"{self.created:%Y-%m-%d %H:%M:%S} {self.event_type} {self.outcome} {self.username}"
