"""Recovery codes (``recovery_code``): ten single-use codes for when every device is lost.

Shown once (at enrollment or regeneration), stored as HMACs; a used code is removed. They answer an
MFA challenge but never count as "having a factor": a policy that wants MFA wants a real one too.
"""

from __future__ import annotations

import secrets
from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from ..errors import AuthnError
from ..models import Factor, FactorStatus, FactorType, Transaction
from ..onetime import digest
from . import passcode


COUNT = 10
_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i: read aloud and typed from paper


def _normalise(code: str) -> str:
    return "".join(c for c in code.lower() if c.isalnum())


def _hash(factor_id: str, code: str) -> str:
    return digest(_normalise(code), purpose=f"recovery_code:{factor_id}")


def generate(factor: Factor) -> list[str]:
    """Replace the factor's codes with ten new ones; return them (the only time they exist in clear)."""
    codes = ["-".join("".join(secrets.choice(_ALPHABET) for _ in range(5)) for _ in range(2)) for _ in range(COUNT)]
    factor.code_hashes = [_hash(factor.pk, code) for code in codes]
    factor.save(update_fields=["code_hashes"])
    factor._new_codes = codes  # for the activation answer of this request only
    return codes


def regenerate(user: AbstractBaseUser) -> list[str]:
    """New codes for ``user`` (an active factor is created if there is none); the old ones stop working."""
    factor = Factor.objects.filter(user=user, factor_type=FactorType.RECOVERY_CODE).first()
    if factor is None:
        factor = Factor.objects.create(
            user=user,
            factor_type=FactorType.RECOVERY_CODE,
            provider="OKTA",
            status=FactorStatus.ACTIVE,
            activated=timezone.now(),
        )
    elif not factor.is_active:
        Factor.objects.filter(pk=factor.pk).update(status=FactorStatus.ACTIVE, activated=timezone.now())
    return generate(factor)


def consume(factor: Factor, code: str) -> None:
    """Spend one code; raise E0000068 when it is not one of the unused codes."""
    wanted = _hash(factor.pk, code)
    with transaction.atomic():
        locked = Factor.objects.select_for_update().get(pk=factor.pk)
        if wanted not in locked.code_hashes:
            raise AuthnError("E0000068", "That recovery code is wrong or was used already.")
        locked.code_hashes = [h for h in locked.code_hashes if h != wanted]
        locked.last_verified = timezone.now()
        locked.save(update_fields=["code_hashes", "last_verified"])
    factor.code_hashes = locked.code_hashes


def remaining(factor: Factor) -> int:
    return len(factor.code_hashes)


class RecoveryCodeHandler:
    factor_type = FactorType.RECOVERY_CODE
    provider = "OKTA"

    def enroll(self, tx: Transaction, profile: dict[str, Any], request: HttpRequest | None) -> Factor:
        Factor.objects.filter(
            user=tx.user, factor_type=self.factor_type, status=FactorStatus.PENDING_ACTIVATION
        ).delete()
        factor = Factor.objects.create(
            user=tx.user, factor_type=self.factor_type, provider=self.provider, status=FactorStatus.PENDING_ACTIVATION
        )
        generate(factor)
        return factor

    def activation(self, factor: Factor, tx: Transaction) -> dict[str, Any]:
        # Shown in the answer to the enroll call only; later answers of the transaction cannot show them again.
        return {"recoveryCodes": getattr(factor, "_new_codes", []), "count": remaining(factor)}

    def activate(
        self, factor: Factor, tx: Transaction, answer: dict[str, Any], request: HttpRequest | None
    ) -> list[str]:
        # Typing one back proves the codes were kept; it is not spent.
        if _hash(factor.pk, passcode(answer)) not in factor.code_hashes:
            raise AuthnError("E0000068", "Type one of your recovery codes to show you saved them.")
        return ["otp"]

    def challenge(self, factor: Factor, tx: Transaction, request: HttpRequest | None) -> dict[str, Any] | None:
        return None

    def verify(self, factor: Factor, tx: Transaction, answer: dict[str, Any], request: HttpRequest | None) -> list[str]:
        consume(factor, passcode(answer))
        return ["otp"]


HANDLER = RecoveryCodeHandler()
