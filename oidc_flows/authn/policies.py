"""Sign-on, enrollment and password policies: evaluated here, in one place, like the access policies.

Each kind is an ordered list of policies assigned to groups (none: everyone); the first active one
that applies decides. Sign-on policies hold rules (conditions: groups, application, authorization
server; the first matching rule decides). When an administrator deleted every row, the built-in
defaults below apply (they equal what the data migration creates). The rows come from this process's
snapshot (``authn.config``), stamped so that a change made on any node applies at the next request.

Also here, as data: the methods each factor proves (RFC 8176 ``amr``) and the ``acr_values`` we
understand (Okta's ``urn:okta:loa:*`` levels), so that the ID token says what happened.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Any, Final

from django.contrib.auth.base_user import AbstractBaseUser
from django.utils import timezone

from . import config
from .models import Enrollment, FactorType, MfaRequirement


# -- what each factor proves (RFC 8176) -------------------------------------------------------------

F = FactorType
#: ``amr`` values a verified factor adds. A passkey verified with user verification adds "mfa" by itself.
FACTOR_AMR: Final = MappingProxyType({
    F.TOTP:          ("otp",),
    F.EMAIL:         ("otp",),
    F.RECOVERY_CODE: ("otp",),
    F.WEBAUTHN:      ("hwk",),
})
#: Proven by entering the password.
PASSWORD_AMR: Final = "pwd"
#: Possession factors: any of these with a password is multi-factor (RFC 8176 "mfa").
POSSESSION_AMR: Final = frozenset({"otp", "hwk", "swk"})
#: A passkey with user verification.
PASSKEY_AMR: Final = frozenset({"hwk", "user"})


def with_method(amr: Iterable[str], *added: str) -> list[str]:
    """``amr`` plus ``added``, and "mfa" once a knowledge and a possession factor (or a passkey with UV) are in."""
    methods = list(dict.fromkeys([*amr, *added]))
    proven = set(methods)
    two_factors = PASSWORD_AMR in proven and bool(POSSESSION_AMR & proven)
    # A passkey verified with user verification is possession plus a PIN or biometric: two factors at once.
    if "mfa" not in proven and (two_factors or PASSKEY_AMR <= proven):
        methods.append("mfa")
    return methods


# -- acr_values (OIDC Core §3.1.2.1), Okta's levels of assurance ------------------------------------


@dataclass(frozen=True, slots=True)
class AcrRule:
    mfa: bool  # needs a second factor
    phishing_resistant: bool  # needs a passkey or security key
    if_possible: bool = False  # only when the user has a factor


ACR: Final = MappingProxyType({
    #                                   mfa    phishing_resistant  if_possible
    "urn:okta:loa:1fa:any":           AcrRule(False, False),
    "urn:okta:loa:1fa:pwd":           AcrRule(False, False),
    "urn:okta:loa:2fa:any":           AcrRule(True,  False),
    "urn:okta:loa:2fa:any:ifpossible": AcrRule(True,  False, True),
    "phr":                            AcrRule(True,  True),
})


def requested_acr(raw: str) -> list[str]:
    """The ``acr_values`` we understand, in the client's order of preference; unknown ones are ignored."""
    return [value for value in raw.split() if value in ACR][:5]


def satisfies(acr: str, amr: Iterable[str], *, has_factor: bool = True) -> bool:
    rule = ACR[acr]
    methods = set(amr)
    if rule.phishing_resistant and "hwk" not in methods:
        return False
    if rule.mfa and "mfa" not in methods:
        return not has_factor if rule.if_possible else False
    return acr != "urn:okta:loa:1fa:pwd" or PASSWORD_AMR in methods


def acr_for(amr: Iterable[str], requested: Iterable[str] = ()) -> str:
    """The ``acr`` claim: the first requested level the sign-in satisfied, else what it achieved."""
    methods = list(amr)
    for value in requested:
        if value in ACR and satisfies(value, methods):
            return value
    if "hwk" in methods and "mfa" in methods:
        return "phr"
    if "mfa" in methods:
        return "urn:okta:loa:2fa:any"
    return "urn:okta:loa:1fa:pwd" if PASSWORD_AMR in methods else "urn:okta:loa:1fa:any"


def needs_step_up(requested: Iterable[str], amr: Iterable[str], *, has_factor: bool) -> bool:
    """Whether none of the requested levels is met by the session's ``amr`` (then sign in again, stronger)."""
    values = [v for v in requested if v in ACR]
    return bool(values) and not any(satisfies(v, amr, has_factor=has_factor) for v in values)


# -- policy evaluation ------------------------------------------------------------------------------


def group_ids(user: AbstractBaseUser | None) -> frozenset[int]:
    """The ids of ``user``'s groups, read only when some policy or rule is assigned to groups."""
    if user is None or not user.pk or not config.current().uses_groups:
        return frozenset()
    return frozenset(user.groups.values_list("id", flat=True))


def _first(assigned, user: AbstractBaseUser | None, groups: frozenset[int] | None):
    """The first of the active ``assigned`` policies (by priority) that applies to ``user``, or None."""
    if not assigned:
        return None
    groups = group_ids(user) if groups is None else groups
    return next((policy for policy in assigned if policy.applies(groups)), None)


@dataclass(frozen=True, slots=True)
class SignOn:
    """The decision of a sign-on rule."""

    policy: str
    rule: str
    allowed: bool
    passwordless: bool
    mfa: str  # MfaRequirement
    once_per_session: bool
    factor_types: frozenset[str]  # empty: any
    session_lifetime: int  # seconds
    session_idle: int  # seconds

    def accepts(self, factor_type: str) -> bool:
        return not self.factor_types or factor_type in self.factor_types


DEFAULT_SIGN_ON: Final = SignOn(
    policy="Default Policy",
    rule="Default Rule",
    allowed=True,
    passwordless=False,
    mfa=MfaRequirement.IF_ENROLLED,
    once_per_session=True,
    factor_types=frozenset(),
    session_lifetime=12 * 3600,
    session_idle=2 * 3600,
)


#: What no matching rule decides: deny.
NO_RULE: Final = SignOn("", "", False, False, MfaRequirement.NEVER, True, frozenset(), 0, 0)


def _pk(named: Any) -> Any:
    return getattr(named, "pk", None)


def sign_on(
    user: AbstractBaseUser | None, *, client=None, server=None, groups: frozenset[int] | None = None
) -> SignOn:
    """The sign-on rule for ``user`` signing in to ``client`` through ``server`` (either may be unknown).

    A rule that names applications or servers matches only a sign-in known to be for one of them; a
    policy with no matching rule passes the decision to the next policy; nothing at all: deny.
    ``client`` and ``server`` are read for their ``pk`` only when a rule names applications or servers.
    """
    settings = config.current()
    groups = group_ids(user) if groups is None else groups
    applicable = [policy for policy in settings.sign_on if policy.applies(groups)]
    if not applicable and not settings.any_sign_on_policy:
        return DEFAULT_SIGN_ON
    for policy in applicable:
        for rule in policy.value:
            if (
                (not rule.groups or bool(rule.groups & groups))
                and (not rule.applications or _pk(client) in rule.applications)
                and (not rule.servers or _pk(server) in rule.servers)
            ):
                return rule.decision
    return NO_RULE


def passwordless_allowed() -> bool:
    """Whether any active sign-on rule lets a passkey alone sign someone in (else the button would only fail)."""
    return config.current().passwordless


#: Factor types as the enrollment policy's fields name them.
ENROLLMENT_FIELDS: Final = MappingProxyType({
    F.TOTP: "totp",
    F.WEBAUTHN: "webauthn",
    F.EMAIL: "email",
    F.RECOVERY_CODE: "recovery_code",
})


def enrollment(user: AbstractBaseUser | None, *, groups: frozenset[int] | None = None) -> dict[str, str]:
    """Per factor type: REQUIRED, OPTIONAL or DISABLED for ``user`` (built-in default: all optional)."""
    policy = _first(config.current().enrollment, user, groups)
    if policy is None:
        return {t: Enrollment.OPTIONAL for t in ENROLLMENT_FIELDS}
    return dict(policy.value)


@dataclass(frozen=True, slots=True)
class PasswordRules:
    policy: str
    max_failures: int  # 0: never lock
    lockout: timedelta
    max_age: timedelta | None
    warn: timedelta
    show_lockout_status: bool
    email_recovery: bool
    self_unlock: bool
    recovery_token_seconds: int

    def expires_at(self, changed: datetime) -> datetime | None:
        return changed + self.max_age if self.max_age else None


DEFAULT_PASSWORD: Final = PasswordRules(
    policy="Default Policy",
    max_failures=5,
    lockout=timedelta(minutes=15),
    max_age=None,
    warn=timedelta(0),
    show_lockout_status=False,
    email_recovery=True,
    self_unlock=True,
    recovery_token_seconds=3600,
)


def password(user: AbstractBaseUser | None) -> PasswordRules:
    """The password policy of ``user`` (unknown users get the default: what they see reveals nothing)."""
    policy = _first(config.current().password, user, None) if user is not None else None
    return DEFAULT_PASSWORD if policy is None else policy.value


def password_changed_at(user: AbstractBaseUser) -> datetime:
    profile = getattr(user, "oidc_profile", None)
    changed = getattr(profile, "password_changed", None) if profile is not None else None
    return changed or getattr(user, "date_joined", None) or timezone.now()
