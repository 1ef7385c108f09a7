"""DOT's grant and token models, swapped so that each row records the server that issued it.

Every lookup in the validator filters on the server, so a token never crosses servers.

JWT access tokens (custom servers, RFC 9068) have no row: they prove themselves, and what ends one
early is a ``Revocation`` (oidc_flows/revocation.py). ``AccessToken`` rows hold the org server's
opaque access tokens only.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import models
from oauth2_provider.models import AbstractAccessToken, AbstractGrant, AbstractIDToken, AbstractRefreshToken

from .servers import AuthorizationServer, Scope


class ServerScopesMixin:
    """DOT describes ``scopes`` from its global SCOPES setting; ours live on the issuing server."""

    @property
    def scopes(self) -> dict[str, str]:
        from .. import snapshots  # snapshots imports the models

        names = self.scope.split()
        # The names are the token's own; only the descriptions (display text) come from the server's rows:
        # this process's snapshot of them when it has one (every token check reads these), else a query.
        snapshot = snapshots.current(self.server_id)
        if snapshot is not None:
            described = {name: scope.description for name, scope in snapshot.scopes.items()}
        else:
            described = dict(
                Scope.objects.filter(server_id=self.server_id, name__in=names).values_list("name", "description")
            )
        return {name: described.get(name, name) for name in names}


class Grant(AbstractGrant):
    """An authorization code. Kept after redemption (until it expires) to detect replays."""

    server = models.ForeignKey(AuthorizationServer, on_delete=models.CASCADE, related_name="+")
    auth_time = models.DateTimeField(null=True, blank=True)
    #: RFC 8176 methods of the sign-in behind the code (space-separated) and the ACR it satisfied.
    amr = models.CharField(max_length=100, blank=True, default="")
    acr = models.CharField(max_length=100, blank=True, default="")
    redeemed_at = models.DateTimeField(null=True, blank=True)
    #: The grant family of the tokens this code was exchanged for (set when it is redeemed), so that a
    #: replay of the code revokes them all, including those a refresh issued since (RFC 9700 §4.5).
    token_family = models.UUIDField(null=True, blank=True)
    #: RFC 9449 §10: the JWK thumbprint the code is bound to (``dpop_jkt`` at /authorize or /par).
    dpop_jkt = models.CharField(max_length=64, blank=True, default="")
    #: The ``sid`` of the IdP session the code was issued in (Front-Channel Logout §3, Back-Channel §2.1):
    #: the ID tokens of this code, and of the refreshes of its family, carry it.
    sid = models.CharField(max_length=64, blank=True, default="")

    class Meta(AbstractGrant.Meta):
        swappable = "OAUTH2_PROVIDER_GRANT_MODEL"


class AccessToken(ServerScopesMixin, AbstractAccessToken):
    server = models.ForeignKey(AuthorizationServer, on_delete=models.CASCADE, related_name="+")
    grant = models.ForeignKey(
        "oidc_flows.Grant",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="access_tokens",
        help_text="The authorization code this token was issued for; replaying the code revokes it.",
    )
    jti = models.CharField(max_length=64, blank=True, db_index=True)
    #: RFC 9449 §6: the thumbprint of the DPoP key the token is bound to (``cnf.jkt``); empty: bearer.
    dpop_jkt = models.CharField(max_length=64, blank=True, default="")
    #: OIDC Core §5.5: the claims the authorization request's ``claims`` parameter asked userinfo for
    #: (space-separated names); a JWT access token carries them in its ``userinfo_claims`` claim instead.
    userinfo_claims = models.TextField(blank=True, default="")

    class Meta(AbstractAccessToken.Meta):
        swappable = "OAUTH2_PROVIDER_ACCESS_TOKEN_MODEL"


class RefreshToken(AbstractRefreshToken):
    server = models.ForeignKey(AuthorizationServer, on_delete=models.CASCADE, related_name="+")
    # From the access policy rule that issued the family (None: no limit); copied on rotation.
    family_expires = models.DateTimeField(null=True, blank=True)
    idle_seconds = models.PositiveIntegerField(null=True, blank=True)
    #: The scopes of the access token issued with this refresh token (DOT read them from that token's
    #: row; JWT access tokens have none): a refresh may ask for these or fewer (RFC 6749 §6).
    scope = models.TextField(blank=True, default="")
    #: RFC 9449 §5: a public client's refresh token is bound to its DPoP key (thumbprint); empty: not bound.
    dpop_jkt = models.CharField(max_length=64, blank=True, default="")

    @classmethod
    def revoke_family(cls, token_family) -> None:
        """DOT's family sweep, plus a revocation of the family's JWT access tokens, which have no rows."""
        from .. import revocation  # revocation imports the models

        super().revoke_family(token_family)
        if token_family:
            revocation.revoke_family(token_family)

    @property
    def deadline(self) -> datetime | None:
        """When this token stops working: its family's deadline or the end of its idle window."""
        idle_end = self.created + timedelta(seconds=self.idle_seconds) if self.idle_seconds is not None else None
        return min((d for d in (self.family_expires, idle_end) if d is not None), default=None)

    grant = models.ForeignKey(
        "oidc_flows.Grant", null=True, blank=True, on_delete=models.SET_NULL, related_name="refresh_tokens"
    )

    class Meta(AbstractRefreshToken.Meta):
        swappable = "OAUTH2_PROVIDER_REFRESH_TOKEN_MODEL"


class IDToken(ServerScopesMixin, AbstractIDToken):
    server = models.ForeignKey(AuthorizationServer, on_delete=models.CASCADE, related_name="+")

    class Meta(AbstractIDToken.Meta):
        swappable = "OAUTH2_PROVIDER_ID_TOKEN_MODEL"


class Revocation(models.Model):
    """An entry of the revocation list of JWT access tokens (oidc_flows/revocation.py says how it is read).

    ``key`` names what is revoked: one token (its ``jti``), a grant family (every token of one
    authorization), or a holder (a user's tokens for a client on a server, a client's, a user's).
    With ``issued_before`` only the tokens issued before it are revoked: the holder may be granted
    new ones. The row is needed until the last token it can match has expired (``expires``).
    """

    key = models.CharField(max_length=200, unique=True)
    #: Seconds since the epoch (compared with a token's ``iat``); null: every token with this key.
    issued_before = models.FloatField(null=True, blank=True)
    expires = models.DateTimeField(db_index=True)
    created = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.key
