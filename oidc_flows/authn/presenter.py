"""Okta's shapes of an authentication transaction (``stateToken``, ``status``, ``_embedded``, ``_links``).

Links follow what Okta's SDKs turn into methods: each has ``href`` and ``hints.allow`` with exactly
one method; ``_links.next.name`` names the next operation (``verify``, ``activate``, ``resetPassword``...).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.password_validation import password_validators_help_texts
from django.utils import timezone

from .. import claims
from ..settings import flows_settings
from . import factors, machine, policies
from .models import AuthnStatus as S
from .models import Factor


VENDOR = {"OKTA": "OKTA", "GOOGLE": "GOOGLE", "FIDO": "FIDO"}


def iso(moment: datetime) -> str:
    """ISO 8601 with milliseconds and Z, as Okta writes it."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def url(path: str) -> str:
    return f"{flows_settings().BASE_URL}/api/v1/authn{path}"


def link(path: str, *, name: str | None = None, method: str = "POST") -> dict[str, Any]:
    entry: dict[str, Any] = {"href": url(path), "hints": {"allow": [method]}}
    if name:
        entry["name"] = name
    return entry


def user_json(user: AbstractBaseUser) -> dict[str, Any]:
    profile = getattr(user, "oidc_profile", None)
    changed = policies.password_changed_at(user)
    return {
        "id": claims.adapter().subject(user),
        "passwordChanged": iso(changed),
        "profile": {
            "login": user.get_username(),
            "firstName": getattr(user, "first_name", ""),
            "lastName": getattr(user, "last_name", ""),
            "locale": (getattr(profile, "locale", "") or "en_US").replace("-", "_"),
            "timeZone": getattr(profile, "zoneinfo", "") or "UTC",
        },
    }


def factor_profile(factor: Factor) -> dict[str, Any]:
    """What a factor may show about itself: never a secret, a key or a code hash."""
    if factor.factor_type == "email":
        name, _, domain = factor.profile.get("email", "").partition("@")
        return {"email": f"{name[:1]}…@{domain}"}
    if factor.factor_type == "webauthn":
        return {"credentialId": factor.profile.get("credentialId", ""), "authenticatorName": factor.name or "Passkey"}
    if factor.factor_type == "token:software:totp":
        return {"credentialId": factor.user.get_username()}
    return {}


def factor_json(factor: Factor, links: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": factor.pk,
        "factorType": factor.factor_type,
        "provider": factor.provider,
        "vendorName": VENDOR.get(factor.provider, factor.provider),
        "profile": factor_profile(factor),
        "_links": links,
    }


def _complexity() -> dict[str, Any]:
    return {"complexity": {"help": [str(text) for text in password_validators_help_texts()]}}


def render(step: machine.Step) -> dict[str, Any]:
    """The JSON answer of a Step."""
    body: dict[str, Any] = {}
    if step.state_token:
        body["stateToken"] = step.state_token
        body["expiresAt"] = iso(step.tx.expires)
    elif step.session_token:
        body["expiresAt"] = iso(timezone.now() + timedelta(seconds=machine.SESSION_TOKEN_SECONDS))
    body["status"] = step.status
    if step.relay_state:
        body["relayState"] = step.relay_state
    if step.session_token:
        body["sessionToken"] = step.session_token
    if step.recovery_type:
        body["recoveryType"] = step.recovery_type
    if step.factor_result:
        body["factorResult"] = step.factor_result
    if step.status == S.RECOVERY_CHALLENGE:
        body["factorType"] = "EMAIL"
    embedded: dict[str, Any] = {}
    links: dict[str, Any] = {}
    if step.user is not None:
        embedded["user"] = user_json(step.user)
    status = step.status
    if status in (S.MFA_REQUIRED, S.RECOVERY):
        embedded["factors"] = [
            factor_json(f, {"verify": link(f"/factors/{f.pk}/verify")})
            for f in step.factors
            if status != S.RECOVERY or factors.TRAITS[f.factor_type].recovers
        ]
        embedded["policy"] = {"allowRememberDevice": False, "rememberDeviceLifetimeInMinutes": 0}
        if status == S.RECOVERY:
            links["next"] = link("/recovery/answer", name="answer")
            if step.factor is not None and step.challenge:
                verify = {"verify": link(f"/factors/{step.factor.pk}/verify")}
                embedded["factor"] = factor_json(step.factor, verify) | {"_embedded": {"challenge": step.challenge}}
    elif status == S.MFA_ENROLL:
        embedded["factors"] = [
            {
                "factorType": entry["factorType"],
                "provider": _provider(entry["factorType"]),
                "vendorName": _provider(entry["factorType"]),
                "enrollment": entry["enrollment"],
                "status": entry["status"],
                "_links": {"enroll": link("/factors")},
            }
            for entry in step.enrollable
        ]
        if step.can_skip:
            links["skip"] = link("/skip", name="skip")
    elif status in (S.MFA_ENROLL_ACTIVATE, S.MFA_CHALLENGE):
        factor = step.factor
        own: dict[str, Any] = {}
        if status == S.MFA_ENROLL_ACTIVATE:
            links["next"] = link(f"/factors/{factor.pk}/lifecycle/activate", name="activate")
            if factors.TRAITS[factor.factor_type].resends:
                links["resend"] = [link(f"/factors/{factor.pk}/lifecycle/resend", name=factor.factor_type)]
            if factor.factor_type == "token:software:totp":
                from .factors import totp

                own["qrcode"] = {"href": totp.qr_png_data_uri(factor), "type": "image/png"}
            detail = {"activation": step.activation or {}}
        else:
            links["next"] = link(f"/factors/{factor.pk}/verify", name="verify")
            if factors.TRAITS[factor.factor_type].resends:
                links["resend"] = [link(f"/factors/{factor.pk}/verify/resend", name=factor.factor_type)]
            detail = {"challenge": step.challenge or {}}
        links["prev"] = link("/previous", name="prev")
        embedded["factor"] = factor_json(factor, own) | {"_embedded": detail}
    elif status == S.UNAUTHENTICATED and step.state_token:
        embedded["factors"] = [
            {
                "id": "passkey",
                "factorType": "webauthn",
                "provider": "FIDO",
                "vendorName": "FIDO",
                "profile": {},
                "_embedded": {"challenge": step.challenge or step.tx.challenge.get("public", {})},
                "_links": {"verify": link("/factors/passkey/verify")},
            }
        ]
    elif status in (S.PASSWORD_EXPIRED, S.PASSWORD_WARN):
        links["next"] = link("/credentials/change_password", name="changePassword")
        policy = _complexity()
        if step.password_expires:
            days = max((step.password_expires - timezone.now()).days, 0)
            policy["expiration"] = {"passwordExpireDays": days}
        embedded["policy"] = policy
        if status == S.PASSWORD_WARN:
            links["skip"] = link("/skip", name="skip")
    elif status == S.PASSWORD_RESET:
        links["next"] = link("/credentials/reset_password", name="resetPassword")
        embedded["policy"] = _complexity()
    elif status == S.LOCKED_OUT:
        links["next"] = link("/recovery/unlock", name="unlock")
    if step.state_token:
        links["cancel"] = link("/cancel")
    if embedded:
        body["_embedded"] = embedded
    if links:
        body["_links"] = links
    return body


def _provider(factor_type: str) -> str:
    handler = factors.handler(factor_type)
    return handler.provider if handler else "OKTA"
