"""Signing keys of an authorization server. Private material is sealed at rest and never shown."""

from __future__ import annotations

import json

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from jwcrypto import jwk

from .. import sealing
from .servers import AuthorizationServer


class KeyStatus(models.TextChoices):
    NEXT = "next", _("next (published, not yet signing)")
    ACTIVE = "active", _("active (signing)")
    RETIRED = "retired", _("retired (published until its tokens expire)")


class KeyAlg(models.TextChoices):
    RS256 = "RS256", "RS256"
    ES256 = "ES256", "ES256"
    PS256 = "PS256", "PS256"  # RSA-PSS: FAPI 2.0 (§5.4.1) allows PS256 and ES256 only


#: What ``jwk.JWK.generate`` makes for each algorithm: RFC 7518 §3.3 and §3.5 want RSA keys of 2048 bits
#: or more (RS256, PS256), §3.4 a P-256 curve for ES256.
KEY_PARAMETERS: dict[str, dict[str, str | int]] = {
    KeyAlg.RS256: {"kty": "RSA", "size": 2048},
    KeyAlg.PS256: {"kty": "RSA", "size": 2048},
    KeyAlg.ES256: {"kty": "EC", "crv": "P-256"},
}


def generate_jwk(alg: str) -> jwk.JWK:
    """Return a new private key for ``alg``; ValueError for an algorithm we do not sign with."""
    try:
        parameters = KEY_PARAMETERS[alg]
    except KeyError:
        raise ValueError(f"No signing keys for {alg!r}: choose one of {', '.join(KEY_PARAMETERS)}.") from None
    return jwk.JWK.generate(**parameters)


class SigningKeyQuerySet(models.QuerySet):
    def generate(
        self, server: AuthorizationServer, *, status: str = KeyStatus.ACTIVE, alg: str = KeyAlg.RS256
    ) -> SigningKey:
        key = generate_jwk(alg)
        kid = key.thumbprint()
        return self.create(
            server=server,
            kid=kid,
            alg=alg,
            status=status,
            public_jwk=key.export_public(as_dict=True) | {"kid": kid, "alg": alg, "use": "sig"},
            sealed_private_jwk=sealing.seal(key.export_private()),
            activated_at=timezone.now() if status == KeyStatus.ACTIVE else None,
        )


class SigningKey(models.Model):
    server = models.ForeignKey(AuthorizationServer, on_delete=models.CASCADE, related_name="signing_keys")
    kid = models.CharField(_("key id"), max_length=64, unique=True, editable=False)
    alg = models.CharField(_("algorithm"), max_length=8, choices=KeyAlg.choices, default=KeyAlg.RS256)
    status = models.CharField(_("status"), max_length=8, choices=KeyStatus.choices, default=KeyStatus.NEXT)
    public_jwk = models.JSONField(_("public key (JWK)"), editable=False)
    sealed_private_jwk = models.TextField(editable=False)
    created = models.DateTimeField(auto_now_add=True)
    activated_at = models.DateTimeField(null=True, blank=True, editable=False)
    retired_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = SigningKeyQuerySet.as_manager()

    class Meta:
        ordering = ["server", "-created"]
        constraints = [
            models.UniqueConstraint(
                fields=["server"], condition=models.Q(status="active"), name="one_active_key_per_server"
            ),
        ]

    def __repr__(self) -> str:
        return f"<SigningKey {self.kid} {self.alg} {self.status}>"

    def __str__(self) -> str:
        return f"{self.kid} ({self.alg}, {self.status})"

    def private_key(self) -> jwk.JWK:
        """The private JWK; only tokens.py signs with it."""
        return jwk.JWK.from_json(sealing.unseal(self.sealed_private_jwk))

    def public_key(self) -> jwk.JWK:
        return jwk.JWK.from_json(json.dumps(self.public_jwk))
