"""The revocation list of JWT access tokens: what ends a self-contained token before its ``exp``.

A JWT access token (RFC 9068) has no row: introspection and userinfo verify its signature, then ask
``is_revoked``. An entry names one of the token's keys (``keys_of``):

- ``jti:<jti>``: that token (RFC 7009 revocation of the access token itself);
- ``family:<uuid>``: every token of one authorization (the ``grant_id`` claim): a code and all the
  refreshes after it. Revoking a refresh token, reusing a rotated one (RFC 9700 §4.14.2) or
  replaying a code (RFC 9700 §4.5) revokes the family;
- ``holder:<server>:<client_id>:<uid>``, ``client:<client_id>``, ``user:<uid>``: the tokens a
  holder was issued *before* the entry (``issued_before``): withdrawn consent, an administrator's
  "revoke this client's / user's tokens". Later tokens are unaffected. ``<uid>`` is the token's ``uid``
  claim: the user's public id, or a pairwise sub (oidc_flows.subjects.token_uids lists a user's).

The database is the list: one indexed point query per check, with SQL compiled once per process.
A shared cache cannot stand in for it: a cache miss could mean "not revoked" or "evicted", and
Redis here keeps nothing on disk. An entry is kept until every token it can match has expired
(``expires``; ``oidc_clear_expired`` deletes it after that).
"""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any, Final
from uuid import UUID

from django.db import connections
from django.utils import timezone

from .models import Revocation
from .models.access import MAX_ACCESS_TOKEN_SECONDS


#: The private claim of a JWT access token that names its grant family (Okta's jti carries the same link).
FAMILY_CLAIM: Final = "grant_id"

_SQL: dict[tuple[str, int], str] = {}


def jti_key(jti: str) -> str:
    return f"jti:{jti}"


def family_key(family: UUID | str) -> str:
    return f"family:{UUID(str(family)).hex}"


def holder_key(server_pk: int, client_id: str, user_pk: Any) -> str:
    return f"holder:{server_pk}:{client_id}:{user_pk}"


def client_key(client_id: str) -> str:
    return f"client:{client_id}"


def user_key(user_pk: Any) -> str:
    return f"user:{user_pk}"


def keys_of(server_pk: int, payload: dict[str, Any]) -> list[str]:
    """The revocation keys a verified access token's payload can match."""
    found = [jti_key(str(payload.get("jti", "")))]
    if family := payload.get(FAMILY_CLAIM):
        found.append(f"family:{family}")
    client_id = str(payload.get("client_id", ""))
    found.append(client_key(client_id))
    if (uid := payload.get("uid")) is not None:
        found += [user_key(uid), holder_key(server_pk, client_id, uid)]
    return found


def is_revoked(server_pk: int, payload: dict[str, Any]) -> bool:
    """Whether an entry of the list ends this (verified) token."""
    keys = keys_of(server_pk, payload)
    conn = connections[Revocation.objects.db]
    sql = _SQL.get((conn.vendor, len(keys)))
    if sql is None:
        qn, meta = conn.ops.quote_name, Revocation._meta
        marks = ", ".join(["%s"] * len(keys))
        sql = _SQL[(conn.vendor, len(keys))] = (
            f"SELECT {qn(meta.get_field('issued_before').column)} FROM {qn(meta.db_table)} "
            f"WHERE {qn(meta.get_field('key').column)} IN ({marks})"
        )
    with conn.cursor() as cursor:
        cursor.execute(sql, keys)
        rows = cursor.fetchall()
    issued = issued_at(payload)
    return any(before is None or issued < before for (before,) in rows)


def issued_at(payload: dict[str, Any]) -> float:
    """When a token was issued, in seconds: from its jti, a UUIDv7 (tokens.new_jti), to the millisecond.

    ``iat`` alone has whole seconds: a token issued in the same second as a holder's entry, after it,
    would count as revoked. Tokens with another kind of jti fall back to ``iat``.
    """
    try:
        jti = UUID(hex=str(payload.get("jti", "")))
    except ValueError:
        jti = None
    if jti is not None and jti.version == 7:
        return (jti.int >> 80) / 1000
    iat = payload.get("iat", 0)
    return float(iat) if isinstance(iat, int | float) else 0.0


def _record(key: str, *, lives: float, issued_before: float | None = None) -> None:
    """Add (or renew) an entry that must be kept ``lives`` seconds from now."""
    expires = timezone.now() + timedelta(seconds=max(lives, 0))
    Revocation.objects.update_or_create(key=key, defaults={"expires": expires, "issued_before": issued_before})


def revoke_token(jti: str, exp: int) -> None:
    """Revoke one access token, until it expires anyway."""
    if jti:
        _record(jti_key(jti), lives=exp - time.time() + 1)


def revoke_family(family: UUID | str) -> None:
    """Revoke every access token of a grant family, issued or still to be issued."""
    _record(family_key(family), lives=MAX_ACCESS_TOKEN_SECONDS)


def revoke_holder(server_pk: int, client_id: str, user_pk: Any) -> None:
    """Revoke the access tokens a user holds for a client on one server (withdrawn consent)."""
    _record(holder_key(server_pk, client_id, user_pk), lives=MAX_ACCESS_TOKEN_SECONDS, issued_before=time.time())


def revoke_client(client_id: str) -> None:
    """Revoke every access token issued to a client so far, on every server."""
    _record(client_key(client_id), lives=MAX_ACCESS_TOKEN_SECONDS, issued_before=time.time())


def revoke_user(user_pk: Any) -> None:
    """Revoke every access token issued for a user so far, on every server."""
    _record(user_key(user_pk), lives=MAX_ACCESS_TOKEN_SECONDS, issued_before=time.time())
