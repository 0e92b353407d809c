"""
What the bot answers. One set of handlers for both long polling (runbot) and the webhook:
parse the update, call a service, return the reply; sending it (and deleting the message
it names) is the caller's job.
"""

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import DatabaseError

from onetime.bot import texts
from onetime.bot.updates import Message, parse_secret_command, parse_update
from onetime.codes import services as codes
from onetime.core.errors import InvalidInput, RateLimited, TooLarge
from onetime.vault import links
from onetime.vault import services as vault

logger = logging.getLogger(__name__)

MOSCOW = ZoneInfo("Europe/Moscow")


@dataclass(frozen=True)
class Reply:
    chat_id: int
    text: str
    # Codes and links are sent with protect_content: Telegram then forbids forwarding and
    # saving them.
    protect_content: bool = False
    # The user's message to delete before the reply is sent: it held a secret's text.
    delete_message_id: int | None = None

    def text_after_delete(self, *, deleted: bool) -> str:
        """Return the text to send, saying whether the message to delete is gone."""
        if self.delete_message_id is None:
            return self.text
        note = texts.MESSAGE_DELETED if deleted else texts.MESSAGE_NOT_DELETED
        return f"{self.text}\n\n{note}"


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
    # First contact binds the secrets waiting for this username to this account (§2.6).
    vault.secrets_bind_recipient(telegram_user_id=message.user_id, username=message.username)
    text = texts.CODE.format(code=issued.code, until=moscow_time(issued.expires_at))
    return Reply(message.chat_id, text, protect_content=True)


def _secret(message: Message) -> Reply:
    """
    Create a secret from a /secret message (the rule: updates.parse_secret_command) and
    have the message deleted, whatever the outcome: it may hold the text.
    """
    delete = message.message_id
    if not message.private:
        return Reply(message.chat_id, texts.SECRET_GROUP_CHAT, delete_message_id=delete)
    command = parse_secret_command(message.raw_text)
    if command is None or not command.text.strip():
        # Only a malformed command (a tab after /secret, say) may hold a text to delete.
        return Reply(
            message.chat_id,
            texts.SECRET_USAGE,
            delete_message_id=delete if command is None else None,
        )
    try:
        created = vault.secret_create(
            plaintext=command.text,
            ttl=None,
            passphrase=None,
            # The CREATE limit, per Telegram account rather than per IP.
            client_ip=f"telegram:{message.user_id}",
            telegram_recipient=command.recipient,
            notify_chat_id=message.chat_id,
        )
    except RateLimited as exc:
        text = texts.SECRET_RATE_LIMITED.format(seconds=exc.retry_after)
    except TooLarge:
        text = texts.SECRET_TOO_LARGE.format(limit=settings.ONETIME_MAX_SECRET_BYTES)
    except vault.InvalidTelegramAccount:
        text = texts.SECRET_BAD_RECIPIENT
    except vault.TelegramNotConfigured:
        text = texts.SECRET_NOT_CONFIGURED
    except InvalidInput:
        text = texts.SECRET_INVALID
    except DatabaseError as exc:
        logger.error("bot: database unavailable (%s)", type(exc).__name__)
        text = texts.SECRET_UNAVAILABLE
    else:
        secret = created.secret
        recipient = texts.SECRET_FOR.format(account=secret.telegram_recipient)
        text = texts.SECRET_CREATED.format(
            recipient=recipient if secret.telegram_recipient else "",
            link=links.secret_url(None, secret.id),
            receipt=links.receipt_url(None, created.receipt_token),
            until=secret.expires_at.astimezone(MOSCOW).strftime("%d.%m %H:%M"),
        )
    return Reply(message.chat_id, text, protect_content=True, delete_message_id=delete)


def _help(message: Message) -> Reply:
    minutes = settings.TELEGRAM_CODE_EXPIRATION_MINUTES
    return Reply(message.chat_id, texts.HELP.format(minutes=minutes))


def _asks_for_a_code(message: Message) -> bool:
    """Return whether ``message`` is /code, or /start code (the web page's t.me button)."""
    if message.command == "code":
        return True
    return message.command == "start" and message.text.split()[1:] == ["code"]


def reply_to(update: dict[str, Any]) -> Reply | None:
    """Return the bot's reply to a Telegram update (a dict as in the Bot API), or None."""
    message = parse_update(update)
    if message is None:
        return None
    if message.command == "secret":
        return _secret(message)
    if _asks_for_a_code(message):
        try:
            return _code(message)
        except DatabaseError as exc:
            logger.error("bot: database unavailable (%s)", type(exc).__name__)
            return Reply(message.chat_id, texts.UNAVAILABLE)
    if not message.private:
        # In groups, stay quiet unless asked for a code or handed a secret.
        return None
    return _help(message)
