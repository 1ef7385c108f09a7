"""Mail the sign-in sends: recovery links and email codes (Django's email framework, ``EMAIL_URL``)."""

from __future__ import annotations

from django.contrib.auth.base_user import AbstractBaseUser
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.utils import translation

from ..settings import flows_settings


def _language(user: AbstractBaseUser) -> str | None:
    profile = getattr(user, "oidc_profile", None)
    locale = getattr(profile, "locale", "") if profile is not None else ""
    return locale.replace("_", "-") or None


def _send(user: AbstractBaseUser, to: str, template: str, context: dict) -> None:
    with translation.override(_language(user) or translation.get_language()):
        context = {"user": user, "base_url": flows_settings().BASE_URL, **context}
        subject = render_to_string(f"oidc_flows/authn/mail/{template}_subject.txt", context).strip()
        body = render_to_string(f"oidc_flows/authn/mail/{template}.txt", context)
    send_mail(subject, body, None, [to], fail_silently=False)


def send_recovery(user: AbstractBaseUser, token: str, recovery_type: str, minutes: int) -> None:
    """Mail the recovery token (and a link to the hosted page that redeems it)."""
    path = "reset-password" if recovery_type == "PASSWORD" else "unlock"
    link = f"{flows_settings().BASE_URL}/signin/{path}/{token}"
    context = {"token": token, "link": link, "minutes": minutes, "recovery_type": recovery_type}
    _send(user, user.email, "recovery", context)


def send_code(user: AbstractBaseUser, to: str, code: str, minutes: int) -> None:
    """Mail a one-time sign-in code."""
    _send(user, to, "code", {"code": code, "minutes": minutes})
