"""Registering applications: one function for the management commands, the admin and the tests."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext_lazy as _
from oauth2_provider.generators import generate_client_id, generate_client_secret

from . import clientkeys, policy, redirects, sealing
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
    jwks: dict[str, Any] | None = None,
    jwks_uri: str = "",
    token_endpoint_auth_signing_alg: str = "",
    extra: Mapping[str, Any] | None = None,
    backchannel_logout_uri: str = "",
    backchannel_logout_session_required: bool = False,
    frontchannel_logout_uri: str = "",
    frontchannel_logout_session_required: bool = False,
    subject_type: str = "public",
    sector_identifier_uri: str = "",
) -> tuple[Application, str | None]:
    """Create a validated application; return it with its plaintext secret (``None`` for public clients).

    The secret is returned once and stored hashed (and sealed too for client_secret_jwt, see
    ``seal_client_secret``); nobody can read it back. ``extra``: more of the application's attributes,
    set as given before the same validation (dynamic registration's metadata, oidc_flows.dcr).
    ``subject_type="pairwise"`` gives the application pairwise subs (OIDC Core §8.1); a
    ``sector_identifier_uri`` is fetched and checked here (oidc_flows.subjects).
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
        token_endpoint_auth_method=token_endpoint_auth_method
        or ("client_secret_basic" if rule.confidential else "none"),
        allowed_origins=" ".join(allowed_origins),
        skip_authorization=skip_consent,
        jwks=jwks or {},
        jwks_uri=jwks_uri,
        token_endpoint_auth_signing_alg=token_endpoint_auth_signing_alg,
        backchannel_logout_uri=backchannel_logout_uri,
        backchannel_logout_session_required=backchannel_logout_session_required,
        frontchannel_logout_uri=frontchannel_logout_uri,
        frontchannel_logout_session_required=frontchannel_logout_session_required,
        subject_type=subject_type,
        sector_identifier_uri=sector_identifier_uri,
    )
    for attribute, value in (extra or {}).items():
        setattr(app, attribute, value)
    validate(app)
    seal_client_secret(app, secret)
    app.save()
    return app, secret


@transaction.atomic
def replace_settings(app: Application, attributes: Mapping[str, Any]) -> str | None:
    """Replace settings of an existing application with ``attributes``, validated as on registration.

    Return a new plaintext secret when the new settings need one (switched to client_secret_jwt, see
    ``needs_new_secret``), else None: the application keeps its secret. On ``ValidationError`` nothing
    is saved (reload ``app`` before using it again).
    """
    for attribute, value in attributes.items():
        setattr(app, attribute, value)
    secret = generate_client_secret() if app.rule.confidential and needs_new_secret(app) else None
    if secret:
        app.client_secret = secret  # hashed by ClientSecretField on save
    validate(app)
    seal_client_secret(app, secret)
    app.save()
    return secret


def validate(app: Application) -> None:
    """The model's rules (``Application.clean``: policy.APP_TYPES) and client authentication's; raise
    ``ValidationError`` by field."""
    app.full_clean(exclude=["client_secret", "client_type", "authorization_grant_type", "user"])
    if errors := client_auth_errors(app):
        raise ValidationError(errors)


def seal_client_secret(app: Application, secret: str | None) -> None:
    """Keep the plaintext ``secret`` sealed on a client_secret_jwt application; clear it on any other.

    RFC 7523 §2.2 with an HMAC: the server computes the signature with the secret itself, which the
    stored hash cannot give back. ``secret`` None: no new secret (a client_secret_jwt app keeps its own).
    """
    if app.token_endpoint_auth_method != "client_secret_jwt":
        app.sealed_client_secret = ""
    elif secret:
        app.sealed_client_secret = sealing.seal(secret)


def needs_new_secret(app: Application) -> bool:
    """Whether ``app`` now signs assertions with its secret but no plaintext of it is kept (switched to
    client_secret_jwt): only a new secret, shown once, can serve."""
    return app.token_endpoint_auth_method == "client_secret_jwt" and not app.sealed_client_secret


def client_auth_errors(app: Application) -> dict[str, list[str]]:
    """Why ``app``'s client authentication settings cannot work, by field (the admin form shows them)."""
    errors: dict[str, list[str]] = {}
    method = app.token_endpoint_auth_method
    confidential = app.rule.confidential
    if method and (method == "none") == confidential:
        errors["token_endpoint_auth_method"] = [
            _("A confidential application proves itself with a secret or a key, not 'none'.")
            if confidential
            else _("A public application keeps no secret: its method is 'none'.")
        ]
    if why := clientkeys.validate_jwks(app.jwks):
        errors["jwks"] = [why]
    if app.jwks_uri and redirects.classify(app.jwks_uri) not in (policy.Redirect.HTTPS, policy.Redirect.LOOPBACK):
        errors["jwks_uri"] = [_("The JWKS URI must be https (http only on a loopback address).")]
    if app.jwks and app.jwks_uri:
        # RFC 7591 §2: jwks and jwks_uri "MUST NOT both be present".
        errors.setdefault("jwks_uri", []).append(_("Give the keys inline or at a JWKS URI, not both."))
    if method == "private_key_jwt" and not (app.jwks or app.jwks_uri):
        errors.setdefault("jwks", []).append(_("private_key_jwt needs the application's public keys (or a JWKS URI)."))
    alg = app.token_endpoint_auth_signing_alg
    if alg and alg not in policy.CLIENT_ASSERTION_ALGS.get(method, ()):
        errors["token_endpoint_auth_signing_alg"] = [
            _("%(alg)s is not an algorithm of %(method)s.") % {"alg": alg, "method": method}
            if method in policy.CLIENT_ASSERTION_ALGS
            else _("Only for private_key_jwt and client_secret_jwt: leave it empty.")
        ]
    return errors
