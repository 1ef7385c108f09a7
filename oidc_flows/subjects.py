"""Subject identifiers (OIDC Core §8): the ``sub`` an application sees for a user, and back.

- **Public** (the default): the user's opaque id, ``UserProfile.subject`` ("00u" and 17 random base62
  characters, as Okta's user ids), generated once and never changed. Not the primary key (sequential: it
  would tell how many users there are) and not the username (it can change). A user without a profile
  gets one the first time a ``sub`` is needed (``get_or_create``: race-safe on the one-to-one).
- **Pairwise** (§8.1), per application (``Application.subject_type``):
  ``base64url(SHA-256(sector_identifier || public id || salt))``. The sector is the host of the
  application's ``sector_identifier_uri`` (a JSON array of redirect URIs, which must hold all of the
  application's: ``sector_errors``), else the host of its redirect URIs (one host only). Applications
  of one sector see the same ``sub``; others cannot correlate the user. The salt is
  ``OIDC_FLOWS["PAIRWISE_SALT"]``, by default derived from ``SECRET_KEY``: changing either changes
  every pairwise ``sub``.

Everything that issues or reads a ``sub`` goes through ``subject_for`` and ``user_for``: ID tokens,
userinfo, JWT access tokens (their ``sub`` and Okta's ``uid``, the same value), introspection,
``id_token_hint``. The claims adapter's ``subject(user)`` stays the public id, so a custom adapter that
names users differently keeps working, pairwise included.

A pairwise ``sub`` cannot be reversed by computation, so each one issued is written once to
``PairwiseSubject`` (this process remembers which it wrote): a JWT access token carrying it leads back
to its user in one indexed query.
"""

from __future__ import annotations

import base64
import hashlib
import json
import urllib.request
from typing import Any, Final
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _

from . import claims, clientkeys, policy, redirects
from .models import Application, PairwiseSubject, UserProfile
from .settings import flows_settings


#: Fetching a sector_identifier_uri (OIDC Registration §5): short, small, and no redirects.
FETCH_TIMEOUT_SECONDS: Final = 3.0
FETCH_MAX_BYTES: Final = 64 * 1024
#: Pairwise subs this process has written to ``PairwiseSubject``; cleared when it grows past the limit.
_recorded: set[tuple[str, str]] = set()
_RECORDED_MAX: Final = 100_000


# -- public ------------------------------------------------------------------------------------------


def public_id(user: AbstractBaseUser) -> str:
    """The user's opaque public id; its profile (and so the id) is created on first need."""
    profile = getattr(user, "oidc_profile", None)
    if profile is None:
        profile, _created = UserProfile.objects.get_or_create(user_id=user.pk)
        user.oidc_profile = profile  # this instance's cache (the reverse one-to-one)
    return profile.subject


# -- pairwise ----------------------------------------------------------------------------------------


def salt() -> str:
    """The server-side secret of pairwise subs: ``PAIRWISE_SALT``, else a key derived from ``SECRET_KEY``."""
    configured = flows_settings().PAIRWISE_SALT
    if configured:
        return configured
    return salted_hmac(
        "oidc_flows.subjects.pairwise", "salt", secret=settings.SECRET_KEY, algorithm="sha256"
    ).hexdigest()


def pairwise(sector: str, local_id: str) -> str:
    """OIDC Core §8.1: ``sub = SHA-256(sector_identifier || local_account_id || salt)``, base64url."""
    digest = hashlib.sha256(f"{sector}{local_id}{salt()}".encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _identifying_host(uri: str) -> str | None:
    """What a redirect URI says about who the application is: its https host, its private-use scheme
    (reverse DNS, RFC 8252 §7.1), or None for a loopback address, which every native app shares."""
    kind = redirects.classify(uri)
    if kind == policy.Redirect.HTTPS:
        return (urlsplit(uri).hostname or "").lower() or None
    if kind == policy.Redirect.CUSTOM:
        return urlsplit(uri).scheme.lower()
    return None


def _redirect_hosts(application: Application) -> set[str]:
    return {host for uri in application.redirect_uris.split() if (host := _identifying_host(uri))}


def sector_identifier(application: Application) -> str:
    """The application's sector (OIDC Core §8.1): the host of its sector_identifier_uri, else its redirect
    URIs' one host; with none that identifies it (loopback only), the application alone is its sector."""
    if application.sector_identifier_uri:
        return (urlsplit(application.sector_identifier_uri).hostname or "").lower()
    hosts = _redirect_hosts(application)
    if len(hosts) == 1:
        return hosts.pop()
    return f"client_id:{application.client_id}"  # never shared: validation refuses several hosts


def _record(sector: str, subject: str, user: AbstractBaseUser) -> None:
    """Write an issued pairwise sub once (INSERT ... ON CONFLICT DO NOTHING), so ``user_for`` finds it."""
    if (sector, subject) in _recorded:
        return
    PairwiseSubject.objects.bulk_create(
        [PairwiseSubject(sector_identifier=sector, subject=subject, user_id=user.pk)], ignore_conflicts=True
    )
    if len(_recorded) >= _RECORDED_MAX:
        _recorded.clear()
    _recorded.add((sector, subject))


# -- the API -----------------------------------------------------------------------------------------


def subject_for(user: AbstractBaseUser, application: Application | None) -> str:
    """The ``sub`` ``application`` sees for ``user``: public, or pairwise for its sector."""
    local = claims.adapter().subject(user)
    if application is None or not application.is_pairwise:
        return local
    sector = sector_identifier(application)
    subject = pairwise(sector, local)
    _record(sector, subject, user)
    return subject


def user_for(subject: str, application: Application | None) -> Any | None:
    """The user ``application`` knows as ``subject`` (with its profile loaded), or None.

    A pairwise application's subs are looked up in its sector only: another sector's sub names nobody.
    """
    if not isinstance(subject, str) or not subject or len(subject) > 255:
        return None
    if application is not None and application.is_pairwise:
        from .validators import user_with_profile  # the validator imports this module

        pk = (
            PairwiseSubject.objects.filter(sector_identifier=sector_identifier(application), subject=subject)
            .values_list("user_id", flat=True)
            .first()
        )
        return user_with_profile(pk) if pk is not None else None
    return claims.adapter().user_for_subject(subject)


def token_uids(user: AbstractBaseUser) -> list[str]:
    """Every ``uid`` the user's JWT access tokens can carry: the public id and each pairwise sub issued."""
    issued = PairwiseSubject.objects.filter(user_id=user.pk).values_list("subject", flat=True)
    return [claims.adapter().subject(user), *sorted(set(issued))]


# -- validation (admin, registration) ----------------------------------------------------------------


class SectorError(Exception):
    """The sector_identifier_uri cannot be used; the message is safe to show."""


def fetch_sector_redirects(uri: str) -> list[str]:
    """The redirect URIs a sector_identifier_uri lists (OIDC Registration §5): a JSON array of strings."""
    request = urllib.request.Request(uri, headers={"Accept": "application/json", "User-Agent": "oidc_flows"})
    try:
        with clientkeys.opener.open(request, timeout=FETCH_TIMEOUT_SECONDS) as response:  # no redirects
            body = response.read(FETCH_MAX_BYTES + 1)
    except (OSError, ValueError):
        raise SectorError(_("The sector identifier URI could not be fetched.")) from None
    if len(body) > FETCH_MAX_BYTES:
        raise SectorError(_("The sector identifier URI answered too large a document."))
    try:
        listed = json.loads(body)
    except ValueError:
        raise SectorError(_("The sector identifier URI did not answer JSON.")) from None
    if not isinstance(listed, list) or not all(isinstance(item, str) for item in listed):
        raise SectorError(_("The sector identifier URI must answer a JSON array of redirect URIs."))
    return listed


def sector_errors(application: Application) -> dict[str, list[str]]:
    """Why the application's pairwise sector cannot work, by field (OIDC Core §8.1, Registration §5)."""
    if application.subject_type not in set(policy.SubjectType):
        return {"subject_type": [_("Choose public or pairwise.")]}
    uri = application.sector_identifier_uri
    if uri and redirects.classify(uri) not in (policy.Redirect.HTTPS, policy.Redirect.LOOPBACK):
        return {
            "sector_identifier_uri": [_("The sector identifier URI must be https (http only on a loopback address).")]
        }
    if not application.is_pairwise:
        return {}
    if uri:
        try:
            listed = set(fetch_sector_redirects(uri))
        except SectorError as exc:
            return {"sector_identifier_uri": [str(exc)]}
        if missing := [r for r in application.redirect_uris.split() if r not in listed]:
            message = _("The sector identifier URI does not list these redirect URIs: %(uris)s.")
            return {"sector_identifier_uri": [message % {"uris": ", ".join(missing)}]}
        return {}
    hosts = _redirect_hosts(application)
    if len(hosts) > 1:
        message = _(
            "The redirect URIs have several hosts (%(hosts)s): pairwise subjects need a sector identifier URI "
            "that lists them all."
        )
        return {"redirect_uris": [message % {"hosts": ", ".join(sorted(hosts))}]}
    return {}
