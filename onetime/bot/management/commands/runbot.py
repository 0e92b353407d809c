import logging
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from onetime.bot.client import build_application
from onetime.vault.links import site_url

logger = logging.getLogger("onetime.bot")


class Command(BaseCommand):
    help = (
        "Run the Telegram bot with long polling until SIGTERM or SIGINT. Run one instance; "
        "to scale out, use the webhook instead (see set_telegram_webhook)."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        application = build_application()
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
