"""Test data, as plain keyword-only functions. Constants live here and nowhere else."""

from __future__ import annotations

from django.contrib.auth import get_user_model

from oidc_flows import servers
from oidc_flows.models import Application, AuthorizationServer, UserProfile
from oidc_flows.registration import register_application


PASSWORD = "correct horse battery staple"
RP_REDIRECT = "https://rp.example/cb"


def make_user(*, username: str = "alice", password: str = PASSWORD, **profile) -> object:
    user = get_user_model().objects.create_user(
        username, email=f"{username}@example.com", password=password, first_name="Alice", last_name="Liddell"
    )
    UserProfile.objects.create(user=user, **({"email_verified": True} | profile))
    return user


def make_client(*, app_type: str = "web", redirect_uris: tuple[str, ...] = (RP_REDIRECT,), **kwargs) -> Application:
    """An application; ``client.secret`` carries the plaintext secret (None for public clients)."""
    if app_type == "service":
        redirect_uris = ()
    app, secret = register_application(f"{app_type} app", app_type, redirect_uris=redirect_uris, **kwargs)
    app.secret = secret
    return app


def make_server(server_id: str = "payments", *, default_policy: bool = True, **kwargs) -> AuthorizationServer:
    """A custom server; with the permissive default policy unless asked otherwise (new servers have none)."""
    return servers.create_server(server_id, name=server_id.title(), default_policy=default_policy, **kwargs)
