"""Create a custom authorization server: ``manage.py oidc_create_server payments --name Payments``."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from oidc_flows import keys, policy, servers, systemlog
from oidc_flows.models import AuthorizationServer, KeyAlg


#: The system log's actor for what this command does.
COMMAND = "manage.py oidc_create_server"


class Command(BaseCommand):
    help = "Create a custom authorization server with its system scopes and a signing key."

    def add_arguments(self, parser) -> None:
        parser.add_argument("server_id", help="URL id: /oauth2/<server_id>/v1/...")
        parser.add_argument("--name", help="Display name (default: the id).")
        parser.add_argument("--description", default="")
        parser.add_argument("--audience", default="", help="aud of its access tokens (default api://<server_id>).")
        parser.add_argument(
            "--default-policy",
            action="store_true",
            help="Add the permissive policy `default` ships with (every client, any grant its type allows, 1 h). "
            "Without it the server issues nothing until an administrator adds an access policy.",
        )
        parser.add_argument(
            "--fapi", action="store_true", help="Enforce the FAPI 2.0 Security Profile (its keys are then PS256)."
        )
        parser.add_argument(
            "--alg", choices=KeyAlg.values, help="Algorithm of its signing keys (default: SIGNING_ALG)."
        )
        parser.add_argument("--if-missing", action="store_true", help="Succeed quietly if it already exists.")

    def handle(
        self,
        *args,
        server_id: str,
        name: str | None,
        description: str,
        audience: str,
        if_missing: bool,
        default_policy: bool,
        fapi: bool,
        alg: str | None,
        **options,
    ) -> None:
        if fapi and alg and alg not in policy.FAPI2.signing_algs:
            raise CommandError(
                f"The {policy.FAPI2.name} signs with {' or '.join(sorted(policy.FAPI2.signing_algs))} only."
            )
        existing = AuthorizationServer.objects.filter(server_id=server_id).first()
        if existing and if_missing:
            server = existing
        elif existing:
            raise CommandError(f"Authorization server {server_id!r} already exists.")
        else:
            try:
                server = servers.create_server(
                    server_id,
                    name=name or server_id,
                    description=description,
                    audience=audience,
                    default_policy=default_policy,
                    fapi_profile=fapi,
                    signing_alg=alg,
                )
            except ValidationError as exc:
                raise CommandError("; ".join(exc.messages)) from exc
            systemlog.record(
                systemlog.lifecycle_event(server, "create"),
                actor=COMMAND,
                target=server,
                detail={"audience": server.effective_audience, "fapi": fapi, "default_policy": default_policy},
            )
        profile = f" ({server.profile.name})" if server.profile else ""
        self.stdout.write(
            f"server_id: {server.server_id}\nissuer:    {server.issuer}\n"
            f"discovery: {server.discovery_url}\naudience:  {server.effective_audience}\n"
            f"keys:      {keys.ensure_signing_key(server).alg}{profile}"
        )
        if not server.access_policies.filter(is_active=True).exists():
            self.stdout.write(
                "note:      no access policy yet: the server issues no tokens until one allows it "
                "(admin, or --default-policy)."
            )
