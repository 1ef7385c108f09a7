"""Issue an initial access token for dynamic client registration (RFC 7591 §3).

``manage.py oidc_issue_registration_token "partner X" --uses 1 --expires-in 86400``
"""

from __future__ import annotations

from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from oidc_flows import dcr, systemlog
from oidc_flows.models import InitialAccessToken


#: The system log's actor for what this command does.
COMMAND = "manage.py oidc_issue_registration_token"


class Command(BaseCommand):
    help = "Issue an initial access token that lets a client register itself at /oauth2/v1/clients (shown once)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("name", help="Who or what it is for.")
        parser.add_argument(
            "--uses", type=int, default=1, help="How many clients it may register (default 1; 0: any number)."
        )
        parser.add_argument(
            "--expires-in", type=int, default=7 * 24 * 3600, help="Seconds until it expires (default a week; 0: never)."
        )
        parser.add_argument("--revoke", metavar="PREFIX", help="Revoke the token with this prefix instead.")

    def handle(self, *args, **o) -> None:
        if o["revoke"]:
            token = InitialAccessToken.objects.filter(prefix=o["revoke"]).first()
            if token is None:
                raise CommandError(f"No initial access token with prefix {o['revoke']!r}.")
            token.revoke()
            systemlog.record(systemlog.REGISTRATION_TOKEN_REVOKE, actor=COMMAND, target=token)
            self.stdout.write(f"revoked: {token}")
            return
        if o["uses"] < 0 or o["expires_in"] < 0:
            raise CommandError("--uses and --expires-in cannot be negative.")
        expires = timezone.now() + timedelta(seconds=o["expires_in"]) if o["expires_in"] else None
        token, value = InitialAccessToken.issue(o["name"], expires=expires, max_uses=o["uses"] or None)
        systemlog.record(  # the token's prefix and limits, never its value
            systemlog.REGISTRATION_TOKEN_ISSUE, actor=COMMAND, target=token, detail={"uses": o["uses"] or None}
        )
        self.stdout.write(
            "\n".join(
                [
                    f"initial access token: {value}   (shown once; only its hash is stored)",
                    f"registrations:        {token.max_uses or 'any number'}",
                    f"expires:              {token.expires.isoformat() if token.expires else 'never'}",
                    f"register at:          POST {dcr.endpoint_url()}  (Authorization: Bearer <token>)",
                ]
            )
        )
