"""Create the demo data of ``make run`` (idempotent) and print how to use it.

One application of each type on the ``default`` server, and a demo user. The credentials are
generated once and kept in var/demo.json (mode 0600), so every start prints the same ones.
"""

from __future__ import annotations

import json
import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from idp.api import REPORTS_SCOPE
from oidc_flows.models import Application, Scope, UserProfile
from oidc_flows.registration import register_application
from oidc_flows.servers import resolve
from oidc_flows.settings import flows_settings


DEMO_USER = "demo"


def _state() -> dict:
    path = settings.VAR_DIR / "demo.json"
    if path.exists():
        return json.loads(path.read_text())
    settings.VAR_DIR.mkdir(parents=True, exist_ok=True)
    state = {
        "password": secrets.token_urlsafe(9),
        "web_secret": secrets.token_urlsafe(32),
        "service_secret": secrets.token_urlsafe(32),
    }
    path.write_text(json.dumps(state))
    path.chmod(0o600)
    return state


def demo_apps(base: str, state: dict) -> list[dict]:
    return [
        {
            "client_id": "demo-web",
            "name": "Demo web app",
            "application_type": "web",
            "redirect_uris": [f"{base}/demo/callback"],
            "client_secret": state["web_secret"],
        },
        {
            "client_id": "demo-spa",
            "name": "Demo single-page app",
            "application_type": "spa",
            "redirect_uris": [f"{base}/demo/spa-callback"],
            "allowed_origins": [base],
        },
        {
            "client_id": "demo-native",
            "name": "Demo native app",
            "application_type": "native",
            "redirect_uris": ["com.example.demo:/callback", "http://127.0.0.1/callback"],
            # The device authorization grant too (RFC 8628): try it with curl and /activate (README).
            "grant_types": ["authorization_code", "refresh_token", "urn:ietf:params:oauth:grant-type:device_code"],
        },
        {
            "client_id": "demo-service",
            "name": "Demo service",
            "application_type": "service",
            "client_secret": state["service_secret"],
        },
    ]


class Command(BaseCommand):
    help = "Create the demo user and one demo application of each type (idempotent)."

    @transaction.atomic
    def handle(self, *args, **options) -> None:
        state = _state()
        base = flows_settings().BASE_URL
        User = get_user_model()
        user = User.objects.filter(username=DEMO_USER).first()
        if user is None:
            user = User.objects.create_superuser(
                DEMO_USER, email="demo@example.com", password=state["password"], first_name="Dana", last_name="Demo"
            )
            UserProfile.objects.create(user=user, email_verified=True, locale="en-US", zoneinfo="UTC")
        for spec in demo_apps(base, state):
            app = Application.objects.filter(client_id=spec["client_id"]).first()
            if app is None:
                register_application(**spec)
            elif app.redirect_uris.split() != spec.get("redirect_uris", []):
                app.redirect_uris = " ".join(spec.get("redirect_uris", []))  # BASE_URL/PORT changed
                app.save()
        server = resolve("default")
        # The demo resource API (idp/api.py) asks for this scope; demo-service may request it.
        Scope.objects.get_or_create(
            server=server,
            name=REPORTS_SCOPE,
            defaults={"description": "Read the demo reports", "consent_required": False},
        )
        self.stdout.write(self.style.SUCCESS("\n  oidc_flows is running"))
        self.stdout.write(f"""
  Demo sign-in:      {base}/demo/
  Admin:             {base}/admin/
  Demo user:         {DEMO_USER} / {state["password"]}   (also an administrator)
  Issuer (default):  {server.issuer}
  Discovery:         {server.discovery_url}
  Web client:        demo-web / {state["web_secret"]}
  Service client:    demo-service / {state["service_secret"]}
  Public clients:    demo-spa, demo-native (PKCE, no secret)
  Device sign-in:    demo-native at {server.endpoint_url("device/authorize")}, then {base}/activate
  Your factors:      {base}/account/   (authenticator app, passkey, email codes, recovery codes)
  Authentication API: POST {base}/api/v1/authn   (Okta's contract; mail goes to this log)
  Demo API:          {base}/api/demo/whoami, {base}/api/demo/reports (scope {REPORTS_SCOPE}); see README
""")
