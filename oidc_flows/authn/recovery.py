"""Recovery by email: forgotten passwords and locked accounts (Okta's ``/api/v1/authn/recovery/*``).

A mailed recovery token (random, hashed, single-use, short-lived) opens a transaction in the
state machine (``machine``): RECOVERY when the user has a factor that proves more than the mailbox
(an authenticator app, a passkey, recovery codes), then PASSWORD_RESET, or the account unlocked.
Asking never reveals whether the user exists: the answer is the same and the mail leaves in the
background.
"""

from __future__ import annotations

import threading
from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.http import HttpRequest
from django.utils import timezone

from .. import lockout
from . import events, factors, mail, onetime, policies
from .errors import AuthnError
from .machine import (
    Context,
    Step,
    _advance,
    _atomic,
    _end,
    _fail,
    _find_user,
    _load,
    _open,
    _save,
    _traits,
    describe,
    recovery_factors,
    set_password,
)
from .models import AuthnStatus as S
from .models import OneTimeToken, Outcome, RecoveryType, TokenPurpose, Transaction


def request_recovery(
    request: HttpRequest | None,
    username: Any,
    recovery_type: str,
    *,
    factor_type: Any = "EMAIL",
    relay_state: str = "",
    context: Context | None = None,
) -> Step:
    """Mail a recovery token if the user exists and may recover; the answer is the same either way."""
    context = context or Context()
    if not isinstance(username, str) or not username:
        raise AuthnError("E0000001", "username is required.")
    if str(factor_type).upper() != "EMAIL":
        raise AuthnError("E0000001", "factorType: only EMAIL recovery is available.")
    user = _find_user(username[:150])
    rules = policies.password(user)
    allowed = rules.email_recovery if recovery_type == RecoveryType.PASSWORD else rules.self_unlock
    event = events.RESET_REQUEST if recovery_type == RecoveryType.PASSWORD else events.UNLOCK_REQUEST
    if user is None or not user.is_active or not user.email or not allowed:
        events.record(
            event,
            Outcome.FAILURE,
            request=request,
            user=user,
            username=username[:150],
            reason="not eligible" if user else "unknown user",
        )
    else:
        # Only the newest link works: asking again spends the earlier ones.
        OneTimeToken.objects.filter(purpose=TokenPurpose.RECOVERY, user=user, used__isnull=True).update(
            used=timezone.now()
        )
        token = onetime.issue(
            TokenPurpose.RECOVERY,
            user,
            seconds=rules.recovery_token_seconds,
            # Where the sign-in was for: after the reset, that application's sign-on rule applies.
            data={
                "type": recovery_type,
                "relay_state": relay_state[:2048],
                "client_id": context.client_id,
                "server_id": context.server_id,
            },
        )
        minutes = rules.recovery_token_seconds // 60
        # In the background: the answer takes as long for an unknown user as for a known one.
        threading.Thread(target=_mail_quietly, args=(user, token, recovery_type, minutes), daemon=True).start()
        events.record(event, request=request, user=user)
    return Step(S.RECOVERY_CHALLENGE, recovery_type=recovery_type, factor_result="WAITING", relay_state=relay_state)


def _mail_quietly(user: AbstractBaseUser, token: str, recovery_type: str, minutes: int) -> None:
    try:
        mail.send_recovery(user, token, recovery_type, minutes)
    except Exception:  # noqa: BLE001  (a mail server down must not surface: the answer was already sent)
        events.log.exception("recovery mail to user %s failed", user.pk)


@_atomic
def verify_recovery_token(request: HttpRequest | None, token: Any) -> Step:
    """Redeem a mailed recovery token: RECOVERY (answer a factor), PASSWORD_RESET, or unlocked."""
    spent = onetime.redeem(TokenPurpose.RECOVERY, token) if isinstance(token, str) else None
    if spent is None or not spent.user.is_active:
        raise AuthnError("E0000011")
    data = spent.data
    context = Context(
        client_id=data.get("client_id", ""),
        server_id=data.get("server_id", ""),
        relay_state=data.get("relay_state", ""),
    )
    tx, raw = _open(spent.user, S.RECOVERY, context, recovery_type=spent.data.get("type", RecoveryType.PASSWORD))
    if recovery_factors(tx.user):
        _save(tx, S.RECOVERY)
        return describe(tx, raw)
    return after_recovery(tx, raw, request)


@_atomic
def answer(request: HttpRequest | None, raw: Any, text: Any) -> Step:
    """RECOVERY: answer with a code of an authenticator app or a recovery code."""
    tx = _load(raw, "answer")
    code = {"passCode": text if isinstance(text, str) else ""}
    for factor in recovery_factors(tx.user):
        if not _traits(factor.factor_type).typed:
            continue
        try:
            methods = factors.handler(factor.factor_type).verify(factor, tx, code, request)
        except AuthnError:
            continue
        tx.amr = policies.with_method(tx.amr, *methods)
        tx.context["verified"] = sorted({*tx.context.get("verified", []), factor.factor_type})
        events.record(events.MFA, request=request, user=tx.user, factor_type=factor.factor_type)
        return after_recovery(tx, raw, request)
    raise _fail(tx, request, AuthnError("E0000068"), None)


def after_recovery(tx: Transaction, raw: str, request: HttpRequest | None) -> Step:
    if tx.recovery_type == RecoveryType.UNLOCK:
        lockout.unlock(tx.user)
        events.record(events.UNLOCK, request=request, user=tx.user, reason="self-service")
        _end(tx, S.SUCCESS)
        return Step(S.SUCCESS, tx, user=tx.user, recovery_type=RecoveryType.UNLOCK, relay_state=tx.relay_state)
    _save(tx, S.PASSWORD_RESET)
    return describe(tx, raw)


@_atomic
def reset_password(request: HttpRequest | None, raw: Any, new: Any) -> Step:
    """PASSWORD_RESET: set the new password, end the user's other sessions, and continue the sign-in."""
    tx = _load(raw, "reset_password")
    set_password(tx.user, new, request, events.PASSWORD_RESET)
    tx.amr = policies.with_method(tx.amr, "pwd")
    tx.auth_time = timezone.now()
    return _advance(tx, raw, request)
