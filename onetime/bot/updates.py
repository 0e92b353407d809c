"""Telegram updates, parsed into the few fields the bot acts on."""

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Message:
    chat_id: int
    private: bool
    user_id: int
    username: str | None
    first_name: str
    text: str

    @property
    def command(self) -> str | None:
        """Return "code" for "/code", "/code@SomeBot" or "/code now"; None for plain text."""
        if not self.text.startswith("/"):
            return None
        words = self.text[1:].split(maxsplit=1)
        return words[0].split("@", 1)[0].lower() if words else ""


def parse_update(update: dict[str, Any]) -> Message | None:
    """Return the text message in ``update``, or None for anything the bot ignores."""
    message = update.get("message")
    if not isinstance(message, dict):
        return None
    chat, sender, text = message.get("chat"), message.get("from"), message.get("text")
    if not isinstance(chat, dict) or not isinstance(sender, dict) or not isinstance(text, str):
        return None
    chat_id, user_id = chat.get("id"), sender.get("id")
    if not isinstance(chat_id, int) or not isinstance(user_id, int) or sender.get("is_bot"):
        return None
    username = sender.get("username")
    return Message(
        chat_id=chat_id,
        private=chat.get("type") == "private",
        user_id=user_id,
        username=username if isinstance(username, str) else None,
        first_name=str(sender.get("first_name") or ""),
        text=text.strip(),
    )
