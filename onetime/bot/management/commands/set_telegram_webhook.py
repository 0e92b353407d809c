import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.urls import reverse
from telegram import Bot

from onetime.bot.client import build_application
from onetime.codes.services import bot_username_store


class Command(BaseCommand):
    help = (
        "Register this service's /telegram/webhook/ with Telegram, with "
        "TELEGRAM_WEBHOOK_SECRET as the secret token (or --delete it to go back to polling)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--url", help="Public HTTPS URL of the webhook (default: ONETIME_BASE_URL + route)"
        )
        parser.add_argument("--delete", action="store_true", help="Remove the webhook")

    def handle(self, *args: Any, **options: Any) -> None:
        bot = build_application().bot
        if options["delete"]:
            asyncio.run(_with(bot, lambda: bot.delete_webhook()))
            self.stdout.write("Webhook removed.")
            return
        if not settings.TELEGRAM_WEBHOOK_SECRET:
            raise CommandError("TELEGRAM_WEBHOOK_SECRET is required for webhook mode")
        url = options["url"] or f"{settings.ONETIME_BASE_URL}{reverse('telegram-webhook')}"
        if not url.startswith("https://"):
            raise CommandError(f"Telegram needs an https:// webhook URL, got {url!r}")
        asyncio.run(
            _with(
                bot,
                lambda: bot.set_webhook(
                    url=url,
                    secret_token=settings.TELEGRAM_WEBHOOK_SECRET,
                    allowed_updates=["message"],
                ),
            )
        )
        # Opening the bot asked getMe: the username the web pages show comes from there.
        bot_username_store(bot.username)
        self.stdout.write(f"Webhook set to {url}")


async def _with(bot: Bot, call: Callable[[], Awaitable[bool]]) -> bool:
    async with bot:  # opens and closes the HTTP client
        return await call()
