"""Register an application: ``manage.py oidc_create_application web "My app" --redirect-uri https://...``."""

from __future__ import annotations

import json
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from oidc_flows import policy, servers, systemlog
from oidc_flows.errors import ProtocolError
from oidc_flows.models import Application
from oidc_flows.registration import register_application


#: The system log's actor for what this command does.
COMMAND = "manage.py oidc_create_application"


class Command(BaseCommand):
    help = "Register an application of a given type and print its credentials (the secret only this once)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("application_type", choices=[t.value for t in policy.AppType])
        parser.add_argument("name")
        parser.add_argument("--redirect-uri", action="append", default=[], dest="redirect_uris")
        parser.add_argument("--post-logout-redirect-uri", action="append", default=[], dest="post_logout_uris")
        parser.add_argument(
            "--grant-type",
            action="append",
            default=[],
            dest="grant_types",
            choices=[g.value for g in policy.Grant],
            help="Default: the type's defaults.",
        )
        parser.add_argument("--client-id", help="Default: generated.")
        parser.add_argument("--client-secret", help="Default: generated (confidential types only).")
        parser.add_argument("--auth-method", choices=policy.TOKEN_ENDPOINT_AUTH_METHODS, default="")
        parser.add_argument(
            "--jwks", help="The public keys for private_key_jwt, as a JWK Set: JSON text, or @path of a JSON file."
        )
        parser.add_argument("--jwks-uri", default="", help="Where the application publishes its public keys.")
        parser.add_argument(
            "--auth-signing-alg",
            default="",
            choices=sorted({alg for algs in policy.CLIENT_ASSERTION_ALGS.values() for alg in algs}),
            help="The one algorithm of its client assertions; default: any the method allows.",
        )
        # OIDC Back-Channel / Front-Channel Logout 1.0 (oidc_flows.applogout).
        parser.add_argument("--backchannel-logout-uri", default="", help="Where logout tokens are POSTed.")
        parser.add_argument(
            "--backchannel-logout-session-required", action="store_true", help="The application needs sid."
        )
        parser.add_argument("--frontchannel-logout-uri", default="", help="Loaded in an iframe on sign-out.")
        parser.add_argument(
            "--frontchannel-logout-session-required", action="store_true", help="The iframe URL carries iss and sid."
        )
        parser.add_argument("--allowed-origin", action="append", default=[], dest="allowed_origins")
        parser.add_argument(
            "--subject-type",
            default=policy.SubjectType.PUBLIC.value,
            choices=[t.value for t in policy.SubjectType],
            help="pairwise: the application sees a sub of its own sector (OIDC Core §8.1).",
        )
        parser.add_argument(
            "--sector-identifier-uri",
            default="",
            help="Pairwise: https URL of a JSON array listing the redirect URIs; its host is the sector.",
        )
        parser.add_argument("--skip-consent", action="store_true", help="First-party app: no consent page.")
        parser.add_argument(
            "--management-scope",
            action="append",
            default=[],
            dest="management_scopes",
            choices=list(policy.MANAGEMENT_SCOPES),
            help="Grant a management API scope (repeat): the application may request it from the org server "
            "with client credentials.",
        )
        parser.add_argument(
            "--server",
            default="default",
            help="Authorization server whose endpoints to print ('org' for the org server).",
        )
        parser.add_argument(
            "--if-missing", action="store_true", help="With --client-id: succeed quietly if that client already exists."
        )

    def handle(self, *args, **o) -> None:
        try:
            server = servers.resolve(None if o["server"] == "org" else o["server"])
        except ProtocolError as exc:
            raise CommandError(f"No active authorization server {o['server']!r}.") from exc
        if o["if_missing"] and o["client_id"] and Application.objects.filter(client_id=o["client_id"]).exists():
            self.stdout.write(f"client_id: {o['client_id']} (exists)")
            return
        try:
            app, secret = register_application(
                o["name"],
                o["application_type"],
                redirect_uris=o["redirect_uris"],
                post_logout_redirect_uris=o["post_logout_uris"],
                grant_types=o["grant_types"],
                client_id=o["client_id"],
                client_secret=o["client_secret"],
                token_endpoint_auth_method=o["auth_method"],
                allowed_origins=o["allowed_origins"],
                skip_consent=o["skip_consent"],
                jwks=self._jwks(o["jwks"]),
                jwks_uri=o["jwks_uri"],
                token_endpoint_auth_signing_alg=o["auth_signing_alg"],
                backchannel_logout_uri=o["backchannel_logout_uri"],
                backchannel_logout_session_required=o["backchannel_logout_session_required"],
                frontchannel_logout_uri=o["frontchannel_logout_uri"],
                frontchannel_logout_session_required=o["frontchannel_logout_session_required"],
                subject_type=o["subject_type"],
                sector_identifier_uri=o["sector_identifier_uri"],
                extra={"management_scopes": " ".join(sorted(set(o["management_scopes"])))},
            )
        except ValidationError as exc:
            raise CommandError("; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())) from exc
        systemlog.record(
            systemlog.lifecycle_event(app, "create"),
            actor=COMMAND,
            target=app,
            detail={"application_type": app.application_type, "grant_types": app.grant_types},
        )
        lines = [f"client_id:     {app.client_id}"]
        if app.is_pairwise:
            lines.append(f"subject type:  pairwise ({app.sector_identifier_uri or 'sector from the redirect URIs'})")
        if app.token_endpoint_auth_method != "client_secret_basic":
            lines.append(f"auth method:   {app.token_endpoint_auth_method}")
        if secret:
            lines.append(f"client_secret: {secret}   (shown once; only its hash is stored)")
        lines += [
            f"grant_types:   {app.grant_types}",
            *([f"management:    {app.management_scopes}"] if app.management_scopes else []),
            f"issuer:        {server.issuer}",
            f"discovery:     {server.discovery_url}",
        ]
        self.stdout.write("\n".join(lines))

    @staticmethod
    def _jwks(raw: str | None) -> dict | None:
        if not raw:
            return None
        try:
            text = Path(raw[1:]).read_text() if raw.startswith("@") else raw
            return json.loads(text)
        except (OSError, ValueError) as exc:
            raise CommandError(f"--jwks: {exc}") from exc
