"""Print the protocol table (policy.py) as Markdown or JSON: ``manage.py oidc_print_policy``."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand

from oidc_flows import flowtable


class Command(BaseCommand):
    help = "Print which application type may use which grant and response type, from policy.py."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--json", action="store_true", dest="as_json")

    def handle(self, *args, as_json: bool = False, **options) -> None:
        self.stdout.write(json.dumps(flowtable.build(), indent=2) if as_json else flowtable.as_markdown())
