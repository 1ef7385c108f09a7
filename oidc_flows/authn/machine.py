"""The sign-in state machine: what a sign-in needs next, decided in one place for the API and the hosted pages.

A transaction moves between Okta's states (``models.AuthnStatus``); ``ALLOWED`` says, as data, which
operation each state accepts, and anything else is ``E0000079``. The transaction is named by its
``stateToken``, which only its HMAC names in the database; every operation locks the row, so two
concurrent answers to one challenge cannot both count. A transaction that succeeded, was cancelled
or failed too often is ended: its ``stateToken`` is spent.

Every function returns a ``Step`` (the state and what it needs shown); the front ends render it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Any, Final

from django.contrib.auth import authenticate, get_user_model, password_validation
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import connections, transaction
from django.http import HttpRequest
from django.utils import timezone

from .. import lockout, snapshots
from ..models import Application, AuthorizationServer, BrowserSession
from . import events, factors, onetime, policies
from .errors import AuthnError
from .factors import webauthn
from .models import (
    AuthnStatus,
    Enrollment,
    Factor,
    FactorStatus,
    MfaRequirement,
    Outcome,
    TokenPurpose,
    Transaction,
)


S = AuthnStatus
#: A transaction lives this long after its last step (Okta: five minutes).
TRANSACTION_SECONDS: Final = 300
#: A sessionToken must be redeemed within five minutes (Okta's contract), once.
SESSION_TOKEN_SECONDS: Final = 300
#: Wrong answers to factors in one transaction before it ends; the rate limits bound it across transactions.
MAX_FACTOR_FAILURES: Final = 5

#: Which operation each state accepts (``status`` and ``cancel`` work in every live state).
# fmt: off
ALLOWED: Final = MappingProxyType({
    "verify":          frozenset({S.MFA_REQUIRED, S.MFA_CHALLENGE, S.UNAUTHENTICATED, S.RECOVERY}),
    "enroll":          frozenset({S.MFA_ENROLL, S.MFA_ENROLL_ACTIVATE}),
    "activate":        frozenset({S.MFA_ENROLL_ACTIVATE}),
    "resend":          frozenset({S.MFA_ENROLL_ACTIVATE, S.MFA_CHALLENGE}),
    "previous":        frozenset({S.MFA_ENROLL_ACTIVATE, S.MFA_CHALLENGE}),
    "skip":            frozenset({S.MFA_ENROLL, S.PASSWORD_WARN}),
    "change_password": frozenset({S.PASSWORD_EXPIRED, S.PASSWORD_WARN}),
    "answer":          frozenset({S.RECOVERY}),
    "reset_password":  frozenset({S.PASSWORD_RESET}),
    "status":          frozenset(S),
    "cancel":          frozenset(S),
})
# fmt: on


@dataclass
class Step:
    """A state and what it needs shown; ``state_token`` is absent once the transaction ended."""

    status: str
    tx: Transaction | None = None
    state_token: str | None = None
    session_token: str | None = None
    user: AbstractBaseUser | None = None
    factors: list[Factor] = field(default_factory=list)  # MFA_REQUIRED, RECOVERY: factors to verify
    enrollable: list[dict[str, Any]] = field(default_factory=list)  # MFA_ENROLL: factorType, enrollment, status
    factor: Factor | None = None  # MFA_ENROLL_ACTIVATE, MFA_CHALLENGE
    activation: dict[str, Any] | None = None
    challenge: dict[str, Any] | None = None
    can_skip: bool = False
    recovery_type: str = ""
    factor_result: str | None = None
    password_expires: datetime | None = None
    relay_state: str = ""
    #: SUCCESS of a hosted-page sign-in: what signs the browser in (amr, auth_time, lifetimes), no sessionToken.
    session: dict[str, Any] | None = None


@dataclass(frozen=True)
class Context:
    """What a sign-in is for; the hosted pages know more than an API caller."""

    client_id: str = ""
    server_id: str = ""
    acr_values: tuple[str, ...] = ()
    warn_before_password_expired: bool = False
    multi_optional_factor_enroll: bool = False
    relay_state: str = ""
    #: The browser's current IdP session (hosted pages): its user and amr, for "MFA once per session".
    session_user: int | None = None
    session_amr: tuple[str, ...] = ()
    session_verified: tuple[str, ...] = ()
    #: The hosted pages sign the browser in themselves on SUCCESS: a sessionToken would be issued and
    #: redeemed in the same request, so none is (``Step.session`` carries what it would have carried).
    hosted: bool = False

    def stored(self) -> dict[str, Any]:
        return {
            "client_id": self.client_id,
            "server_id": self.server_id,
            "acr_values": list(self.acr_values),
            "warn": self.warn_before_password_expired,
            "multi_optional": self.multi_optional_factor_enroll,
            "session_user": self.session_user,
            "session_amr": list(self.session_amr),
            "session_verified": list(self.session_verified),
            "hosted": self.hosted,
        }


# -- transactions -----------------------------------------------------------------------------------


def _atomic(operation: Callable) -> Callable:
    """``transaction.atomic``, except that a refusal keeps what was written before it.

    A wrong password or code must still count (lockout, the transaction's failure count) and be
    logged; only an unexpected exception rolls the operation back.
    """

    @functools.wraps(operation)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with transaction.atomic():
            try:
                return operation(*args, **kwargs)
            except AuthnError as exc:
                refusal = exc
        raise refusal

    return wrapper


def _open(
    user: AbstractBaseUser | None, status: str, context: Context, *, stored: bool = True, **fields: Any
) -> tuple[Transaction, str]:
    """A new transaction; ``stored=False`` leaves the INSERT to its first ``_save`` (a sign-in that succeeds
    at once never has a row: its stateToken is never shown, so there is nothing to name or spend)."""
    raw = onetime.new_token()
    tx = Transaction(
        token_hash=onetime.digest(raw, purpose="state"),
        user=user,
        status=status,
        expires=timezone.now() + timedelta(seconds=TRANSACTION_SECONDS),
        relay_state=context.relay_state[:2048],
        context=context.stored(),
        **fields,
    )
    if stored:
        tx.save(force_insert=True)
    return tx, raw


def _load(raw: Any, operation: str) -> Transaction:
    """The live transaction ``raw`` names, locked for this request; E0000011 or E0000079 otherwise."""
    if not isinstance(raw, str) or not 20 <= len(raw) <= 128:
        raise AuthnError("E0000011")
    tx = (
        # of=self: PostgreSQL cannot lock the nullable side of the outer joins to user and factor.
        Transaction.objects.select_for_update(of=("self",))
        .select_related("user", "factor")
        .filter(token_hash=onetime.digest(raw, purpose="state"))
        .first()
    )
    if tx is None or not tx.is_live:
        raise AuthnError("E0000011")
    if tx.status not in ALLOWED[operation]:
        raise AuthnError("E0000079")
    return tx


def _save(tx: Transaction, status: str) -> None:
    tx.status = status
    tx.expires = timezone.now() + timedelta(seconds=TRANSACTION_SECONDS)
    tx.save()


def _end(tx: Transaction, status: str | None = None) -> None:
    tx.status = status or tx.status
    tx.ended = timezone.now()
    tx.challenge = {}
    if tx.pk is not None:  # never stored (ended in the request that opened it): nothing to spend
        tx.save()


class _Named:
    """The client or server a transaction's context names; its pk is read (SQL compiled once) only if a rule asks."""

    def __init__(self, model: type, field: str, value: str) -> None:
        self.model, self.field, self.value = model, field, value

    @functools.cached_property
    def pk(self) -> int | None:
        row = snapshots.read_stamp(self.model, ("id",), (self.field,), [self.value]) if self.value else None
        return row[0] if row else None


def _client_and_server(tx: Transaction) -> tuple[Any, Any]:
    cached = getattr(tx, "_client_and_server", None)
    if cached is None:
        cached = tx._client_and_server = (
            _Named(Application, "client_id", tx.context.get("client_id") or ""),
            _Named(AuthorizationServer, "server_id", tx.context.get("server_id") or ""),
        )
    return cached


def _fail(tx: Transaction, request: HttpRequest | None, error: AuthnError, factor: Factor | None) -> AuthnError:
    """Count a wrong answer; the transaction ends after ``MAX_FACTOR_FAILURES``."""
    failures = tx.context.get("failures", 0) + 1
    tx.context["failures"] = failures
    events.record(
        events.MFA,
        Outcome.FAILURE,
        request=request,
        user=tx.user,
        reason=error.spec.summary,
        factor_type=factor.factor_type if factor else "",
    )
    if failures >= MAX_FACTOR_FAILURES:
        _end(tx)
    else:
        tx.save(update_fields=["context"])
    return error


# -- deciding what comes next -----------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    status: str
    candidates: list[Factor]
    enrollable: list[dict[str, Any]]
    can_skip: bool
    rule: policies.SignOn


def _traits(factor_type: str) -> factors.Traits:
    return factors.TRAITS[factor_type]


def _real(factor_type: str) -> bool:
    return factor_type in factors.TRAITS and not _traits(factor_type).backup_only


_TYPES_SQL: dict[str, str] = {}


def _active_types(user: AbstractBaseUser) -> list[str]:
    """The types of ``user``'s active factors, one per factor: what a plan decides on.

    SQL compiled once (every sign-in and every /authorize asks); the factors themselves are read only
    when a plan shows them (``_active``).
    """
    conn = connections[Factor.objects.db]
    sql = _TYPES_SQL.get(conn.vendor)
    if sql is None:
        qn, meta = conn.ops.quote_name, Factor._meta
        column = {name: qn(meta.get_field(name).column) for name in ("factor_type", "user", "status")}
        sql = _TYPES_SQL[conn.vendor] = (
            f"SELECT {column['factor_type']} FROM {qn(meta.db_table)}"
            f" WHERE {column['user']} = %s AND {column['status']} = %s"
        )
    with conn.cursor() as cursor:
        cursor.execute(sql, [user.pk, FactorStatus.ACTIVE])
        return [row[0] for row in cursor.fetchall()]


def _active(user: AbstractBaseUser, enrollment: dict[str, str], wanted: set[str] | None = None) -> list[Factor]:
    """``user``'s active factors that the enrollment policy does not disable (and of the ``wanted`` types)."""
    return [
        f
        for f in Factor.objects.filter(user=user, status=FactorStatus.ACTIVE)
        if enrollment.get(f.factor_type) != Enrollment.DISABLED and (wanted is None or f.factor_type in wanted)
    ]


def _policies_of(tx: Transaction) -> tuple[policies.SignOn, dict[str, str]]:
    """The sign-on rule and enrollment policy of the transaction's user, evaluated once per request."""
    cached = getattr(tx, "_policies", None)
    if cached is None or cached[0] != tx.user_id:
        client, server = _client_and_server(tx)
        groups = policies.group_ids(tx.user)
        rule = policies.sign_on(tx.user, client=client, server=server, groups=groups)
        cached = tx._policies = (tx.user_id, rule, policies.enrollment(tx.user, groups=groups))
    return cached[1], cached[2]


def _plan(tx: Transaction) -> Plan:
    """What the sign-in of ``tx.user`` needs next, from the sign-on and enrollment policies."""
    user = tx.user
    rule, enrollment = _policies_of(tx)
    active = [t for t in _active_types(user) if enrollment.get(t) != Enrollment.DISABLED]
    real = [t for t in active if _real(t)]
    acr_values = [v for v in tx.context.get("acr_values", []) if v in policies.ACR]
    phishing_resistant = any(policies.ACR[v].phishing_resistant for v in acr_values)
    wanted = {t for t in enrollment if rule.accepts(t) and (not phishing_resistant or _traits(t).phishing_resistant)}
    verified = set(tx.context.get("verified", []))
    mfa_done = "mfa" in tx.amr and bool(verified & wanted or (not verified and "hwk" in tx.amr))

    session_has_mfa = tx.context.get("session_user") == user.pk and "mfa" in tx.context.get("session_amr", [])
    needed = {
        MfaRequirement.NEVER: False,
        MfaRequirement.IF_ENROLLED: bool(real),
        MfaRequirement.ALWAYS: True,
    }[rule.mfa] and not (rule.once_per_session and session_has_mfa)
    needed = needed or policies.needs_step_up(acr_values, tx.amr, has_factor=bool(real))

    have = set(active)
    missing = [t for t, e in enrollment.items() if e == Enrollment.REQUIRED and t not in have]
    optional = [t for t, e in enrollment.items() if e == Enrollment.OPTIONAL and t not in have]

    def enroll_list(types: set[str], mandatory: set[str]) -> list[dict[str, Any]]:
        return [
            {
                "factorType": t,
                "enrollment": "REQUIRED" if t in mandatory else "OPTIONAL",
                "status": "ACTIVE" if t in have else "NOT_SETUP",
            }
            for t in enrollment
            if t in types
        ]

    if needed and not mfa_done:
        if any(_real(t) for t in active if t in wanted):
            return Plan(S.MFA_REQUIRED, _active(user, enrollment, wanted), [], False, rule)
        if real and "mfa" not in tx.amr:
            # A factor of another kind first: a password alone never enrolls a new factor for someone who has one.
            return Plan(S.MFA_REQUIRED, _active(user, enrollment), [], False, rule)
        types = {t for t in wanted if enrollment[t] != Enrollment.DISABLED and not _traits(t).backup_only}
        return Plan(S.MFA_ENROLL, [], enroll_list(types | set(missing), set(missing)), False, rule)
    if missing:
        if real and "mfa" not in tx.amr:
            return Plan(S.MFA_REQUIRED, _active(user, enrollment), [], False, rule)
        return Plan(S.MFA_ENROLL, [], enroll_list(set(missing) | set(optional), set(missing)), False, rule)
    if optional and tx.context.get("multi_optional") and not tx.context.get("skipped"):
        if not real or "mfa" in tx.amr:
            return Plan(S.MFA_ENROLL, [], enroll_list(set(optional) | have, set()), True, rule)
    return Plan(S.SUCCESS, [], [], False, rule)


def requirement(
    user: AbstractBaseUser,
    *,
    client: Application | None,
    server: AuthorizationServer | None,
    amr: list[str],
    verified: list[str] = (),
    acr_values: list[str] = (),
) -> str:
    """What an existing sign-in (a session, a password grant) lacks for ``client`` at ``server``.

    "allow", "deny" (the sign-on policy refuses) or "step_up" (a factor to verify or enroll first).
    The same ``_plan`` as a live transaction decides, so a session and a sign-in cannot disagree.
    """
    context = {
        "client_id": client.client_id if client else "",
        "server_id": server.server_id if server else "",
        "acr_values": list(acr_values),
        "verified": list(verified),
    }
    tx = Transaction(user=user, amr=list(amr), context=context)
    tx._client_and_server = (client, server)  # the caller's rows: nothing to look up
    plan = _plan(tx)
    if not plan.rule.allowed:
        return "deny"
    return "allow" if plan.status == S.SUCCESS else "step_up"


def _advance(tx: Transaction, raw: str, request: HttpRequest | None) -> Step:
    """Move to whatever the policies ask for next; on SUCCESS issue the sessionToken and end the transaction."""
    if tx.context.get("account"):  # adding a factor on /account/: done once it is active
        if tx.factor is not None and tx.factor.is_active:
            _end(tx, S.SUCCESS)
            return Step(S.SUCCESS, tx, user=tx.user)
        tx.factor = None
        _save(tx, S.MFA_ENROLL)
        return describe(tx, raw)
    if "pwd" not in tx.amr and tx.status != S.PASSWORD_RESET:
        if not _policies_of(tx)[0].passwordless:
            _end(tx)
            raise AuthnError("E0000004", "Passwordless sign-in is not allowed; sign in with your password.")
    plan = _plan(tx)
    if not plan.rule.allowed:
        _end(tx)
        events.record(events.POLICY_DENY, Outcome.DENY, request=request, user=tx.user, reason="sign-on policy denies")
        raise AuthnError("E0000006", "The sign-on policy does not allow you to sign in.")
    if plan.status == S.SUCCESS:
        return _succeed(tx, plan.rule, request)
    tx.factor = None
    _save(tx, plan.status)
    return describe(tx, raw, plan=plan)


def _succeed(tx: Transaction, rule: policies.SignOn, request: HttpRequest | None) -> Step:
    auth_time = tx.auth_time or timezone.now()
    amr, verified = tx.amr, tx.context.get("verified", [])
    if tx.context.get("session_user") == tx.user_id:
        # Signing in again in the same browser keeps what the session proved ("MFA once per session").
        amr = policies.with_method(tx.context.get("session_amr", []), *amr)
        verified = sorted({*tx.context.get("session_verified", []), *verified})
    session = {
        "amr": amr,
        "auth_time": int(auth_time.timestamp()),
        "acr_values": tx.context.get("acr_values", []),
        "verified": verified,
        "lifetime": rule.session_lifetime,
        "idle": rule.session_idle,
    }
    _end(tx, S.SUCCESS)
    if tx.context.get("hosted"):
        return Step(S.SUCCESS, tx, user=tx.user, relay_state=tx.relay_state, session=session)
    token = onetime.issue(TokenPurpose.SESSION, tx.user, seconds=SESSION_TOKEN_SECONDS, data=session)
    return Step(S.SUCCESS, tx, session_token=token, user=tx.user, relay_state=tx.relay_state)


def describe(tx: Transaction, raw: str | None, *, plan: Plan | None = None, factor: Factor | None = None) -> Step:
    """The Step of ``tx`` in its current state (what ``/api/v1/authn`` with a stateToken answers)."""
    step = Step(tx.status, tx, state_token=raw if tx.ended is None else None, user=tx.user, relay_state=tx.relay_state)
    step.recovery_type = tx.recovery_type
    if tx.status in (S.MFA_REQUIRED, S.MFA_ENROLL):
        plan = plan or _plan(tx)
        step.factors, step.enrollable, step.can_skip = plan.candidates, plan.enrollable, plan.can_skip
    elif tx.status == S.RECOVERY:
        step.factors = recovery_factors(tx.user)
        if tx.factor_id and tx.challenge.get("public"):  # a passkey challenged to recover
            step.factor, step.challenge = tx.factor, tx.challenge["public"]
    elif tx.status == S.MFA_ENROLL_ACTIVATE:
        step.factor = factor or tx.factor
        handler = factors.handler(step.factor.factor_type)
        step.activation = handler.activation(step.factor, tx)
        step.factor_result = "WAITING"
    elif tx.status == S.MFA_CHALLENGE:
        step.factor = tx.factor
        step.challenge = tx.challenge.get("public") or {}
        step.factor_result = "CHALLENGE"
    elif tx.status == S.UNAUTHENTICATED:
        step.challenge = tx.challenge.get("public")
    elif tx.status == S.PASSWORD_WARN:
        step.password_expires = policies.password(tx.user).expires_at(policies.password_changed_at(tx.user))
    return step


# -- primary authentication -------------------------------------------------------------------------


def _find_user(username: str) -> AbstractBaseUser | None:
    model = get_user_model()
    return model._default_manager.filter(**{model.USERNAME_FIELD: username}).first()


def start(request: HttpRequest | None, username: Any, password: Any, context: Context = Context()) -> Step:
    """Primary authentication with a password: SUCCESS, or the next state; E0000004 for any failure."""
    if not isinstance(username, str) or not isinstance(password, str) or not username or not password:
        raise AuthnError("E0000001", "username and password are required.")
    username = username[:150]
    # The password hash (tens of ms of CPU) is checked outside the transaction: on SQLite a transaction
    # holds the database's one write lock from its start. A failure is counted by lockout's receivers.
    user = authenticate(request, username=username, password=password[:4096])
    return _started(request, username, user, context)


@_atomic
def _started(request: HttpRequest | None, username: str, user: AbstractBaseUser | None, context: Context) -> Step:
    if user is None:
        candidate = _find_user(username)
        locked = candidate is not None and lockout.is_locked(candidate)  # lockout.record_failure logs the lock
        reason = "locked out" if locked else ("invalid credentials" if candidate else "unknown user")
        events.record(
            events.PRIMARY, Outcome.FAILURE, request=request, user=candidate, username=username, reason=reason
        )
        if locked and policies.password(candidate).show_lockout_status:
            return Step(S.LOCKED_OUT)
        raise AuthnError("E0000004")
    events.record(events.PRIMARY, request=request, user=user)
    tx, raw = _open(user, S.UNAUTHENTICATED, context, stored=False, amr=["pwd"], auth_time=timezone.now())
    return _after_password(tx, raw, request)


def _after_password(tx: Transaction, raw: str, request: HttpRequest | None) -> Step:
    rules = policies.password(tx.user)
    expires = rules.expires_at(policies.password_changed_at(tx.user)) if rules.max_age else None
    now = timezone.now()
    if expires and expires <= now:
        _save(tx, S.PASSWORD_EXPIRED)
        return describe(tx, raw)
    if expires and tx.context.get("warn") and not tx.context.get("warned") and expires - rules.warn <= now:
        _save(tx, S.PASSWORD_WARN)
        return describe(tx, raw)
    return _advance(tx, raw, request)


@_atomic
def start_passwordless(request: HttpRequest | None, context: Context = Context()) -> Step:
    """UNAUTHENTICATED with a WebAuthn challenge that any discoverable passkey of this site can answer."""
    tx, raw = _open(None, S.UNAUTHENTICATED, context)
    public = webauthn.start_passwordless(tx)
    tx.challenge["public"] = public
    tx.save(update_fields=["challenge"])
    step = describe(tx, raw)
    step.challenge = public
    return step


@_atomic
def status(raw: Any) -> Step:
    tx = _load(raw, "status")
    return describe(tx, raw)


@_atomic
def cancel(raw: Any) -> Step:
    tx = _load(raw, "cancel")
    if tx.factor_id and tx.factor.status == FactorStatus.PENDING_ACTIVATION:
        tx.factor.delete()
    tx.factor = None
    _end(tx)
    return Step(S.UNAUTHENTICATED, relay_state=tx.relay_state)


# -- factors ----------------------------------------------------------------------------------------


def _has_answer(answer: dict[str, Any]) -> bool:
    return any(answer.get(k) for k in ("passCode", "credential", "clientData", "signatureData", "answer"))


def _users_factor(tx: Transaction, factor_id: Any) -> Factor:
    """The transaction user's active factor ``factor_id``; someone else's is as unknown as a made-up one."""
    factor = Factor.objects.filter(pk=str(factor_id)[:20], user=tx.user, status=FactorStatus.ACTIVE).first()
    if factor is None:
        raise AuthnError("E0000007", "No such factor for this user.")
    return factor


@_atomic
def verify(request: HttpRequest | None, raw: Any, factor_id: Any, answer: dict[str, Any]) -> Step:
    """Verify a factor (MFA_REQUIRED, MFA_CHALLENGE, RECOVERY) or a passwordless passkey (UNAUTHENTICATED)."""
    tx = _load(raw, "verify")
    if tx.status == S.UNAUTHENTICATED:
        return _verify_passkey(request, tx, raw, factor_id, answer)
    factor = _users_factor(tx, factor_id)
    if tx.status == S.RECOVERY and not _traits(factor.factor_type).recovers:
        raise AuthnError("E0000079", "Recovery by email needs a factor other than email.")
    if tx.status == S.MFA_REQUIRED and factor not in _plan(tx).candidates:
        raise AuthnError("E0000007", "This factor does not satisfy the sign-on policy.")
    handler = factors.handler(factor.factor_type)
    switching = tx.status == S.MFA_CHALLENGE and tx.factor_id != factor.pk
    if not _has_answer(answer) or switching:
        # Factors that need a challenge (email, passkeys) get one; an authenticator app's code is answered at once.
        public = handler.challenge(factor, tx, request)
        if public is not None:
            tx.factor = factor
            tx.challenge["public"] = public
            _save(tx, S.RECOVERY if tx.status == S.RECOVERY else S.MFA_CHALLENGE)
            return describe(tx, raw)
        if not _has_answer(answer):
            raise AuthnError("E0000001", "passCode is required.")
    try:
        methods = handler.verify(factor, tx, answer, request)
    except AuthnError as error:
        raise _fail(tx, request, error, factor) from None
    events.record(events.MFA, request=request, user=tx.user, factor_type=factor.factor_type)
    tx.amr = policies.with_method(tx.amr, *methods)
    tx.context["verified"] = sorted({*tx.context.get("verified", []), factor.factor_type})
    tx.factor = None
    tx.challenge = {}
    if tx.status == S.RECOVERY:
        from .recovery import after_recovery  # recovery builds on this module

        return after_recovery(tx, raw, request)
    return _advance(tx, raw, request)


def _verify_passkey(request: HttpRequest | None, tx: Transaction, raw: str, factor_id: Any, answer: dict) -> Step:
    if factor_id != webauthn.PASSKEY:
        raise AuthnError("E0000007", "Answer the passkey challenge of this transaction.")
    try:
        factor = webauthn.identify(answer)
        methods = webauthn.assert_passkey(factor, tx, answer, challenge_id=webauthn.PASSKEY, uv=True)
    except AuthnError as error:
        raise _fail(tx, request, error, None) from None
    tx.user = factor.user
    tx.amr = policies.with_method([], *methods)
    tx.auth_time = timezone.now()
    tx.context["verified"] = [factor.factor_type]
    events.record(events.PASSKEY, request=request, user=tx.user, factor_type=factor.factor_type)
    return _advance(tx, raw, request)


@_atomic
def start_enrollment(request: HttpRequest | None, user: AbstractBaseUser, context: Context, amr: list[str]) -> Step:
    """MFA_ENROLL for a signed-in user adding a factor on ``/account/`` (the caller checked who they are).

    Any factor type the enrollment policy does not disable may be added; activating it ends the
    transaction (SUCCESS, no sessionToken: the browser is signed in already).
    """
    tx, raw = _open(user, S.MFA_ENROLL, context, amr=list(amr), auth_time=timezone.now())
    tx.context["account"] = True
    tx.save(update_fields=["context"])
    return describe(tx, raw)


@_atomic
def enroll(request: HttpRequest | None, raw: Any, factor_type: Any, profile: dict[str, Any] | None = None) -> Step:
    """Start enrolling a factor of ``factor_type``: MFA_ENROLL_ACTIVATE with what the user needs."""
    tx = _load(raw, "enroll")
    handler = factors.handler(factor_type) if isinstance(factor_type, str) else None
    if handler is None:
        raise AuthnError("E0000001", "factorType: unknown factor type.")
    in_sign_in = tx.status == S.MFA_ENROLL and not tx.context.get("account")
    offered = {entry["factorType"] for entry in _plan(tx).enrollable} if in_sign_in else set()
    if policies.enrollment(tx.user).get(factor_type) == Enrollment.DISABLED or (offered and factor_type not in offered):
        raise AuthnError("E0000113")
    active_same = Factor.objects.filter(user=tx.user, factor_type=factor_type, status=FactorStatus.ACTIVE)
    if not _traits(factor_type).many and active_same.exists():
        raise AuthnError("E0000001", "factorType: a factor of this type is set up already.")
    if tx.factor_id and tx.factor.status == FactorStatus.PENDING_ACTIVATION:
        tx.factor.delete()
    factor = handler.enroll(tx, profile if isinstance(profile, dict) else {}, request)
    tx.factor = factor
    _save(tx, S.MFA_ENROLL_ACTIVATE)
    return describe(tx, raw, factor=factor)


@_atomic
def activate(request: HttpRequest | None, raw: Any, factor_id: Any, answer: dict[str, Any]) -> Step:
    """Finish enrolling the factor of MFA_ENROLL_ACTIVATE; it is ACTIVE and counts as verified."""
    tx = _load(raw, "activate")
    factor = tx.factor
    if factor is None or factor.pk != str(factor_id):
        raise AuthnError("E0000007", "No such factor is being enrolled.")
    handler = factors.handler(factor.factor_type)
    try:
        methods = handler.activate(factor, tx, answer, request)
    except AuthnError as error:
        raise _fail(tx, request, error, factor) from None
    factor.status = FactorStatus.ACTIVE
    factor.activated = factor.last_verified = timezone.now()
    factor.save()
    events.record(events.FACTOR_ENROLL, request=request, user=tx.user, factor_type=factor.factor_type)
    tx.amr = policies.with_method(tx.amr, *methods)
    tx.context["verified"] = sorted({*tx.context.get("verified", []), factor.factor_type})
    tx.challenge = {}
    return _advance(tx, raw, request)


@_atomic
def resend(request: HttpRequest | None, raw: Any, factor_id: Any) -> Step:
    """Send the code of the factor being enrolled or challenged again (email)."""
    tx = _load(raw, "resend")
    if tx.factor is None or tx.factor.pk != str(factor_id) or not _traits(tx.factor.factor_type).resends:
        raise AuthnError("E0000007", "Nothing to resend for this factor.")
    tx.challenge["sent"] = 0  # an explicit resend is not a double click
    factors.handler(tx.factor.factor_type).challenge(tx.factor, tx, request)  # sends a new code
    _save(tx, tx.status)
    return describe(tx, raw)


@_atomic
def previous(request: HttpRequest | None, raw: Any) -> Step:
    """Back from MFA_ENROLL_ACTIVATE to MFA_ENROLL (the pending factor goes) or from MFA_CHALLENGE."""
    tx = _load(raw, "previous")
    if tx.factor_id and tx.factor.status == FactorStatus.PENDING_ACTIVATION:
        tx.factor.delete()
    tx.factor = None
    tx.challenge = {}
    return _advance(tx, raw, request)


@_atomic
def skip(request: HttpRequest | None, raw: Any) -> Step:
    """Skip optional enrollment (MFA_ENROLL) or the password expiry warning (PASSWORD_WARN)."""
    tx = _load(raw, "skip")
    if tx.status == S.PASSWORD_WARN:
        tx.context["warned"] = True
        return _advance(tx, raw, request)
    if not _plan(tx).can_skip:
        raise AuthnError("E0000079", "A required factor is not set up yet.")
    tx.context["skipped"] = True
    return _advance(tx, raw, request)


# -- passwords --------------------------------------------------------------------------------------


def set_password(
    user: AbstractBaseUser, new: Any, request: HttpRequest | None, event: str, *, keep_session: str | None = None
) -> None:
    """Set a new password: Django's validators (E0000080 with their messages), unlock, log, and end the
    user's browser sessions but ``keep_session`` (whoever knew the old password is signed out)."""
    if not isinstance(new, str) or not new:
        raise AuthnError("E0000001", "newPassword is required.")
    try:
        password_validation.validate_password(new, user)
    except ValidationError as exc:
        raise AuthnError("E0000080", *exc.messages) from None
    if user.check_password(new):
        raise AuthnError("E0000080", "The new password must differ from the current one.")
    user.set_password(new)
    user.save(update_fields=["password"])
    lockout.unlock(user)
    from .. import sessions

    for record in BrowserSession.objects.filter(user=user).exclude(session_key=keep_session or ""):
        sessions.end_session(record)
    events.record(event, request=request, user=user)


@_atomic
def change_password(request: HttpRequest | None, raw: Any, old: Any, new: Any) -> Step:
    """PASSWORD_EXPIRED / PASSWORD_WARN: set a new password, then continue the sign-in."""
    tx = _load(raw, "change_password")
    if not isinstance(old, str) or not tx.user.check_password(old):
        raise _fail(tx, request, AuthnError("E0000014", "The old password is wrong."), None)
    set_password(tx.user, new, request, events.PASSWORD_CHANGE)
    tx.context["warned"] = True
    return _advance(tx, raw, request)


# -- recovery (the operations are in oidc_flows.authn.recovery) --------------------------------------


def recovery_factors(user: AbstractBaseUser) -> list[Factor]:
    """Factors that prove more than the mailbox: a recovering user who has one must answer it."""
    return [
        f
        for f in Factor.objects.filter(user=user, status=FactorStatus.ACTIVE)
        if f.factor_type in factors.TRAITS and _traits(f.factor_type).recovers
    ]
