"""Signing keys of an authorization server: the signing key, rotation, and the JWKS (RFC 7517).

A key moves forward only: next → active → retired. The JWKS publishes next, active and retired
keys still inside their grace period, so a verifier holding yesterday's JWKS keeps verifying
tokens signed before a rotation, and one holding today's already knows tomorrow's key.

Each server has its own algorithm (RS256, PS256 or ES256): that of its newest key, which rotation
keeps; a rotation may change it (``rotate(server, alg=...)``). A server under a security profile
(``policy.FAPI2``) signs only with the profile's algorithms: a key of another is due for rotation.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from . import snapshots, systemlog
from .models import AuthorizationServer, SigningKey
from .models.keys import KeyAlg, KeyStatus
from .settings import flows_settings


#: The algorithm a security profile's server gets when its keys' algorithm is not allowed there:
#: RSA like the RS256 default, so verifiers need no new key type (FAPI 2.0 §5.4.1 allows PS256 and ES256).
PROFILE_FALLBACK_ALG = KeyAlg.PS256


def allowed_algs(server: AuthorizationServer) -> tuple[str, ...]:
    """The algorithms ``server``'s keys may have: the profile's, or every one we sign with."""
    profile = server.profile
    return tuple(a for a in KeyAlg.values if profile is None or a in profile.signing_algs)


def alg_of(server: AuthorizationServer) -> str:
    """The algorithm of ``server``'s next keys: its newest key's (or ``SIGNING_ALG``), if the server allows it."""
    newest = SigningKey.objects.filter(server=server).order_by("-created", "-pk").values_list("alg", flat=True).first()
    alg = newest or flows_settings().SIGNING_ALG
    return PROFILE_FALLBACK_ALG if server.profile and alg not in allowed_algs(server) else alg


def _generate(server: AuthorizationServer, status: str, alg: str) -> SigningKey:
    return SigningKey.objects.generate(server, status=status, alg=alg)


def ensure_signing_key(server: AuthorizationServer, *, alg: str | None = None) -> SigningKey:
    """Return the server's active key, generating it (and the published ``next`` key, of ``alg``) if missing."""
    with transaction.atomic():
        keys = {k.status: k for k in SigningKey.objects.select_for_update().filter(server=server)}
        alg = alg or alg_of(server)
        if KeyStatus.NEXT not in keys:
            _generate(server, KeyStatus.NEXT, alg)  # published from day one, so the first rotation breaks no verifier
        return keys.get(KeyStatus.ACTIVE) or _generate(server, KeyStatus.ACTIVE, alg)


@transaction.atomic
def rotate(server: AuthorizationServer, *, alg: str | None = None, now: datetime | None = None) -> SigningKey:
    """Activate the ``next`` key (or a fresh one), retire the active one, and publish a new ``next``.

    Returns the newly active key. Verifiers that fetched the JWKS since the last rotation already
    hold it, so tokens signed from now on verify at once. With ``alg`` other than the ``next`` key's,
    a fresh key of ``alg`` signs at once instead (the unused ``next`` key retires): verifiers meet a
    ``kid`` they have not seen and refetch the JWKS (RFC 7517 §4.5; our ``oidc_flows.resource`` does).
    """
    now = now or timezone.now()
    # Lock the server's keys: two nodes rotating at once would otherwise both promote a key.
    keys = {k.status: k for k in SigningKey.objects.select_for_update().filter(server=server).exclude(status="retired")}
    alg = alg or alg_of(server)
    if alg not in allowed_algs(server):
        raise ValueError(f"{server.server_id} signs with {', '.join(allowed_algs(server))} only, not {alg}.")
    promoted = keys.get(KeyStatus.NEXT)
    retiring = [keys.get(KeyStatus.ACTIVE)]
    if promoted is not None and promoted.alg != alg:
        retiring.append(promoted)  # never signed: retired (published a while longer) rather than deleted
        promoted = None
    for key in filter(None, retiring):
        key.status, key.retired_at = KeyStatus.RETIRED, now
        key.save(update_fields=["status", "retired_at"])
    promoted = promoted or _generate(server, KeyStatus.NEXT, alg)
    promoted.status, promoted.activated_at = KeyStatus.ACTIVE, now
    promoted.save(update_fields=["status", "activated_at"])
    _generate(server, KeyStatus.NEXT, alg)
    return promoted


def is_due(server: AuthorizationServer, key: SigningKey, *, now: datetime | None = None) -> bool:
    """Whether the active key must be replaced: older than the server's rotation interval, or of an
    algorithm the server's profile forbids (the switch was turned on: the next signature rotates)."""
    if key.alg not in allowed_algs(server):
        return True
    if not server.key_rotation_days or key.activated_at is None:
        return False
    return key.activated_at + timedelta(days=server.key_rotation_days) <= (now or timezone.now())


def signing_key(server: AuthorizationServer) -> SigningKey:
    """The key that signs this server's tokens now; rotates first when the interval has passed."""
    key = snapshots.of(server).active_key
    if key is None:
        return ensure_signing_key(server)
    if is_due(server, key):
        with transaction.atomic():
            # Another node may have rotated meanwhile: decide again under the lock.
            current = SigningKey.objects.select_for_update().filter(server=server, status=KeyStatus.ACTIVE).first()
            if current is None:
                # PostgreSQL re-checks a row it waited for: retired by that rotation, it no longer matches.
                return ensure_signing_key(server)
            if not is_due(server, current):
                return current
            rotated = rotate(server)
            # Automatic: the system rotated it (interval passed or the profile forbids the old algorithm).
            systemlog.record(
                systemlog.KEY_ROLLOVER,
                target=server,
                detail={"via": "automatic", "kid": rotated.kid, "alg": rotated.alg, "retired": current.kid},
            )
            return rotated
    return key


def published(server: AuthorizationServer, *, now: datetime | None = None) -> list[SigningKey]:
    """Keys a verifier may meet: next, active, and retired keys still inside their grace period."""
    cutoff = (now or timezone.now()) - timedelta(seconds=flows_settings().RETIRED_KEY_PUBLISH_SECONDS)
    keys = SigningKey.objects.filter(server=server).exclude(status=KeyStatus.RETIRED, retired_at__lte=cutoff)
    order = {KeyStatus.ACTIVE: 0, KeyStatus.NEXT: 1, KeyStatus.RETIRED: 2}
    return sorted(keys, key=lambda k: (order[k.status], -k.created.timestamp()))


def jwks(server: AuthorizationServer) -> dict[str, list[dict]]:
    """The server's JWK Set: public parts only."""
    return jwks_until(server)[0]


def jwks_until(
    server: AuthorizationServer, *, now: datetime | None = None
) -> tuple[dict[str, list[dict]], datetime | None]:
    """The server's JWK Set as of ``now``, and the moment it changes by itself (or ``None``: not before a change).

    Only time takes a key out of the set without a change to the rows: a retired key leaves when its
    grace period ends. Everything else bumps the server's stamp, and with it the snapshot.
    """
    now = now or timezone.now()
    keys = snapshots.of(server).published_keys(now)
    grace = timedelta(seconds=flows_settings().RETIRED_KEY_PUBLISH_SECONDS)
    ends = [k.retired_at + grace for k in keys if k.status == KeyStatus.RETIRED and k.retired_at]
    return {"keys": [key.public_jwk for key in keys]}, min(ends, default=None)
