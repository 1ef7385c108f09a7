"""Who calls the management API: ``Authorization: Bearer <access token of the org server>`` (RFC 6750 §2.1).

The org server's access tokens are opaque rows (``AccessToken``, stored as SHA-256 checksums, as
introspection and userinfo look them up). A token is accepted when it is the org server's, unexpired,
not revoked (revoking deletes the row), not bound to a DPoP key (those need a proof this API does not
take), and its application and user are still active. Anything else, including every custom server's
token (JWTs, or rows of another server), is ``invalid_token`` (401).

``request.user``: the token's user, or a ``ServicePrincipal`` for a service application's token
(client credentials); ``request.auth``: a ``ManagementToken`` (application, scopes, user).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.base_user import AbstractBaseUser
from django.utils import timezone
from rest_framework import authentication
from rest_framework.request import Request

from .. import introspection
from ..models import AccessToken, Application, AuthorizationServer
from .exceptions import BearerChallenge


@dataclass(frozen=True, slots=True)
class ManagementToken:
    """What ``request.auth`` holds: the presented token's application, scopes and user (None: a service)."""

    application: Application
    scopes: frozenset[str]
    user: AbstractBaseUser | None
    token: AccessToken

    @property
    def throttle_key(self) -> str:
        """Whom rate limits count: the token's application and user, so a fresh token starts no new count."""
        return f"{self.application.pk}:{self.user.pk if self.user is not None else '-'}"


class ServicePrincipal:
    """``request.user`` for an application's own token (client credentials): authenticated, but no user.

    It holds no Django permissions: what it may do is the scopes an administrator granted its application.
    """

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False
    is_superuser = False
    pk = id = None

    def __init__(self, application: Application) -> None:
        self.application = application
        self.username = f"app:{application.client_id}"

    def __str__(self) -> str:
        return f"{self.application.name} ({self.application.client_id})"

    def get_username(self) -> str:
        return self.username

    def has_perm(self, perm: str, obj: object = None) -> bool:
        return False

    # Code that takes ``request.user`` as the actor (the admin's unlock and factor reset, which the users API
    # reuses) names it as its application: the system log recognises an application by these attributes.
    @property
    def client_id(self) -> str:
        return self.application.client_id

    @property
    def authorization_grant_type(self) -> str:
        return self.application.authorization_grant_type

    @property
    def name(self) -> str:
        return self.application.name


def lookup(raw: str) -> ManagementToken | None:
    """The active org server access token whose value is ``raw``, or None (unknown, expired, revoked...)."""
    org = AuthorizationServer.objects.filter(is_org=True).only("pk").first()
    if org is None or not raw:
        return None
    row = (
        AccessToken.objects.select_related("application", "user")
        .filter(server=org, token_checksum=introspection.checksum(raw))
        .first()
    )
    if row is None or row.application is None or row.dpop_jkt:
        return None
    if not row.application.is_active or row.expires is None or row.expires <= timezone.now():
        return None
    if row.user is not None and not row.user.is_active:
        return None
    return ManagementToken(row.application, frozenset(row.scope.split()), row.user, row)


class OrgTokenAuthentication(authentication.BaseAuthentication):
    """DRF authentication with the org server's access tokens (see the module's docstring)."""

    keyword = "bearer"

    def authenticate(self, request: Request) -> tuple[object, ManagementToken] | None:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        scheme, _, raw = header.strip().partition(" ")
        if not header:
            return None  # the permission answers 401 with a bare challenge (RFC 6750 §3.1)
        if scheme.lower() != self.keyword or not raw.strip() or " " in raw.strip():
            raise BearerChallenge.invalid_request("Send the access token as 'Authorization: Bearer <token>'.")
        found = lookup(raw.strip())
        if found is None:
            raise BearerChallenge.invalid_token(
                "The access token is not an active token of the org authorization server."
            )
        return (found.user or ServicePrincipal(found.application)), found

    def authenticate_header(self, request: Request) -> str:
        # RFC 6750 §3: with this, DRF answers 401 (not 403) to a request without credentials.
        return BearerChallenge.header()
