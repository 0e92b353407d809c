from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from onetime.cleanup.services import cleanup_run


class Command(BaseCommand):
    help = (
        "Run one cleanup pass (for cron): delete expired codes, wipe expired secrets to "
        "tombstones, purge old tombstones and rate-limit counters. Safe to run on several "
        "hosts at once: a PostgreSQL advisory lock lets one pass run at a time."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="Only count what would go")
        parser.add_argument("--batch-size", type=int, default=10_000, help="Rows per statement")

    def handle(self, *args: Any, **options: Any) -> None:
        counts = cleanup_run(batch_size=options["batch_size"], dry_run=options["dry_run"])
        if options["verbosity"] == 0:
            return
        if counts is None:
            self.stdout.write("Skipped: another cleanup is running.")
            return
        verb = "would be" if options["dry_run"] else "were"
        self.stdout.write(
            f"{counts.expired_codes} expired codes, {counts.expired_secrets} expired secrets, "
            f"{counts.purged_tombstones} old tombstones and {counts.purged_rate_limits} "
            f"rate-limit counters {verb} removed."
        )
