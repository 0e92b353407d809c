"""
The bot end to end: the real `manage.py runbot` process long-polls a fake Bot API server
over HTTP, against the test database, and these tests read what it sends back.
"""

import signal
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.utils import timezone

from onetime.bot import texts
from onetime.codes.models import TelegramAccount, UserCode
from tests.conftest import CODE_MESSAGE, SEVEN_DIGITS, code_message
from tests.fake_telegram import FakeTelegram
from tests.processes import BOT_TOKEN, RunningBot, database_url, start_bot, stop

# Not the default (5), to see that the setting reaches the bot.
LIFETIME_MINUTES = 7

pytestmark = pytest.mark.django_db(transaction=True)


def start_runbot(fake: FakeTelegram, log: Path, **env: str) -> RunningBot:
    return start_bot(
        fake,
        log,
        DATABASE_URL=database_url(connection.settings_dict),
        TELEGRAM_CODE_EXPIRATION_MINUTES=str(LIFETIME_MINUTES),
        **env,
    )


@pytest.fixture(scope="module")
def bot(django_db_setup: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningBot]:
    """One runbot process for the module (tables are flushed between tests, not the bot)."""
    log = tmp_path_factory.mktemp("runbot") / "output.log"
    with FakeTelegram(BOT_TOKEN) as fake:
        running = start_runbot(fake, log)
        try:
            yield running
        finally:
            stop(running.process)


def code_of(message: dict[str, Any]) -> tuple[str, str]:
    return code_message(message["text"])


def test_code_in_a_private_chat_answers_the_exact_format_with_protect_content(bot):
    started = timezone.now()

    message = bot.ask("/code", user_id=5001, chat_type="private")

    code, until = code_of(message)
    assert message["chat_id"] == 5001
    assert message["protect_content"] is True
    stored = UserCode.objects.get(telegram_user_id=5001)
    assert stored.code == code
    assert until == stored.expires_at.astimezone(ZoneInfo("Europe/Moscow")).strftime("%H:%M")
    assert stored.expires_at - stored.created_at == timedelta(minutes=LIFETIME_MINUTES)
    assert started - timedelta(seconds=5) < stored.created_at <= timezone.now()


@pytest.mark.parametrize("text", ["/code@onetime_test_bot", "/CODE now"])
def test_code_command_variants_are_understood(bot, text):
    code_of(bot.ask(text, user_id=5002))


def test_repeating_code_returns_the_same_code_and_expiry(bot):
    first = bot.ask("/code", user_id=5003)
    second = bot.ask("/code", user_id=5003)

    assert code_of(second) == code_of(first)
    assert second["protect_content"] is True
    assert UserCode.objects.filter(telegram_user_id=5003).count() == 1


def test_an_expired_code_is_replaced_by_a_new_one(bot):
    old_code, _ = code_of(bot.ask("/code", user_id=5004))
    UserCode.objects.filter(telegram_user_id=5004).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )

    new_code, until = code_of(bot.ask("/code", user_id=5004))

    assert new_code != old_code
    stored = UserCode.objects.get(telegram_user_id=5004)
    assert stored.code == new_code
    assert stored.expires_at > timezone.now()
    assert until == stored.expires_at.astimezone(ZoneInfo("Europe/Moscow")).strftime("%H:%M")


def test_different_users_get_different_codes(bot):
    first, _ = code_of(bot.ask("/code", user_id=5005))
    second, _ = code_of(bot.ask("/code", user_id=5006))

    assert first != second


@pytest.mark.parametrize(
    ("chat_type", "text"),
    [("group", "/code"), ("supergroup", "/code"), ("group", "/code@onetime_test_bot")],
)
def test_code_in_a_group_never_shows_a_code_there(bot, chat_type, text):
    message = bot.ask(text, user_id=5007, chat_type=chat_type, chat_id=-100500)

    assert message["chat_id"] == -100500
    assert message["text"] == texts.GROUP_CHAT
    assert "личн" in message["text"]  # it sends the user to a private chat
    assert not SEVEN_DIGITS.search(message["text"])
    assert not UserCode.objects.filter(telegram_user_id=5007).exists()


@pytest.mark.parametrize("text", ["/start", "/help", "привет", "what is this?", "/unknown"])
def test_start_help_and_anything_else_get_the_help(bot, text):
    message = bot.ask(text, user_id=5008)

    assert message["chat_id"] == 5008
    assert message["text"] == texts.HELP.format(minutes=LIFETIME_MINUTES)
    assert "/code" in message["text"]
    assert f"{LIFETIME_MINUTES} мин" in message["text"]
    assert not SEVEN_DIGITS.search(message["text"])
    assert not UserCode.objects.filter(telegram_user_id=5008).exists()


def test_plain_text_in_a_group_gets_no_answer(bot):
    before = len(bot.fake.sent)
    bot.fake.push_message("hello everyone", user_id=5009, chat_type="group", chat_id=-100501)

    # Updates are handled in order: an answer to the group would come before this one.
    message = bot.ask("/help", user_id=5010)

    assert message["chat_id"] == 5010
    assert len(bot.fake.sent) == before + 1


@pytest.mark.parametrize(
    ("sender", "first_name", "username"),
    [
        pytest.param({"first_name": "Bob\ud800"}, "Bob\ufffd", "alice", id="first-name-d800"),
        pytest.param({"first_name": "\udfff"}, "\ufffd", "alice", id="first-name-only-dfff"),
        pytest.param({"first_name": "Bob\x00"}, "Bob\ufffd", "alice", id="first-name-nul"),
        pytest.param({"username": "bob\ud800"}, "Alice", None, id="username-d800"),
        pytest.param({"username": "bob\x00"}, "Alice", None, id="username-nul"),
    ],
)
def test_text_postgresql_cannot_store_in_the_sender_still_gets_the_code(
    bot, sender, first_name, username
):
    # The fake sends the update as JSON with "\ud800" escapes, as Telegram would.
    message = bot.ask("/code", user_id=5014, **sender)

    code, _ = code_of(message)
    assert UserCode.objects.get(telegram_user_id=5014).code == code
    account = TelegramAccount.objects.get(pk=5014)
    assert (account.first_name, account.username) == (first_name, username)
    # The next update is still answered: the bot did not stop at this one.
    code_of(bot.ask("/code", user_id=5015))


def test_at_log_level_debug_the_output_holds_no_token_and_no_code(tmp_path):
    log = tmp_path / "output.log"
    with FakeTelegram(BOT_TOKEN) as fake:
        running = start_runbot(fake, log, LOG_LEVEL="DEBUG")
        try:
            code, _ = code_of(running.ask("/code", user_id=5012))
        finally:
            assert stop(running.process) == 0
    output = log.read_text(errors="replace")
    assert "DEBUG" in output  # the level took effect
    assert BOT_TOKEN.split(":")[1] not in output
    # python-telegram-bot logs every request's parameters at DEBUG: the code among them.
    assert code not in output


# Last: it stops the module's bot.
def test_sigterm_stops_it_cleanly_and_its_output_holds_no_token_and_no_code(bot):
    code_of(bot.ask("/code", user_id=5013))  # at least one code, also when run alone
    codes = {m[1] for m in map(CODE_MESSAGE.fullmatch, (s["text"] for s in bot.fake.sent)) if m}

    started = time.monotonic()
    bot.process.send_signal(signal.SIGTERM)
    exit_code = bot.process.wait(timeout=10)
    stopped_in = time.monotonic() - started

    assert exit_code == 0
    assert stopped_in < 5.0
    output = bot.output()
    assert "code: created for user 5013" in output  # the log was captured
    assert "bot: stopped" in output
    assert BOT_TOKEN not in output
    assert BOT_TOKEN.split(":")[1] not in output
    assert codes
    for code in codes:
        assert code not in output
