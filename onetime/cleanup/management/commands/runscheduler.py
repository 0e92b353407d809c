import logging
import signal
import threading
from types import FrameType
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.db import DatabaseError, close_old_connections

from onetime.cleanup.services import cleanup_run
from onetime.core.logfilters import traceback_without_messages

logger = logging.getLogger("onetime.scheduler")


class Command(BaseCommand):
    help = (
        "Run the cleanup pass every CLEANUP_INTERVAL_SECONDS until SIGTERM or SIGINT. "
        "Several replicas may run: an advisory lock lets one pass run at a time."
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
        logger.info("scheduler: stopped")
