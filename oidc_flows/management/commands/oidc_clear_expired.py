"""Delete expired authorization codes, tokens and sessions: ``manage.py oidc_clear_expired``.

Run it periodically (cron or a systemd timer, see README.md); what it deletes is explained in
``oidc_flows/cleanup.py``.
"""

from __future__ import annotations

from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from oidc_flows import cleanup, systemlog


def _positive_int(raw: str) -> int:
    value = int(raw)
    if value < 1:
        raise ValueError(raw)
    return value


def _non_negative(raw: str) -> float:
    value = float(raw)
    if not value >= 0:  # also refuses nan
        raise ValueError(raw)
    return value


#: The system log's actor for what this command does.
COMMAND = "manage.py oidc_clear_expired"


class Command(BaseCommand):
    help = "Delete expired authorization codes, tokens, ID tokens and sessions, in small batches."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--batch-size",
            type=_positive_int,
            default=cleanup.DEFAULT_BATCH_SIZE,
            help="Rows per DELETE statement (default %(default)s).",
        )
        parser.add_argument(
            "--grace-days",
            type=_non_negative,
            default=cleanup.DEFAULT_GRACE.days,
            help="Keep revoked or expired refresh tokens this long, for reuse detection (default %(default)s).",
        )
        parser.add_argument("--pause", type=_non_negative, default=0.0, help="Seconds to sleep between batches.")
        parser.add_argument("--dry-run", action="store_true", help="Count what would be deleted; delete nothing.")

    def handle(self, *args, batch_size: int, grace_days: float, pause: float, dry_run: bool, **options) -> None:
        try:
            grace = timedelta(days=grace_days)
            timezone.now() - grace  # noqa: B018  (the cutoff must be a date)
        except OverflowError as exc:
            raise CommandError("--grace-days is too large.") from exc
        counts = cleanup.clear_expired(batch_size=batch_size, grace=grace, dry_run=dry_run, pause=pause)
        verb = "would delete" if dry_run else "deleted"
        if not dry_run:
            deleted = [[label, count] for label, count in counts.items() if count]  # labels name tokens: a list
            systemlog.record(systemlog.CLEANUP, actor=COMMAND, detail={"deleted": deleted})
        width = max(len(label) for label in counts)
        for label, count in counts.items():
            shown = "n/a (the session engine expires them itself)" if count is None else str(count)
            self.stdout.write(f"{label:<{width}}  {verb} {shown}")
        if dry_run:
            self.stdout.write(
                "Dry run: nothing was deleted; a real run may delete a few more rows, freed by earlier steps."
            )
