"""Factors: what each factor type does at enrollment, activation, challenge and verification.

``TRAITS`` says, as data, what kind of proof each type is; ``handler()`` maps each ``factorType`` to
its handler, so the state machine knows no factor by name. A handler raises ``AuthnError`` to
refuse; it returns the RFC 8176 methods a verification proved.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Final, Protocol

from django.http import HttpRequest

from ..models import Factor, FactorType, Transaction


@dataclass(frozen=True, slots=True)
class Traits:
    many: bool  # a user may enroll several (one passkey per device)
    recovers: bool  # proves more than the mailbox: may answer a RECOVERY
    typed: bool  # answered with a typed code (passCode, or /recovery/answer)
    resends: bool  # its code can be sent again
    phishing_resistant: bool  # bound to the origin (acr "phr")
    backup_only: bool  # answers a challenge but never counts as "having a factor"


F = FactorType
TRAITS: Final = MappingProxyType({
    #                       many   recovers typed  resends phishing_resistant backup_only
    F.TOTP:          Traits(False, True,    True,  False,  False,             False),
    F.WEBAUTHN:      Traits(True,  True,    False, False,  True,              False),
    F.EMAIL:         Traits(False, False,   True,  True,   False,             False),
    F.RECOVERY_CODE: Traits(False, True,    True,  False,  False,             True),
})


class FactorHandler(Protocol):
    factor_type: FactorType
    provider: str

    def enroll(self, tx: Transaction, profile: dict[str, Any], request: HttpRequest | None) -> Factor:
        """Create the user's factor in PENDING_ACTIVATION (or replace a pending one); send what it needs."""

    def activation(self, factor: Factor, tx: Transaction) -> dict[str, Any]:
        """``_embedded.activation`` of MFA_ENROLL_ACTIVATE: what the user needs to finish enrolling."""

    def activate(
        self, factor: Factor, tx: Transaction, answer: dict[str, Any], request: HttpRequest | None
    ) -> list[str]:
        """Check the activation answer; return the methods it proved. The caller marks the factor ACTIVE."""

    def challenge(self, factor: Factor, tx: Transaction, request: HttpRequest | None) -> dict[str, Any] | None:
        """Start a challenge (send a code, make a WebAuthn challenge); None when the user answers at once."""

    def verify(self, factor: Factor, tx: Transaction, answer: dict[str, Any], request: HttpRequest | None) -> list[str]:
        """Check the answer to a challenge; return the methods it proved."""


def _registry() -> dict[str, FactorHandler]:
    from . import email, recovery_codes, totp, webauthn

    return {h.factor_type: h for h in (totp.HANDLER, webauthn.HANDLER, email.HANDLER, recovery_codes.HANDLER)}


_HANDLERS: dict[str, FactorHandler] = {}


def handler(factor_type: str) -> FactorHandler | None:
    """The handler of a ``factorType`` wire value, or None for one we do not have."""
    if not _HANDLERS:
        _HANDLERS.update(_registry())
    return _HANDLERS.get(factor_type)


def passcode(answer: dict[str, Any]) -> str:
    """The ``passCode`` of an answer, as a string without spaces ("123 456" is what people type)."""
    value = answer.get("passCode", "")
    return "".join(str(value).split())[:64] if isinstance(value, str | int) else ""
