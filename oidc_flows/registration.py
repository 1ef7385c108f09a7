"""Registering applications: one function for the management commands, the admin and the tests."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction
from oauth2_provider.generators import generate_client_id, generate_client_secret

from . import policy
from .models import Application


@transaction.atomic
def register_application(
    name: str,
    application_type: str,
    *,
    redirect_uris: Iterable[str] = (),
    post_logout_redirect_uris: Iterable[str] = (),
    grant_types: Iterable[str] = (),
    client_id: str | None = None,
    client_secret: str | None = None,
    token_endpoint_auth_method: str = "",
    allowed_origins: Iterable[str] = (),
    skip_consent: bool = False,
) -> tuple[Application, str | None]:
    """Create a validated application; return it with its plaintext secret (``None`` for public clients).

    The secret is returned once and stored hashed; nobody can read it back.
    """
    rule = policy.APP_TYPES[policy.AppType(application_type)]
    secret = (client_secret or generate_client_secret()) if rule.confidential else None
    app = Application(
        name=name,
        application_type=application_type,
        client_id=client_id or generate_client_id(),
        client_secret=secret or "",
        redirect_uris=" ".join(redirect_uris),
        post_logout_redirect_uris=" ".join(post_logout_redirect_uris),
        grant_types=" ".join(grant_types),
        token_endpoint_auth_method=token_endpoint_auth_method,
        allowed_origins=" ".join(allowed_origins),
        skip_authorization=skip_consent,
    )
    app.full_clean(exclude=["client_secret", "client_type", "authorization_grant_type", "user"])
    app.save()
    return app, secret
