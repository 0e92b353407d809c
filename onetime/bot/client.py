"""
The one module that talks HTTP to Telegram, through python-telegram-bot: long polling for
`runbot`, the webhook's one synchronous call (deleting a message), and webhook registration.
"""

import asyncio
import logging
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError, close_old_connections
from telegram import Bot, Update
from telegram.error import TelegramError
from telegram.ext import Application, ContextTypes, TypeHandler
from telegram.request import HTTPXRequest

from onetime.bot.handlers import Reply, reply_to
from onetime.codes import services as codes

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


def _store_username(username: str) -> None:
    close_old_connections()
    try:
        codes.bot_username_store(username)
    except DatabaseError as exc:
        # The links and pages that name the bot wait for the next start; the bot itself
        # works without it.
        logger.warning("bot: could not store the bot's username: %s", type(exc).__name__)
    finally:
        close_old_connections()


async def store_username(bot: Bot) -> None:
    """Record the username getMe reported for ``bot`` (initialized), for bot_username."""
    await sync_to_async(_store_username)(bot.username)


async def _post_init(application: Application) -> None:  # type: ignore[type-arg]
    # initialize() has called getMe: its answer is cached on the bot.
    await store_username(application.bot)


def _base_urls() -> tuple[str, str]:
    """Return the Bot API's base URL and its file base URL (TELEGRAM_API_BASE_URL)."""
    if not settings.TELEGRAM_BOT_TOKEN:
        raise ImproperlyConfigured("TELEGRAM_BOT_TOKEN is required to run the bot")
    base = settings.TELEGRAM_API_BASE_URL
    return f"{base}/bot", f"{base}/file/bot"


def build_application() -> Application:  # type: ignore[type-arg]
    """
    Return a python-telegram-bot Application for TELEGRAM_BOT_TOKEN and the API base URL;
    once started, it stores the bot's username (getMe) for bot_username.
    """
    base_url, base_file_url = _base_urls()
    application = (
        Application.builder()
        .token(settings.TELEGRAM_BOT_TOKEN)
        .base_url(base_url)
        .base_file_url(base_file_url)
        .post_init(_post_init)
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
