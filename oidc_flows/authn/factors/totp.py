"""Authenticator apps (RFC 6238 TOTP, ``token:software:totp``) with pyotp; QR codes with segno.

The secret is sealed at rest like the signing keys. A code is accepted within one time step either
side (clock drift), and each time step only once: the last accepted step is kept on the factor and
raised with a conditional UPDATE, so two concurrent uses of one code cannot both succeed.
"""

from __future__ import annotations

import base64
import hmac
import io
import time
from typing import Any

import pyotp
import segno
from django.contrib.auth.base_user import AbstractBaseUser
from django.http import HttpRequest
from django.utils import timezone

from ... import sealing
from ...settings import flows_settings
from ..errors import AuthnError
from ..models import Factor, FactorStatus, FactorType, Transaction
from . import passcode


STEP = 30
DIGITS = 6
#: Time steps accepted either side of now (RFC 6238 §5.2: at most one is recommended).
DRIFT = 1


def provisioning_uri(factor: Factor) -> str:
    """The otpauth:// URI an authenticator app scans."""
    issuer = flows_settings().BASE_URL.split("://", 1)[-1]
    return pyotp.TOTP(sealing.unseal(factor.secret), interval=STEP, digits=DIGITS).provisioning_uri(
        name=factor.user.get_username(), issuer_name=issuer
    )


def qr_png_data_uri(factor: Factor) -> str:
    buffer = io.BytesIO()
    segno.make(provisioning_uri(factor), error="m").save(buffer, kind="png", scale=5, border=2)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def qr_svg(factor: Factor, title: str) -> str:
    """The QR code as inline SVG, with a title for screen readers."""
    buffer = io.BytesIO()
    segno.make(provisioning_uri(factor), error="m").save(
        buffer, kind="svg", scale=5, border=2, xmldecl=False, svgns=True, title=title, svgclass="qr"
    )
    return buffer.getvalue().decode()


def check_code(factor: Factor, code: str, *, now: float | None = None) -> None:
    """Accept ``code`` once; raise E0000068 (wrong) or E0000082 (a code already used)."""
    if not code.isdigit() or len(code) != DIGITS:
        raise AuthnError("E0000068", "Enter the 6-digit code from your authenticator app.")
    totp = pyotp.TOTP(sealing.unseal(factor.secret), interval=STEP, digits=DIGITS)
    current = int((now or time.time()) // STEP)
    for step in range(current - DRIFT, current + DRIFT + 1):
        if hmac.compare_digest(totp.at(step * STEP), code):
            claimed = Factor.objects.filter(pk=factor.pk, counter__lt=step).update(
                counter=step, last_verified=timezone.now()
            )
            if not claimed:
                raise AuthnError("E0000082")
            factor.counter = step
            return
    raise AuthnError("E0000068", "The code is wrong or has expired.")


def new_factor(user: AbstractBaseUser, status: str = FactorStatus.PENDING_ACTIVATION) -> tuple[Factor, str]:
    secret = pyotp.random_base32(32)  # 160 bits (RFC 4226 §4 R6)
    factor = Factor.objects.create(
        user=user,
        factor_type=FactorType.TOTP,
        provider="OKTA",
        status=status,
        secret=sealing.seal(secret),
        profile={"credentialId": user.get_username()},
        activated=timezone.now() if status == FactorStatus.ACTIVE else None,
    )
    return factor, secret


def enroll_active(user: AbstractBaseUser) -> tuple[Factor, str]:
    """An ACTIVE TOTP factor and its base32 secret (for scripts, the demo and tests)."""
    return new_factor(user, FactorStatus.ACTIVE)


class TotpHandler:
    factor_type = FactorType.TOTP
    provider = "OKTA"

    def enroll(self, tx: Transaction, profile: dict[str, Any], request: HttpRequest | None) -> Factor:
        Factor.objects.filter(
            user=tx.user, factor_type=self.factor_type, status=FactorStatus.PENDING_ACTIVATION
        ).delete()
        factor, _secret = new_factor(tx.user)
        return factor

    def activation(self, factor: Factor, tx: Transaction) -> dict[str, Any]:
        secret = sealing.unseal(factor.secret)
        return {"timeStep": STEP, "sharedSecret": secret, "encoding": "base32", "keyLength": len(secret)}

    def activate(
        self, factor: Factor, tx: Transaction, answer: dict[str, Any], request: HttpRequest | None
    ) -> list[str]:
        check_code(factor, passcode(answer))
        return ["otp"]

    def challenge(self, factor: Factor, tx: Transaction, request: HttpRequest | None) -> dict[str, Any] | None:
        return None  # the app shows a code at any time

    def verify(self, factor: Factor, tx: Transaction, answer: dict[str, Any], request: HttpRequest | None) -> list[str]:
        check_code(factor, passcode(answer))
        return ["otp"]


HANDLER = TotpHandler()
