"""
The one module that talks HTTP to Telegram, through python-telegram-bot: long polling for
`runbot`, and webhook registration.
"""

import logging
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import close_old_connections
from telegram import Update
from telegram.ext import Application, ContextTypes, TypeHandler

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


async def _on_update(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    if not isinstance(update, Update):
        return
    reply = await sync_to_async(_handle)(update.to_dict())
    if reply is not None:
        await context.bot.send_message(
            chat_id=reply.chat_id, text=reply.text, protect_content=reply.protect_content
        )


async def _on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    # Never the update itself: it may hold a code.
    logger.error("bot: error while handling an update: %s", type(context.error).__name__)


def build_application() -> Application:  # type: ignore[type-arg]
    """Return a python-telegram-bot Application for TELEGRAM_BOT_TOKEN and the API base URL."""
    if not settings.TELEGRAM_BOT_TOKEN:
        raise ImproperlyConfigured("TELEGRAM_BOT_TOKEN is required to run the bot")
    base = settings.TELEGRAM_API_BASE_URL
    application = (
        Application.builder()
        .token(settings.TELEGRAM_BOT_TOKEN)
        .base_url(f"{base}/bot")
        .base_file_url(f"{base}/file/bot")
        .build()
    )
    application.add_handler(TypeHandler(Update, _on_update))
    application.add_error_handler(_on_error)
    return application
