"""
The one module that talks HTTP to Telegram, through python-telegram-bot: long polling for
`runbot`, the webhook's one synchronous call (deleting a message), webhook registration,
and sending notifications (send_notification, with the classification of the Bot API's
answers that the outbox acts on). Other modules hold a python-telegram-bot Bot built here
and pass it back in; none of them calls its methods.
"""

import asyncio
import enum
import logging
import warnings
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import close_old_connections
from telegram import Bot, Update
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    RetryAfter,
    TelegramError,
)
from telegram.ext import Application, ContextTypes, TypeHandler
from telegram.request import HTTPXRequest
from telegram.warnings import PTBDeprecationWarning

from onetime.bot.handlers import Reply, reply_to

logger = logging.getLogger(__name__)


def _handle(update: dict[str, Any]) -> Reply | None:
    # A long-running process: drop connections the database closed (a restart, a timeout)
    # before and after each update, so the bot recovers without being restarted.
    close_old_connections()
    try:
        return reply_to(update)
    finally:
        close_old_connections()


async def _delete(bot: Bot, *, chat_id: int, message_id: int) -> bool:
    """Delete a message; return whether it is gone. A failure is logged, never raised."""
    try:
        await bot.delete_message(chat_id=chat_id, message_id=message_id)
    except TelegramError as exc:
        # Telegram's description ("message can't be deleted"), never the message itself.
        logger.warning(
            "bot: could not delete message %d in chat %d: %s: %s",
            message_id,
            chat_id,
            type(exc).__name__,
            exc.message,
        )
        return False
    return True


async def _on_update(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    if not isinstance(update, Update):
        return
    reply = await sync_to_async(_handle)(update.to_dict())
    if reply is None:
        return
    deleted = True
    if reply.delete_message_id is not None:
        # Before the answer, which says whether it worked.
        deleted = await _delete(
            context.bot, chat_id=reply.chat_id, message_id=reply.delete_message_id
        )
    await context.bot.send_message(
        chat_id=reply.chat_id,
        text=reply.text_after_delete(deleted=deleted),
        protect_content=reply.protect_content,
    )


async def _on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    # Never the update itself: it may hold a code or a secret.
    logger.error("bot: error while handling an update: %s", type(context.error).__name__)


def _token() -> str:
    if not settings.TELEGRAM_BOT_TOKEN:
        raise ImproperlyConfigured("TELEGRAM_BOT_TOKEN is required to run the bot")
    return str(settings.TELEGRAM_BOT_TOKEN)


def _base_urls() -> tuple[str, str]:
    """Return the Bot API's base URL and its file base URL (TELEGRAM_API_BASE_URL)."""
    base = settings.TELEGRAM_API_BASE_URL
    return f"{base}/bot", f"{base}/file/bot"


def build_application() -> Application:  # type: ignore[type-arg]
    """Return a python-telegram-bot Application for TELEGRAM_BOT_TOKEN and the API base URL."""
    base_url, base_file_url = _base_urls()
    application = (
        Application.builder()
        .token(_token())
        .base_url(base_url)
        .base_file_url(base_file_url)
        .build()
    )
    application.add_handler(TypeHandler(Update, _on_update))
    application.add_error_handler(_on_error)
    return application


def delete_message(*, chat_id: int, message_id: int) -> bool:
    """
    Delete a message now, from synchronous code (the webhook, whose one answer in the
    response body is the reply); return whether it is gone. A failure is logged.
    """
    if not settings.TELEGRAM_BOT_TOKEN:
        logger.warning("bot: cannot delete message %d: TELEGRAM_BOT_TOKEN is not set", message_id)
        return False
    # A client per call: its connections belong to the event loop that asyncio.run makes.
    base_url, base_file_url = _base_urls()
    request = HTTPXRequest()
    bot = Bot(
        settings.TELEGRAM_BOT_TOKEN,
        base_url=base_url,
        base_file_url=base_file_url,
        request=request,
        get_updates_request=request,
    )

    async def delete() -> bool:
        async with request:  # no getMe: the call needs no bot identity
            return await _delete(bot, chat_id=chat_id, message_id=message_id)

    return asyncio.run(delete())


def build_bot() -> Bot:
    """Return a Bot for TELEGRAM_BOT_TOKEN and the API base URL (no polling: for sending)."""
    base_url, base_file_url = _base_urls()
    return Bot(_token(), base_url=base_url, base_file_url=base_file_url)


async def bot_identify(bot: Bot) -> str:
    """Start ``bot``'s HTTP client, ask Telegram who the bot is (getMe); return its username."""
    await bot.initialize()
    return str(bot.username)


async def bot_close(bot: Bot) -> None:
    """Close ``bot``'s HTTP client."""
    await bot.shutdown()


class Delivery(enum.Enum):
    SENT = "sent"
    # Flood control (429): wait retry_after, for this message and every other one.
    RATE_LIMITED = "rate_limited"
    # The chat will never take it: blocked, deactivated, not found (403, 400).
    REFUSED = "refused"
    # Telegram or the way to it failed (5xx, a timeout, the network): try again later.
    FAILED = "failed"


@dataclass(frozen=True)
class SendResult:
    delivery: Delivery
    retry_after: float = 0.0
    # The error's type, for the logs: never its message, which may echo what was sent.
    reason: str = ""


# Bounds on one send, so that it ends well within the outbox's lease (notices/services.py
# LEASE): at most connect + write + read + pool = 25 s.
CONNECT_TIMEOUT, WRITE_TIMEOUT, READ_TIMEOUT, POOL_TIMEOUT = 5.0, 5.0, 10.0, 5.0
SEND_TIMEOUT = CONNECT_TIMEOUT + WRITE_TIMEOUT + READ_TIMEOUT + POOL_TIMEOUT


def _seconds(retry_after: RetryAfter) -> float:
    # PTB 22 gives an int (deprecated) or a timedelta (PTB_TIMEDELTA=1); take either.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = retry_after.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


async def send_notification(bot: Bot, *, chat_id: int, text: str) -> SendResult:
    """
    Send ``text`` to ``chat_id`` and say how it went; raise nothing that the Bot API or the
    network may answer.

    Every 400 counts as refused, "chat not found" among them: Telegram refuses the same
    request the same way however often it is sent. An invalid token (401/404) is the
    operator's to fix and no message's fault: retried like an outage.
    """
    try:
        await bot.send_message(
            chat_id=chat_id,
            text=text,
            connect_timeout=CONNECT_TIMEOUT,
            write_timeout=WRITE_TIMEOUT,
            read_timeout=READ_TIMEOUT,
            pool_timeout=POOL_TIMEOUT,
        )
    except RetryAfter as exc:
        return SendResult(Delivery.RATE_LIMITED, retry_after=_seconds(exc), reason="RetryAfter")
    except (Forbidden, BadRequest, ChatMigrated) as exc:
        return SendResult(Delivery.REFUSED, reason=type(exc).__name__)
    except InvalidToken:
        logger.error("bot: Telegram refuses the bot token (TELEGRAM_BOT_TOKEN)")
        return SendResult(Delivery.FAILED, reason="InvalidToken")
    except Exception as exc:
        # NetworkError and TimedOut (5xx, timeouts, connection errors), and anything else
        # PTB or httpx may raise: a later try may succeed.
        return SendResult(Delivery.FAILED, reason=type(exc).__name__)
    return SendResult(Delivery.SENT)
