import logging
import signal
import threading
from types import FrameType
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.db import DatabaseError, close_old_connections

from onetime.bot import outbox
from onetime.cleanup.services import cleanup_run
from onetime.core.logfilters import traceback_without_messages

logger = logging.getLogger("onetime.scheduler")


class Command(BaseCommand):
    help = (
        "Run the cleanup pass every CLEANUP_INTERVAL_SECONDS until SIGTERM or SIGINT, and, "
        "with TELEGRAM_BOT_TOKEN set, deliver the notifications outbox every second. Several "
        "replicas may run: an advisory lock lets one pass run at a time, and each "
        "notification is leased to one sender."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--interval", type=int, help="Seconds between passes")

    def handle(self, *args: Any, **options: Any) -> None:
        interval = options["interval"] or settings.CLEANUP_INTERVAL_SECONDS
        stop = threading.Event()

        def request_stop(signum: int, frame: FrameType | None) -> None:
            logger.info("scheduler: %s received, stopping", signal.Signals(signum).name)
            stop.set()

        signal.signal(signal.SIGTERM, request_stop)
        signal.signal(signal.SIGINT, request_stop)
        logger.info("scheduler: cleanup every %d s", interval)
        # Delivery runs in a thread of its own, so that a notification waits a second at
        # most, not for the next cleanup pass, and a long pass does not hold it up.
        sender = outbox.serve_in_thread(stop) if settings.TELEGRAM_BOT_TOKEN else None
        while not stop.is_set():
            try:
                # Long-running: reconnect after a database restart instead of failing forever.
                close_old_connections()
                cleanup_run()
            except DatabaseError as exc:
                logger.error(
                    "scheduler: cleanup failed, database unavailable (%s)", type(exc).__name__
                )
            except Exception as exc:
                # Anything else is a bug or a surprise; one failed pass must not end the
                # cleanup for good. Log where it happened and try again at the next interval.
                logger.error(
                    "scheduler: cleanup failed (%s), next pass in %d s\n%s",
                    type(exc).__name__,
                    interval,
                    traceback_without_messages(exc),
                )
            finally:
                close_old_connections()
            stop.wait(interval)
        if sender is not None:
            # It saw the same stop; a send in flight ends within the grace, or is abandoned.
            sender.join(outbox.STOP_GRACE_SECONDS)
        logger.info("scheduler: stopped")
