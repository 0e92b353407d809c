"""Telegram updates, parsed into the few fields the bot acts on."""

import re
from dataclasses import dataclass
from typing import Any, TypeGuard

# What a JSON string may hold but PostgreSQL text may not: lone surrogates ("\ud800" is
# valid JSON and a valid Python str, but not UTF-8) and NUL. Replaced where the text is
# read, so nothing downstream (the database, a reply, a log line) meets them.
_UNSTORABLE = re.compile("[\ud800-\udfff\x00]")
# Telegram's usernames are 5-32 letters, digits and underscores (4 for some bought ones);
# 64 is the column's length. Anything else is no username Telegram could have issued.
_USERNAME = re.compile(r"[A-Za-z0-9_]{1,64}")
# Telegram's own limit for a first name (the column holds 256).
FIRST_NAME_LENGTH = 64


@dataclass(frozen=True)
class Message:
    chat_id: int
    private: bool
    user_id: int
    username: str | None
    first_name: str
    # Stripped, for reading commands.
    text: str
    # Exactly as Telegram delivered it (no replacement, no stripping, entities not applied):
    # a secret's text is taken from here.
    raw_text: str
    message_id: int

    @property
    def command(self) -> str | None:
        """Return "code" for "/code", "/code@SomeBot" or "/code now"; None for plain text."""
        if not self.text.startswith("/"):
            return None
        words = self.text[1:].split(maxsplit=1)
        return words[0].split("@", 1)[0].lower() if words else ""


@dataclass(frozen=True)
class SecretCommand:
    """What a /secret message carries."""

    recipient: str | None  # "@alice" as written, unchecked
    text: str  # byte-exact; "" when the message holds none


# The command token: /secret or /secret@SomeBot, then a separator or the end.
_SECRET_COMMAND = re.compile(r"/secret(?:@[A-Za-z0-9_]*)?(?=[ \n]|\Z)", re.IGNORECASE)
_SEPARATOR = re.compile("[ \n]")


def parse_secret_command(raw_text: str) -> SecretCommand | None:
    """
    Return the recipient and the secret of a /secret message, or None when ``raw_text``
    does not follow the rule (the /help text words it for users):

    after the command token (``/secret`` or ``/secret@BotName``) comes exactly one
    separator, a space or a newline; an optional ``@username`` followed by one separator
    names the recipient; everything after that is the secret, byte-exact: whitespace,
    newlines and any Unicode are kept, and Telegram's formatting (entities) is not applied.
    A lone ``@username`` with nothing after it is a recipient without a secret.
    """
    command = _SECRET_COMMAND.match(raw_text)
    if command is None:
        return None
    rest = raw_text[command.end() + 1 :]  # past the one separator, if any
    if not rest.startswith("@"):
        return SecretCommand(recipient=None, text=rest)
    separator = _SEPARATOR.search(rest)
    if separator is None:
        return SecretCommand(recipient=rest, text="")
    return SecretCommand(recipient=rest[: separator.start()], text=rest[separator.end() :])


def _is_int(value: object) -> TypeGuard[int]:
    """Return whether ``value`` is a JSON integer (true and false are not)."""
    return isinstance(value, int) and not isinstance(value, bool)


def _storable(text: str) -> str:
    """Return ``text`` with lone surrogates and NUL replaced by U+FFFD."""
    return _UNSTORABLE.sub("\ufffd", text)


def parse_update(update: dict[str, Any]) -> Message | None:
    """
    Return the text message in ``update``, or None for anything the bot ignores.

    The text fields come back storable: a name with a lone surrogate or NUL keeps its other
    characters, a username that Telegram could not have issued is dropped. Only
    ``raw_text`` is the text as sent, for the one use that must keep it byte-exact (a
    secret, which secret_create checks itself).
    """
    message = update.get("message")
    if not isinstance(message, dict):
        return None
    chat, sender, text = message.get("chat"), message.get("from"), message.get("text")
    if not isinstance(chat, dict) or not isinstance(sender, dict) or not isinstance(text, str):
        return None
    chat_id, user_id = chat.get("id"), sender.get("id")
    message_id = message.get("message_id")
    if not _is_int(chat_id) or not _is_int(user_id) or sender.get("is_bot"):
        return None
    if not _is_int(message_id):
        return None
    if not 0 < user_id < 2**63:  # positive (codes.services relies on it) and a bigint
        return None
    if not -(2**63) <= chat_id < 2**63:  # a bigint: /secret stores it as the chat to notify
        return None
    username = sender.get("username")
    first_name = sender.get("first_name")
    return Message(
        chat_id=chat_id,
        private=chat.get("type") == "private",
        user_id=user_id,
        username=username if isinstance(username, str) and _USERNAME.fullmatch(username) else None,
        first_name=_storable(first_name)[:FIRST_NAME_LENGTH] if isinstance(first_name, str) else "",
        text=_storable(text).strip(),
        raw_text=text,
        message_id=message_id,
    )
