import asyncio
import logging
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand
from telegram.ext import Application

from onetime.bot import outbox
from onetime.bot.client import build_application
from onetime.vault.links import site_url

logger = logging.getLogger("onetime.bot")


class Command(BaseCommand):
    help = (
        "Run the Telegram bot with long polling until SIGTERM or SIGINT, and deliver the "
        "notifications outbox beside it. Run one instance; to scale out, use the webhook "
        "instead (see set_telegram_webhook)."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        application = build_application()
        stop = asyncio.Event()
        sender: list[asyncio.Task[None]] = []

        async def start_sender(app: Application) -> None:  # type: ignore[type-arg]
            # After initialize (getMe answered), before polling starts.
            sender.append(asyncio.create_task(outbox.serve(app.bot, stop)))

        async def stop_sender(app: Application) -> None:  # type: ignore[type-arg]
            # Twice at most (post_stop, then post_shutdown when stop never ran): once works.
            while sender:
                await outbox.finish(sender.pop(), stop)

        application.post_init = start_sender
        application.post_stop = stop_sender
        application.post_shutdown = stop_sender
        logger.info("bot: long polling %s", settings.TELEGRAM_API_BASE_URL)
        if not settings.ONETIME_BASE_URL:
            logger.warning(
                "bot: ONETIME_BASE_URL is not set, so the links /secret answers with point to "
                "%s, which only this machine can open",
                site_url(),
            )
        # run_polling stops cleanly on SIGINT/SIGTERM, retries getUpdates with a back-off on
        # network errors, and (bootstrap_retries=-1) keeps trying while Telegram is out of
        # reach at start-up. Starting also removes a webhook left over from webhook mode.
        application.run_polling(allowed_updates=["message"], bootstrap_retries=-1)
        logger.info("bot: stopped")
