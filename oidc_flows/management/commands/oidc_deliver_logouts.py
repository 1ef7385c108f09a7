"""Send the back-channel logout tokens that are due: ``manage.py oidc_deliver_logouts [--loop]``.

Server processes already run a delivery worker (oidc_flows.applogout.start_worker, called by the WSGI
module). Run this from cron or a systemd timer where they don't, or ``--loop`` as a service of its own.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand

from oidc_flows import applogout


class Command(BaseCommand):
    help = "Send due back-channel logout tokens (OIDC Back-Channel Logout 1.0) and record the outcome."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--loop", action="store_true", help="Keep running: send due deliveries as they fall due.")

    def handle(self, *args, **options) -> None:
        if options["loop"]:
            self.stdout.write("Delivering back-channel logouts; Ctrl-C to stop.")
            applogout.run_forever()
            return
        attempted = delivered = 0
        for _ in range(500):  # a bounded run: cron starts the next one
            tried, done = applogout.deliver_due()
            if not tried:
                break
            attempted, delivered = attempted + tried, delivered + done
        self.stdout.write(f"attempts: {attempted}   delivered: {delivered}   failed: {attempted - delivered}")
