"""Token introspection (RFC 7662) and revocation (RFC 7009) for one authorization server.

The endpoints authenticate the client first (views/introspect.py, views/revoke.py: oauthlib's
endpoints with ``FlowsValidator``); this module decides what that client may learn or revoke.

Who may ask about what:

- Every lookup is filtered on the URL's server: another server's token is unknown here and
  introspects as ``{"active": false}`` (DESIGN.md: a token of one server is rejected by every other).
- RFC 7662 §2.1 requires authorization to call the introspection endpoint. A *confidential* client
  (authenticated with its secret, as at /token) may introspect any access token of the server: that
  is how a resource server learns whether a token it was handed is active.
- A *public* client proves nothing but its ``client_id`` (RFC 7009 §2.1, RFC 7662 §4 token
  scanning), so it may introspect and revoke only tokens issued to itself.
- A refresh token is only ever meant for the client it was issued to (RFC 6749 §1.5): only that
  client may introspect it; for anyone else it is ``{"active": false}``.
- RFC 7009 §2.1: only the client a token was issued to may revoke it. For anyone else the endpoint
  still answers 200 (§2.2, so it is no oracle) and the token stays active.
- RFC 7009 §2.1: revoking a refresh token SHOULD invalidate the access tokens of the same grant, so
  it revokes the token's whole rotation family and their access tokens; revoking an access token
  also revokes its refresh token family (otherwise the refresh token would mint a new one at once).

A JWT access token (custom servers) has no row: it is verified (tokens.verify_access_token), then
looked up in the revocation list (oidc_flows/revocation.py), and revoking it adds to that list.
Refresh tokens and the org server's opaque access tokens are rows.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from datetime import datetime
from typing import Any, Final

from django.db import transaction
from django.utils import timezone

from . import revocation, subjects, tokens
from .models import AccessToken, Application, AuthorizationServer, RefreshToken


#: RFC 7009 §2.1 / RFC 7662 §2.1 ``token_type_hint`` values we know; any other value is ignored.
TOKEN_TYPE_HINTS: Final = ("access_token", "refresh_token")
#: RFC 7662 §2.2 claims copied from a JWT access token's own payload, so both views agree exactly;
#: ``act`` too: RFC 8693 §4.1 defines it for introspection responses as well.
JWT_CLAIMS: Final = ("iss", "sub", "aud", "exp", "iat", "nbf", "jti", "act")
#: RFC 7662 §2.2 ``token_type`` of a refresh token (it is never presented as a bearer token).
REFRESH_TOKEN_TYPE: Final = "refresh_token"

StoredToken = AccessToken | RefreshToken


def checksum(token: str) -> str:
    """How tokens are stored (DOT's COMPLIANT_BCP_RFC9700_TOKEN_STORAGE): SHA-256, hex."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def find(
    server: AuthorizationServer, token: str, hint: str | None, *, application: Application | None = None
) -> StoredToken | None:
    """The stored token of ``server`` whose value is ``token``, optionally only if issued to ``application``.

    RFC 7009 §2.1 / RFC 7662 §2.1: the hint only orders the search; an unknown hint is ignored.
    """
    order = (RefreshToken, AccessToken) if hint == "refresh_token" else (AccessToken, RefreshToken)
    lookup: dict[str, Any] = {"server": server, "token_checksum": checksum(token)}
    if application is not None:
        lookup["application"] = application
    for model in order:
        rows = list(model.objects.select_related("application", "user").filter(**lookup)[:10])
        if rows:
            # Refresh tokens are unique per (checksum, revoked): prefer the live row if there is one.
            return next((row for row in rows if getattr(row, "revoked", None) is None), rows[0])
    return None


# -- introspection (RFC 7662) ----------------------------------------------------------------------
def introspect(server: AuthorizationServer, token: str, hint: str | None, client: Application) -> dict[str, Any] | None:
    """The RFC 7662 §2.2 members of an active token, or ``None`` for ``{"active": false}``.

    ``None`` covers unknown, expired, revoked, other servers' and not-yours tokens alike: §2.2 says an
    inactive token's response SHOULD NOT carry anything else, so nothing tells them apart.
    """
    if (payload := _jwt_access_token(server, token)) is not None:
        return jwt_access_token_claims(server, payload, client)
    row = find(server, token, hint)
    if row is None or not _may_see(client, row) or not is_active(row):
        return None
    if isinstance(row, AccessToken):
        return access_token_claims(server, row, token)
    return refresh_token_claims(server, row)


def _jwt_access_token(server: AuthorizationServer, token: str) -> dict[str, Any] | None:
    """The verified payload if ``token`` is one of ``server``'s JWT access tokens (active or not)."""
    return tokens.verify_access_token(server, token) if server.issues_jwt_access_tokens else None


def jwt_access_token_claims(server: AuthorizationServer, payload: dict[str, Any], client: Application) -> dict | None:
    """RFC 7662 §2.2 members of a JWT access token, or None if inactive or not ``client``'s to see.

    The same members as a stored token's, from the token's own claims; its client and user must still
    be active, as DOT requires of a stored token's application.
    """
    from .validators import _application  # the validator imports this module

    client_id = payload.get("client_id")
    if client.client_type != Application.CLIENT_CONFIDENTIAL and client_id != client.client_id:
        return None
    if not tokens.is_active(server, payload):
        return None
    application = client if client_id == client.client_id else _application(client_id)
    if application is None or not application.is_active:
        return None
    data: dict[str, Any] = {"scope": payload.get("scope", ""), "token_type": "Bearer", "client_id": client_id}
    if (uid := payload.get("uid")) is not None:
        user = subjects.user_for(uid, application)  # the user's id as that application knows it
        if user is None or not getattr(user, "is_active", True):
            return None  # deleted or deactivated since
        if not application.is_pairwise:
            data["username"] = user.get_username()  # a pairwise application's token names no correlatable login
    data |= {name: value for name, value in payload.items() if name in JWT_CLAIMS}
    return data | dpop_binding(tokens.bound_key(payload))


def dpop_binding(jkt: str | None) -> dict[str, Any]:
    """RFC 9449 §6.2: a DPoP-bound access token introspects with its key's thumbprint and type DPoP."""
    return {"token_type": "DPoP", "cnf": {"jkt": jkt}} if jkt else {}


def _may_see(client: Application, row: StoredToken) -> bool:
    own = row.application_id == client.pk
    if isinstance(row, RefreshToken) or client.client_type != Application.CLIENT_CONFIDENTIAL:
        return own
    return True


def is_active(row: StoredToken, *, now: datetime | None = None) -> bool:
    """Whether a stored token is still good: not revoked, not expired, its client still active."""
    now = now or timezone.now()
    if not getattr(row.application, "is_active", True):
        return False  # DOT refuses tokens of unusable applications too
    if isinstance(row, AccessToken):
        return row.expires is not None and row.expires > now
    return row.revoked is None and (row.deadline is None or row.deadline > now)


def _common_claims(server: AuthorizationServer, row: StoredToken) -> dict[str, Any]:
    user = row.user
    data: dict[str, Any] = {
        "client_id": row.application.client_id,
        "iss": server.issuer,
        # The same subject the access token's own `sub` carries (tokens.build_access_token_claims).
        "sub": subjects.subject_for(user, row.application) if user is not None else row.application.client_id,
    }
    if user is not None and not row.application.is_pairwise:
        data["username"] = user.get_username()
    return data


def access_token_claims(server: AuthorizationServer, row: AccessToken, token: str) -> dict[str, Any]:
    """RFC 7662 §2.2 members of an active access token (``active`` is added by oauthlib)."""
    data = {
        "scope": row.scope,
        "token_type": "Bearer",  # RFC 6750; RFC 7662 §2.2 uses RFC 6749 §7.1 token types
        **_common_claims(server, row),
        "aud": server.effective_audience,
        "exp": int(row.expires.timestamp()),
        "iat": int(row.created.timestamp()),
    }
    if row.jti:
        data["jti"] = row.jti
    # A JWT access token (RFC 9068) carries the same claims, signed; report its exact values. It is
    # safe to read the payload unverified: the checksum matched, so this is the very string we issued.
    data |= {name: value for name, value in _jwt_payload(token).items() if name in JWT_CLAIMS}
    return data | dpop_binding(row.dpop_jkt)


def refresh_token_claims(server: AuthorizationServer, row: RefreshToken) -> dict[str, Any]:
    """RFC 7662 §2.2 members of an active refresh token: no ``aud``, it is for this server's /token only."""
    data: dict[str, Any] = {"token_type": REFRESH_TOKEN_TYPE, **_common_claims(server, row)}
    if row.scope:
        data["scope"] = row.scope
    data["iat"] = int(row.created.timestamp())
    if deadline := row.deadline:
        data["exp"] = int(deadline.timestamp())
    return data


def _jwt_payload(token: str) -> dict[str, Any]:
    parts = token.split(".")
    if len(parts) != 3:
        return {}  # an opaque token (the org server's)
    try:
        payload = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return {}
    return payload if isinstance(payload, dict) else {}


# -- revocation (RFC 7009) -------------------------------------------------------------------------
@transaction.atomic
def revoke(server: AuthorizationServer, token: str, hint: str | None, client: Application) -> str:
    """Revoke ``token`` if ``server`` issued it to ``client``; return what was revoked ("access_token" or
    "refresh_token"; empty, and so false, when nothing was).

    The endpoint answers 200 either way (RFC 7009 §2.2): an unknown or foreign token is no error.
    """
    if (payload := _jwt_access_token(server, token)) is not None:
        if payload.get("client_id") != client.client_id:
            return ""  # §2.1: not this client's token
        revocation.revoke_token(str(payload.get("jti", "")), int(payload.get("exp", 0)))
        if family := payload.get(revocation.FAMILY_CLAIM):
            RefreshToken.revoke_family(family)  # its refresh token would mint a new one at once
        return "access_token"
    row = find(server, token, hint, application=client)
    if row is None:
        return ""
    if isinstance(row, RefreshToken):
        revoke_refresh_token(row)
        return "refresh_token"
    bound = RefreshToken.objects.filter(server=server, access_token=row).first()
    if bound is not None:
        revoke_refresh_token(bound)
    AccessToken.objects.filter(pk=row.pk).delete()  # DOT's AccessToken.revoke(): revoked means gone
    return "access_token"


def revoke_refresh_token(row: RefreshToken) -> None:
    """Revoke a refresh token, its rotation family and their access tokens (RFC 7009 §2.1)."""
    if row.token_family:
        RefreshToken.revoke_family(row.token_family)
    row.revoke()  # no-op when the family sweep already revoked it; covers tokens without a family
