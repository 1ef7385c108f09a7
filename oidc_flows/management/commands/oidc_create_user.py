"""Create an end user (or administrator): ``manage.py oidc_create_user alice --email alice@example.com``."""

from __future__ import annotations

import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from oidc_flows import systemlog
from oidc_flows.models import UserProfile


#: The system log's actor for what this command does.
COMMAND = "manage.py oidc_create_user"


class Command(BaseCommand):
    help = "Create a user who can sign in on the hosted pages; prints a generated password if none is given."

    def add_arguments(self, parser) -> None:
        parser.add_argument("username")
        parser.add_argument("--email", default="")
        parser.add_argument("--password", help="Default: a random password, printed once.")
        parser.add_argument("--first-name", default="")
        parser.add_argument("--last-name", default="")
        parser.add_argument("--email-verified", action="store_true")
        parser.add_argument("--superuser", action="store_true", help="Also an administrator of the admin site.")

    def handle(
        self,
        *args,
        username: str,
        email: str,
        password: str | None,
        first_name: str,
        last_name: str,
        email_verified: bool,
        superuser: bool,
        **options,
    ) -> None:
        User = get_user_model()
        if User.objects.filter(**{User.USERNAME_FIELD: username}).exists():
            raise CommandError(f"User {username!r} already exists.")
        generated = password is None
        password = password or secrets.token_urlsafe(12)
        create = User.objects.create_superuser if superuser else User.objects.create_user
        user = create(username, email=email, password=password, first_name=first_name, last_name=last_name)
        UserProfile.objects.create(user=user, email_verified=email_verified)
        # The password (typed or generated) is never part of the event: it is not even passed.
        systemlog.record(
            systemlog.lifecycle_event(user, "create"), actor=COMMAND, target=user, detail={"superuser": superuser}
        )
        self.stdout.write(f"username: {username}" + (f"\npassword: {password}   (shown once)" if generated else ""))
