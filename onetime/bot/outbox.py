"""
The sender of the notifications outbox (notices/services.py): claim due notifications, send
each through the Bot API (bot/client.py), record how it went. runbot runs it as an asyncio
task beside polling; runscheduler runs it in a thread of its own. Several may run at once,
in one process or in many: the claim's lease gives each notification to one of them.

What each answer of the Bot API leads to:
- accepted: the notification is deleted;
- 429 (flood control, per bot): it and the rest of the batch wait retry_after without
  counting a try, and this sender sends nothing for that long;
- 403 (blocked, deactivated) and 400 (chat not found, …): dropped at once;
- 5xx, timeouts, network errors: tried again with back-off (FIRST_RETRY doubling, dropped
  after MAX_ATTEMPTS), and the rest of the batch is given back untried: with Telegram out
  of reach, each pass then spends one send's timeout, not a whole batch's.
"""

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import ParamSpec, Protocol, TypeVar

from asgiref.sync import sync_to_async
from django.db import DatabaseError, close_old_connections
from django.utils import timezone
from telegram import Bot

from onetime.bot import texts
from onetime.bot.client import (
    Delivery,
    SendResult,
    bot_close,
    bot_identify,
    build_bot,
    send_notification,
)
from onetime.bot.handlers import MOSCOW, moscow_time
from onetime.codes.services import bot_username_store
from onetime.core.logfilters import traceback_without_messages
from onetime.notices import services as notices
from onetime.notices.models import Notification

logger = logging.getLogger("onetime.outbox")

# How often a sender looks for due notifications when the last look found none: the delay
# a notification may wait before its first try.
POLL_SECONDS = 1.0
# Notifications leased per claim. A pass with a full batch is followed at once by the next.
BATCH = 20
# No send starts later than this after its batch was claimed; the rest of the batch goes
# back. With a send bounded by client.SEND_TIMEOUT (25 s), every send ends before its
# lease (notices.LEASE, 60 s) could pass to another sender.
SEND_WINDOW = notices.LEASE.total_seconds() / 3
# Between tries of getMe at start while Telegram or the database is out of reach.
IDENTIFY_RETRY_SECONDS = (1.0, 30.0)

_TEXTS = {
    Notification.Event.READ: texts.NOTIFY_READ,
    Notification.Event.EXPIRED: texts.NOTIFY_EXPIRED,
    Notification.Event.BURNED: texts.NOTIFY_BURNED,
    Notification.Event.LOCKED: texts.NOTIFY_LOCKED,
}


class Stopping(Protocol):
    """What tells the sender to stop: a threading.Event or an asyncio.Event."""

    def is_set(self) -> bool: ...


def notification_text(notification: Notification, *, now: datetime) -> str:
    """
    Return the message for ``notification``: the id's first 8 characters, what happened
    and when, in Moscow time; with the date (DD.MM.YYYY) unless it happened on ``now``'s
    day in Moscow.
    """
    when = notification.happened_at
    if when.astimezone(MOSCOW).date() == now.astimezone(MOSCOW).date():
        moment = texts.NOTIFY_WHEN_TODAY.format(time=moscow_time(when))
    else:
        date = when.astimezone(MOSCOW).strftime("%d.%m.%Y")
        moment = texts.NOTIFY_WHEN_OTHER_DAY.format(date=date, time=moscow_time(when))
    template = _TEXTS[Notification.Event(notification.event)]
    return template.format(prefix=notification.secret_prefix, when=moment)


T = TypeVar("T")
P = ParamSpec("P")


def _in_database(call: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    # A long-running process: drop connections the database closed (a restart, a timeout)
    # before and after each use, so the sender recovers without being restarted.
    close_old_connections()
    try:
        return call(*args, **kwargs)
    finally:
        close_old_connections()


async def _database(call: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Run ``call`` (ORM work) in the thread that Django's sync code runs in."""
    return await sync_to_async(_in_database)(call, *args, **kwargs)


async def _send(bot: Bot, notification: Notification) -> SendResult:
    try:
        text = notification_text(notification, now=timezone.now())
    except Exception as exc:
        # A row this code cannot word (an unknown event): retried, then dropped, like a
        # message Telegram keeps failing, without stopping the others.
        logger.error(
            "outbox: notification %d cannot be worded\n%s",
            notification.pk,
            traceback_without_messages(exc),
        )
        return SendResult(Delivery.FAILED, reason=type(exc).__name__)
    return await send_notification(bot, chat_id=notification.chat_id, text=text)


async def deliver_due(bot: Bot, stop: Stopping) -> float:
    """
    Claim one batch of due notifications and send them; return the seconds to wait before
    the next pass (0: the batch was full, more may be due).
    """
    batch = await _database(notices.notifications_claim, limit=BATCH)
    if not batch:
        return POLL_SECONDS
    claimed = time.monotonic()
    for index, notification in enumerate(batch):
        if stop.is_set() or time.monotonic() - claimed > SEND_WINDOW:
            rest = batch[index:]
            await _database(notices.notifications_release, rest)
            return 0.0
        result = await _send(bot, notification)
        if result.delivery is Delivery.SENT:
            await _database(notices.notification_delivered, notification)
            logger.info("outbox: notification %d delivered", notification.pk)
        elif result.delivery is Delivery.RATE_LIMITED:
            rest = batch[index:]
            await _database(notices.notifications_defer, rest, seconds=result.retry_after)
            logger.warning(
                "outbox: Telegram asks to wait %.0f s (429); %d notifications wait",
                result.retry_after,
                len(rest),
            )
            return max(result.retry_after, POLL_SECONDS)
        elif result.delivery is Delivery.REFUSED:
            logger.warning(
                "outbox: chat %d refuses notification %d (%s)",
                notification.chat_id,
                notification.pk,
                result.reason,
            )
            await _database(notices.notification_failed, notification, permanent=True)
        else:
            logger.warning(
                "outbox: notification %d not delivered (%s), try %d",
                notification.pk,
                result.reason,
                notification.attempts,
            )
            await _database(notices.notification_failed, notification, permanent=False)
            rest = batch[index + 1 :]
            if rest:
                await _database(notices.notifications_release, rest)
            return POLL_SECONDS
    return 0.0 if len(batch) == BATCH else POLL_SECONDS


async def _sleep(seconds: float, stop: Stopping) -> None:
    """Sleep ``seconds``, waking early once ``stop`` is set (looked at 5 times a second)."""
    deadline = time.monotonic() + seconds
    while not stop.is_set():
        left = deadline - time.monotonic()
        if left <= 0:
            return
        await asyncio.sleep(min(left, 0.2))


async def identify(bot: Bot, stop: Stopping) -> bool:
    """
    Ask Telegram for the bot's username and store it (codes.bot_username_store), trying
    again with back-off until it works or ``stop`` is set; return whether it worked.
    """
    pause, longest = IDENTIFY_RETRY_SECONDS
    while not stop.is_set():
        try:
            username = await bot_identify(bot)
            await _database(bot_username_store, username)
        except Exception as exc:
            logger.error(
                "outbox: getMe failed (%s), trying again in %.0f s", type(exc).__name__, pause
            )
            await _sleep(pause, stop)
            pause = min(pause * 2, longest)
            continue
        logger.info("outbox: the bot is @%s", username)
        return True
    return False


async def run(bot: Bot, stop: Stopping) -> None:
    """Deliver notifications until ``stop`` is set, surviving any error of one pass."""
    logger.info("outbox: delivering notifications, looking every %.0f s", POLL_SECONDS)
    while not stop.is_set():
        try:
            pause = await deliver_due(bot, stop)
        except DatabaseError as exc:
            logger.error("outbox: database unavailable (%s)", type(exc).__name__)
            pause = POLL_SECONDS
        except Exception as exc:
            logger.error(
                "outbox: delivery failed (%s)\n%s",
                type(exc).__name__,
                traceback_without_messages(exc),
            )
            pause = POLL_SECONDS
        await _sleep(pause, stop)
    logger.info("outbox: stopped")


# How long a stopping process waits for a send in flight before it gives up on it (the
# notification is then sent again after its lease: the crash window, see notices).
STOP_GRACE_SECONDS = 5.0


async def serve(bot: Bot, stop: Stopping) -> None:
    """Store the bot's username, then deliver notifications until ``stop`` is set."""
    if await identify(bot, stop):
        await run(bot, stop)


async def finish(task: "asyncio.Task[None]", stop: asyncio.Event) -> None:
    """Stop a serve() task: let it end its send in flight, cancel it after the grace."""
    stop.set()
    done, _ = await asyncio.wait([task], timeout=STOP_GRACE_SECONDS)
    if not done:
        logger.warning("outbox: a send did not end within %.0f s; abandoned", STOP_GRACE_SECONDS)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


def serve_in_thread(stop: threading.Event) -> threading.Thread:
    """
    Start serve() with a Bot of its own in a new thread with its own event loop, for a
    process that is not asyncio (the scheduler); it ends once ``stop`` is set.
    """

    async def main() -> None:
        bot = build_bot()
        try:
            await serve(bot, stop)
        finally:
            await bot_close(bot)

    def thread_main() -> None:
        try:
            asyncio.run(main())
        except Exception as exc:  # pragma: no cover - serve() survives its own errors
            logger.error(
                "outbox: stopped by %s\n%s", type(exc).__name__, traceback_without_messages(exc)
            )

    # A daemon: a send that outlives the process's grace must not keep it alive.
    thread = threading.Thread(target=thread_main, name="outbox", daemon=True)
    thread.start()
    return thread
