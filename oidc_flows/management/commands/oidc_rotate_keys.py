"""Rotate signing keys: ``manage.py oidc_rotate_keys default`` or ``--due`` from cron."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from oidc_flows import keys, systemlog
from oidc_flows.models import AuthorizationServer
from oidc_flows.models.keys import KeyAlg, KeyStatus


#: The system log's actor for what this command does.
COMMAND = "manage.py oidc_rotate_keys"


class Command(BaseCommand):
    help = (
        "Rotate the signing key of the named servers (or --all): the published `next` key starts signing, "
        "the active one retires but stays in the JWKS. With --due, only servers whose key is older than "
        "their rotation interval. With --alg, the new key has that algorithm (and so have the server's later "
        "keys); it signs at once, since the published `next` key has the old one."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("server_ids", nargs="*", help="Server ids ('org' for the org server).")
        parser.add_argument("--all", action="store_true", help="Every active server.")
        parser.add_argument("--due", action="store_true", help="Only servers whose rotation interval has passed.")
        parser.add_argument("--alg", choices=KeyAlg.values, help="Algorithm of the new keys (default: the server's).")

    def handle(self, *args, server_ids: list[str], all: bool, due: bool, alg: str | None, **options) -> None:
        chosen = AuthorizationServer.objects.active()
        if server_ids:
            chosen = chosen.filter(server_id__in=server_ids)
            missing = set(server_ids) - set(chosen.values_list("server_id", flat=True))
            if missing:
                raise CommandError(f"No active authorization server: {', '.join(sorted(missing))}")
        elif not (all or due):
            raise CommandError("Name servers, or pass --all or --due.")
        for server in chosen:
            active = server.signing_keys.filter(status=KeyStatus.ACTIVE).first()
            if due and active is not None and not keys.is_due(server, active):
                continue
            try:
                key = keys.rotate(server, alg=alg)
            except ValueError as exc:  # an algorithm the server's security profile forbids
                raise CommandError(str(exc)) from None
            systemlog.record(
                systemlog.KEY_ROLLOVER,
                actor=COMMAND,
                target=server,
                detail={"via": "command", "kid": key.kid, "alg": key.alg, "due": due},
            )
            self.stdout.write(f"{server.server_id}: now signing with {key.kid} ({key.alg})")
