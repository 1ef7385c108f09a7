"""Okta's Authentication API (``/api/v1/authn``): JSON in, a transaction (or an Okta error body) out.

Every operation goes through ``oidc_flows.authn.machine``; this module parses bodies, applies the
rate limits, grants CORS to trusted origins, and renders. The API needs no cookie and sets none:
a cross-site request forgery cannot act for anyone, so it is exempt from the CSRF check.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.cache import patch_cache_control, patch_vary_headers
from django.views.decorators.csrf import csrf_exempt

from .. import machine, presenter, ratelimit, recovery
from ..errors import AuthnError
from ..models import RecoveryType
from ..origins import grant_cors, preflight


#: Bodies are small JSON objects; a WebAuthn attestation is the largest (a few kB).
MAX_BODY = 64 * 1024


def _body(request: HttpRequest) -> dict[str, Any]:
    if len(request.body) > MAX_BODY:
        raise AuthnError("E0000003")
    if not request.body:
        return {}
    try:
        data = json.loads(request.body)
        has_nul = _has_nul(data)
    except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: nesting a thousand deep
        raise AuthnError("E0000003") from None
    if not isinstance(data, dict):
        raise AuthnError("E0000003")
    if has_nul:
        # PostgreSQL cannot even compare a NUL byte; no username, code or id has one.
        raise AuthnError("E0000001", "Values must not contain NUL characters.")
    return data


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


def endpoint(bucket: str | None) -> Callable:
    """POST-only JSON endpoint: rate limit ``bucket``, Okta error bodies, CORS for trusted origins."""

    def decorate(view: Callable[..., machine.Step]) -> Callable[..., HttpResponse]:
        @csrf_exempt
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if request.method == "OPTIONS":
                return preflight(request)
            try:
                if request.method != "POST":
                    raise AuthnError("E0000022")
                body = _body(request)
                if any("\x00" in str(value) for value in kwargs.values()):
                    raise AuthnError("E0000001", "Values must not contain NUL characters.")
                if bucket:
                    username = body.get("username") if isinstance(body.get("username"), str) else None
                    ratelimit.check(request, bucket, username)
                step = view(request, body, *args, **kwargs)
                response = JsonResponse(presenter.render(step))
            except AuthnError as error:
                response = error.response()
            except DatabaseError:
                raise  # the middleware answers 503
            patch_cache_control(response, no_store=True)
            response["Pragma"] = "no-cache"
            patch_vary_headers(response, ["Origin"])
            return grant_cors(request, response)

        return wrapper

    return decorate


def _options(body: dict[str, Any]) -> dict[str, Any]:
    options = body.get("options")
    return options if isinstance(options, dict) else {}


def _relay_state(body: dict[str, Any]) -> str:
    relay = body.get("relayState")
    return relay[:2048] if isinstance(relay, str) else ""


@endpoint("authn")
def authn(request: HttpRequest, body: dict[str, Any]) -> machine.Step:
    """Primary authentication, the state of a transaction (``stateToken`` alone), or a passwordless start."""
    if "stateToken" in body and "password" not in body:
        return machine.status(body["stateToken"])
    options = _options(body)
    context = machine.Context(
        warn_before_password_expired=options.get("warnBeforePasswordExpired") is True,
        multi_optional_factor_enroll=options.get("multiOptionalFactorEnroll") is True,
        relay_state=_relay_state(body),
    )
    if body.get("factorType") == "webauthn" and "password" not in body:
        return machine.start_passwordless(request, context)
    return machine.start(request, body.get("username"), body.get("password"), context)


@endpoint("factor")
def enroll(request: HttpRequest, body: dict[str, Any]) -> machine.Step:
    return machine.enroll(request, body.get("stateToken"), body.get("factorType"), body.get("profile"))


@endpoint("factor")
def activate(request: HttpRequest, body: dict[str, Any], factor_id: str) -> machine.Step:
    return machine.activate(request, body.get("stateToken"), factor_id, body)


@endpoint("factor")
def verify(request: HttpRequest, body: dict[str, Any], factor_id: str) -> machine.Step:
    return machine.verify(request, body.get("stateToken"), factor_id, body)


@endpoint("factor")
def resend(request: HttpRequest, body: dict[str, Any], factor_id: str) -> machine.Step:
    return machine.resend(request, body.get("stateToken"), factor_id)


@endpoint(None)
def previous(request: HttpRequest, body: dict[str, Any]) -> machine.Step:
    return machine.previous(request, body.get("stateToken"))


@endpoint(None)
def skip(request: HttpRequest, body: dict[str, Any]) -> machine.Step:
    return machine.skip(request, body.get("stateToken"))


@endpoint(None)
def cancel(request: HttpRequest, body: dict[str, Any]) -> machine.Step:
    return machine.cancel(body.get("stateToken"))


@endpoint("authn")
def change_password(request: HttpRequest, body: dict[str, Any]) -> machine.Step:
    return machine.change_password(request, body.get("stateToken"), body.get("oldPassword"), body.get("newPassword"))


def _recover(request: HttpRequest, body: dict[str, Any], recovery_type: RecoveryType) -> machine.Step:
    return recovery.request_recovery(
        request,
        body.get("username"),
        recovery_type,
        factor_type=body.get("factorType", "EMAIL"),
        relay_state=_relay_state(body),
    )


@endpoint("recovery")
def recover_password(request: HttpRequest, body: dict[str, Any]) -> machine.Step:
    return _recover(request, body, RecoveryType.PASSWORD)


@endpoint("recovery")
def recover_unlock(request: HttpRequest, body: dict[str, Any]) -> machine.Step:
    return _recover(request, body, RecoveryType.UNLOCK)


@endpoint("recovery")
def recovery_token(request: HttpRequest, body: dict[str, Any]) -> machine.Step:
    return recovery.verify_recovery_token(request, body.get("recoveryToken"))


@endpoint("factor")
def recovery_answer(request: HttpRequest, body: dict[str, Any]) -> machine.Step:
    return recovery.answer(request, body.get("stateToken"), body.get("answer"))


@endpoint("authn")
def reset_password(request: HttpRequest, body: dict[str, Any]) -> machine.Step:
    return recovery.reset_password(request, body.get("stateToken"), body.get("newPassword"))
