"""Signing keys of an authorization server: the signing key and the JWKS (RFC 7517)."""

from __future__ import annotations

from django.db import transaction

from .models import AuthorizationServer, SigningKey
from .models.keys import KeyStatus
from .settings import flows_settings


def ensure_signing_key(server: AuthorizationServer) -> SigningKey:
    """Return the server's active key, generating one if it has none."""
    with transaction.atomic():
        key = SigningKey.objects.select_for_update().filter(server=server, status=KeyStatus.ACTIVE).first()
        return key or SigningKey.objects.generate(server, status=KeyStatus.ACTIVE, alg=flows_settings().SIGNING_ALG)


def signing_key(server: AuthorizationServer) -> SigningKey:
    """The key that signs this server's tokens now."""
    key = SigningKey.objects.filter(server=server, status=KeyStatus.ACTIVE).first()
    return key or ensure_signing_key(server)


def published(server: AuthorizationServer) -> list[SigningKey]:
    """Keys a verifier may meet: next, active and retired keys (until they are deleted)."""
    return list(SigningKey.objects.filter(server=server).order_by("status", "-created"))


def jwks(server: AuthorizationServer) -> dict[str, list[dict]]:
    """The server's JWK Set: public parts only."""
    return {"keys": [key.public_jwk for key in published(server)]}
