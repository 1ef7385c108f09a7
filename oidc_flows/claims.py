"""Standard claims per scope (OIDC Core §5.4) and how we resolve them for a user."""

from __future__ import annotations

import functools
import re
from types import MappingProxyType
from typing import Any, Final

from django.contrib.auth.base_user import AbstractBaseUser
from django.utils.module_loading import import_string

from . import snapshots, subjects
from .models import Application, AuthorizationServer, Claim
from .settings import flows_settings


SCOPE_CLAIMS: Final = MappingProxyType(
    {
        "openid": ("sub",),
        "profile": (
            "name",
            "family_name",
            "given_name",
            "middle_name",
            "nickname",
            "preferred_username",
            "profile",
            "picture",
            "website",
            "gender",
            "birthdate",
            "zoneinfo",
            "locale",
            "updated_at",
        ),
        "email": ("email", "email_verified"),
        "address": ("address",),
        "phone": ("phone_number", "phone_number_verified"),
    }
)
SUPPORTED_CLAIMS: Final = tuple(sorted({c for names in SCOPE_CLAIMS.values() for c in names}))


def claims_for(scopes: frozenset[str] | set[str]) -> frozenset[str]:
    """Names of the standard claims the granted scopes release."""
    return frozenset(name for scope in set(scopes) & SCOPE_CLAIMS.keys() for name in SCOPE_CLAIMS[scope])


class DefaultClaimsAdapter:
    """Reads standard claims from django.contrib.auth's User and oidc_flows' UserProfile.

    Subclass it and name the subclass in ``OIDC_FLOWS["CLAIMS_ADAPTER"]`` to take claims from
    elsewhere (another profile model, LDAP...). ``all_claims`` is called once per token or
    userinfo response and returns every claim it knows; the scopes decide which ones leave.

        class ClaimsAdapter(DefaultClaimsAdapter):
            def all_claims(self, user):
                return super().all_claims(user) | {"locale": user.settings.language}
    """

    def subject(self, user: AbstractBaseUser) -> str:
        """The user's public ``sub``: stable, never reassigned (OIDC Core §2), opaque and not sequential.

        Pairwise applications see a value derived from it (oidc_flows.subjects.subject_for).
        Override it together with ``user_for_subject``.
        """
        return subjects.public_id(user)

    def user_for_subject(self, subject: str) -> AbstractBaseUser | None:
        """The user whose public ``sub`` is ``subject`` (with its profile loaded), or None; one query."""
        from .validators import user_with_profile  # the validator imports this module

        return user_with_profile(subject, by="subject")

    def all_claims(self, user: AbstractBaseUser) -> dict[str, Any]:
        subject = self.subject(user)  # first: it creates the profile of a user who has none
        profile = getattr(user, "oidc_profile", None)
        get = functools.partial(getattr, profile) if profile else (lambda name, default=None: default)
        address = {
            "street_address": get("street_address", ""),
            "locality": get("locality", ""),
            "region": get("region", ""),
            "postal_code": get("postal_code", ""),
            "country": get("country", ""),
        }
        birthdate = get("birthdate", None)
        updated = get("updated", None)
        claims = {
            "sub": subject,
            "name": user.get_full_name() if hasattr(user, "get_full_name") else "",
            "given_name": getattr(user, "first_name", ""),
            "family_name": getattr(user, "last_name", ""),
            "middle_name": get("middle_name", ""),
            "nickname": get("nickname", ""),
            "preferred_username": user.get_username(),
            "picture": get("picture", ""),
            "website": get("website", ""),
            "gender": get("gender", ""),
            "birthdate": birthdate.isoformat() if birthdate else "",
            "zoneinfo": get("zoneinfo", ""),
            "locale": get("locale", ""),
            "updated_at": int(updated.timestamp()) if updated else None,
            "email": getattr(user, "email", ""),
            "email_verified": bool(get("email_verified", False)),
            "address": {k: v for k, v in address.items() if v} or None,
            "phone_number": get("phone_number", ""),
            "phone_number_verified": bool(get("phone_number_verified", False)),
        }
        return claims


@functools.cache
def _adapter(path: str) -> DefaultClaimsAdapter:
    return import_string(path)()


def adapter() -> DefaultClaimsAdapter:
    """The configured claims adapter."""
    return _adapter(flows_settings().CLAIMS_ADAPTER)


def user_claims(
    user: AbstractBaseUser,
    scopes: frozenset[str] | set[str],
    *,
    application: Application | None = None,
    requested: frozenset[str] = frozenset(),
) -> dict[str, Any]:
    """The claims of ``user`` that ``scopes`` release, plus the standard ones ``requested`` by name (the
    ``claims`` parameter, OIDC Core §5.5); empty values are left out (OIDC Core §5.3.2). ``sub`` is the one
    ``application`` sees (pairwise or public, oidc_flows.subjects)."""
    wanted = claims_for(scopes) | (requested & set(SUPPORTED_CLAIMS))
    every = adapter().all_claims(user)
    found = {name: every[name] for name in sorted(wanted - {"sub"}) if every.get(name) not in ("", None)}
    return {"sub": subjects.subject_for(user, application)} | found


def _attribute(user: AbstractBaseUser, name: str) -> Any:
    """A user attribute for a custom claim: a standard claim, or a custom profile attribute.

    Only these two sources: a claim can never expose the password hash or other model internals.
    """
    standard = adapter().all_claims(user)
    if name in standard:
        return standard[name]
    profile = getattr(user, "oidc_profile", None)
    return (profile.attributes or {}).get(name) if profile is not None else None


def _groups(user: AbstractBaseUser, claim: Claim) -> list[str]:
    names = sorted(user.groups.values_list("name", flat=True))
    match = {
        Claim.GroupFilter.STARTS_WITH: lambda n: n.startswith(claim.value),
        Claim.GroupFilter.EQUALS: lambda n: n == claim.value,
        Claim.GroupFilter.CONTAINS: lambda n: claim.value in n,
        Claim.GroupFilter.REGEX: lambda n: re.fullmatch(claim.value, n) is not None,
    }[claim.group_filter]
    return [n for n in names if match(n)]


def claim_value(claim: Claim, user: AbstractBaseUser | None) -> Any:
    """The value of a custom claim for ``user`` (``None``: no user or no value, so left out)."""
    if claim.value_type == Claim.ValueType.CONSTANT:
        return claim.value
    if user is None:
        return None  # client_credentials: there is nobody to describe
    if claim.value_type == Claim.ValueType.GROUPS:
        return _groups(user, claim) or None
    return _attribute(user, claim.value)


def custom_claims(
    server: AuthorizationServer, user: AbstractBaseUser | None, scopes: frozenset[str], *, for_id_token: bool
) -> dict[str, Any]:
    """The server's custom claims for one token: active, for this token type, and their scopes granted."""
    wanted = "in_id_token" if for_id_token else "in_access_token"
    found = {}
    for claim in snapshots.of(server).claims:  # the active ones, by name
        if not getattr(claim, wanted) or (claim.scope_set and not claim.scope_set & scopes):
            continue
        value = claim_value(claim, user)
        if value not in (None, "", []):
            found[claim.name] = value
    return found
