"""
What the bot answers. One set of handlers for both long polling (runbot) and the webhook:
parse the update, call a service, return the reply; sending it is the caller's job.
"""

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import DatabaseError

from onetime.bot import texts
from onetime.bot.updates import Message, parse_update
from onetime.codes import services as codes

logger = logging.getLogger(__name__)

MOSCOW = ZoneInfo("Europe/Moscow")


@dataclass(frozen=True)
class Reply:
    chat_id: int
    text: str
    # Codes are sent with protect_content: Telegram then forbids forwarding and saving them.
    protect_content: bool = False


def moscow_time(moment: datetime) -> str:
    """Return ``HH:MM`` of ``moment`` in Moscow (zoneinfo: follows any change of the rules)."""
    return moment.astimezone(MOSCOW).strftime("%H:%M")


def _code(message: Message) -> Reply:
    if not message.private:
        return Reply(message.chat_id, texts.GROUP_CHAT)
    try:
        issued = codes.code_issue(
            telegram_user_id=message.user_id,
            username=message.username,
            first_name=message.first_name,
        )
    except codes.CodeGenerationFailed:
        return Reply(message.chat_id, texts.GENERATION_FAILED)
    text = texts.CODE.format(code=issued.code, until=moscow_time(issued.expires_at))
    return Reply(message.chat_id, text, protect_content=True)


def _help(message: Message) -> Reply:
    minutes = settings.TELEGRAM_CODE_EXPIRATION_MINUTES
    return Reply(message.chat_id, texts.HELP.format(minutes=minutes))


def reply_to(update: dict[str, Any]) -> Reply | None:
    """Return the bot's reply to a Telegram update (a dict as in the Bot API), or None."""
    message = parse_update(update)
    if message is None:
        return None
    if message.command == "code":
        try:
            return _code(message)
        except DatabaseError as exc:
            logger.error("bot: database unavailable (%s)", type(exc).__name__)
            return Reply(message.chat_id, texts.UNAVAILABLE)
    if not message.private:
        # In groups, stay quiet unless asked for a code.
        return None
    return _help(message)
