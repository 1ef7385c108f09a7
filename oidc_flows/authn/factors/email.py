"""Email one-time codes (``email``): the address on the user's account, a 6-digit code valid 5 minutes.

The code is kept on the transaction as an HMAC with its expiry and a count of wrong tries; after
``MAX_TRIES`` wrong answers the code is spent and a new one must be sent. The same mail channel is
the recovery channel (``oidc_flows.authn.recovery``).
"""

from __future__ import annotations

import hmac
import secrets
import time
from typing import Any

from django.http import HttpRequest
from django.utils import timezone

from .. import mail
from ..errors import AuthnError
from ..models import Factor, FactorStatus, FactorType, Transaction
from ..onetime import digest
from . import passcode


CODE_SECONDS = 300
MAX_TRIES = 5
#: A new code is mailed at most this often per transaction (``resend``).
RESEND_SECONDS = 30


def _mask(address: str) -> str:
    name, _, domain = address.partition("@")
    return f"{name[:1]}…@{domain}" if domain else "…"


def send(factor: Factor, tx: Transaction) -> None:
    """Mail a new code for ``factor``; it replaces any code sent before in this transaction."""
    sent = tx.challenge.get("sent", 0)
    if time.time() - sent < RESEND_SECONDS:
        return  # a double click does not mail twice
    code = f"{secrets.randbelow(10**6):06d}"
    tx.challenge = {
        "factor": factor.pk,
        "code": digest(code, purpose=f"email:{tx.pk}"),
        "expires": time.time() + CODE_SECONDS,
        "sent": time.time(),
        "tries": 0,
    }
    tx.save(update_fields=["challenge"])
    mail.send_code(factor.user, factor.profile["email"], code, CODE_SECONDS // 60)


def check(factor: Factor, tx: Transaction, answer: dict[str, Any]) -> None:
    code = passcode(answer)
    sent = tx.challenge
    if sent.get("factor") != factor.pk or not sent.get("code") or sent.get("expires", 0) < time.time():
        raise AuthnError("E0000068", "The code has expired. Send a new one.")
    if not hmac.compare_digest(sent["code"], digest(code, purpose=f"email:{tx.pk}")):
        sent["tries"] = sent.get("tries", 0) + 1
        if sent["tries"] >= MAX_TRIES:
            sent["code"] = ""  # spent: guessing stops here
        tx.save(update_fields=["challenge"])
        raise AuthnError("E0000068", "The code is wrong.")
    tx.challenge = {}
    tx.save(update_fields=["challenge"])
    Factor.objects.filter(pk=factor.pk).update(last_verified=timezone.now())


class EmailHandler:
    factor_type = FactorType.EMAIL
    provider = "OKTA"

    def enroll(self, tx: Transaction, profile: dict[str, Any], request: HttpRequest | None) -> Factor:
        # Only the address on the account: enrolling someone else's mailbox would hand them a factor.
        if not tx.user.email:
            raise AuthnError("E0000001", "Your account has no email address.")
        Factor.objects.filter(
            user=tx.user, factor_type=self.factor_type, status=FactorStatus.PENDING_ACTIVATION
        ).delete()
        factor = Factor.objects.create(
            user=tx.user,
            factor_type=self.factor_type,
            provider=self.provider,
            status=FactorStatus.PENDING_ACTIVATION,
            profile={"email": tx.user.email},
        )
        send(factor, tx)
        return factor

    def activation(self, factor: Factor, tx: Transaction) -> dict[str, Any]:
        return {"email": _mask(factor.profile["email"])}

    def activate(
        self, factor: Factor, tx: Transaction, answer: dict[str, Any], request: HttpRequest | None
    ) -> list[str]:
        check(factor, tx, answer)
        return ["otp"]

    def challenge(self, factor: Factor, tx: Transaction, request: HttpRequest | None) -> dict[str, Any] | None:
        send(factor, tx)
        return {"email": _mask(factor.profile["email"])}

    def verify(self, factor: Factor, tx: Transaction, answer: dict[str, Any], request: HttpRequest | None) -> list[str]:
        check(factor, tx, answer)
        return ["otp"]


HANDLER = EmailHandler()
