"""
/secret: the bot as the sender's front end (PRODUCT.md §3.6), through both transports — the
real `manage.py runbot` long-polling the fake Bot API, and the webhook — against the test
database. The sender gets the link and the receipt, the message that held the text is
deleted (and the answer says whether it was), the recipient opens the secret with a code
from /code, and the text never shows up anywhere but in the reveal.
"""

import logging
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.db import connection
from django.test import Client

from onetime.bot import texts
from onetime.bot.updates import SecretCommand, parse_secret_command
from onetime.codes.models import BotIdentity
from onetime.notices.models import Notification
from onetime.vault.models import Secret
from tests.conftest import code_message, post_json, post_update
from tests.fake_telegram import BOT, FakeTelegram, make_update
from tests.processes import BOT_TOKEN, RunningBot, database_url, start_bot, stop

# The webhook runs in the test's own transaction; runbot, another process, needs committed rows.
pytestmark = pytest.mark.django_db
COMMITTED = pytest.mark.django_db(transaction=True)

BOB = {"user_id": 1001, "username": "bob", "first_name": "Bob"}
ALICE = {"user_id": 4242, "username": "alice", "first_name": "Alice"}

# Unique, so that finding it anywhere is a leak; with what /secret must keep byte-exact:
# leading and trailing spaces, empty lines, a tab, emoji (one of them outside the BMP).
CANARY = "canary-7f3e9d1c-never-logged"
TEXT = f"  first line {CANARY}  \n\n\tsecond line 🔐 👩‍💻 ж\n  "

LINK = re.compile(r"^(https?://\S+)/s/([0-9a-f-]{36})$", re.MULTILINE)
RECEIPT = re.compile(r"^(https?://\S+)/r/([A-Za-z0-9_-]{32})$", re.MULTILINE)


# --- Two transports behind one small interface ---------------------------------------------


@dataclass
class Chat:
    """Send messages to the bot as users; read its answers and what it deleted."""

    fake: FakeTelegram
    polling: RunningBot | None = None
    client: Client | None = None
    answers: list[dict[str, Any]] = field(default_factory=list)
    _next_message_id: int = 1000

    def send(self, text: str, **sender: Any) -> tuple[dict[str, Any], int]:
        """Send ``text``; return the bot's one answer and the id of the message sent."""
        if self.polling is not None:
            answer = self.polling.ask(text, **sender)
            message_id = self.polling.last_message_id
        else:
            assert self.client is not None
            self._next_message_id += 1
            message_id = self._next_message_id
            response = post_update(self.client, make_update(text, update_id=message_id, **sender))
            assert response.status_code == 200
            answer = response.json()
            assert answer["method"] == "sendMessage"
        self.answers.append(answer)
        return answer, message_id

    def deleted(self, chat_id: int, message_id: int) -> bool:
        return (chat_id, message_id) in self.fake.deleted

    def output(self) -> str:
        """Return the runbot process's output so far ("" for the webhook: caplog has it)."""
        return self.polling.output() if self.polling is not None else ""


@pytest.fixture(scope="module")
def runbot(
    django_db_setup: None,
    django_db_blocker: Any,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[RunningBot, str | None]]:
    """
    One runbot process for the module, without ONETIME_BASE_URL and listening on every
    interface (its links then name 127.0.0.1); with the username it stored from getMe at
    start, read before the first test's flush.
    """
    log = tmp_path_factory.mktemp("runbot") / "output.log"
    with FakeTelegram(BOT_TOKEN) as fake:
        running = start_bot(
            fake,
            log,
            DATABASE_URL=database_url(connection.settings_dict),
            ONETIME_BASE_URL="",
            HOST="0.0.0.0",  # noqa: S104 - only the links' host; nothing listens
            PORT="8123",
            TELEGRAM_BOT_USERNAME="",
        )
        try:
            # Stored by the outbox's sender as it starts, beside polling: wait for it.
            deadline = time.monotonic() + 20
            stored = None
            while stored is None and time.monotonic() < deadline:
                with django_db_blocker.unblock():
                    stored = BotIdentity.objects.values_list("username", flat=True).first()
                time.sleep(0.05)
            yield running, stored
        finally:
            stop(running.process)


@pytest.fixture(params=[pytest.param("polling", marks=COMMITTED), "webhook"])
def chat(request: pytest.FixtureRequest, no_rate_limits: Any) -> Iterator[Chat]:
    if request.param == "polling":
        running, _ = request.getfixturevalue("runbot")
        running.fake.deleted.clear()
        yield Chat(running.fake, polling=running)
    else:
        request.getfixturevalue("webhook_secret")
        yield Chat(request.getfixturevalue("fake_telegram"), client=Client())


@pytest.fixture
def webhook(fake_telegram: FakeTelegram, webhook_secret: str, no_rate_limits: Any) -> Chat:
    """The webhook alone: for what one transport shows as well as both."""
    return Chat(fake_telegram, client=Client())


def link_and_receipt(text: str) -> tuple[str, str, str]:
    """Return the base URL, the secret's id and the receipt token of a /secret answer."""
    link, receipt = LINK.search(text), RECEIPT.search(text)
    assert link, text
    assert receipt, text
    assert link[1] == receipt[1]
    return link[1], link[2], receipt[2]


def reveal_with_code(secret_id: str, code: str) -> Any:
    """Reveal through the API with a code from the bot; return the answer."""
    return post_json(Client(), f"/api/v1/secrets/{secret_id}/reveal", {"telegram_code": code})


def assert_never_leaked(chat: Chat, caplog: pytest.LogCaptureFixture, canary: str) -> None:
    assert canary not in caplog.text
    assert canary not in chat.output()
    for answer in [*chat.answers, *chat.fake.sent]:
        assert canary not in answer["text"]
    for row in Notification.objects.values():
        assert canary not in repr(row)


# --- The whole flow --------------------------------------------------------------------------


def test_a_secret_for_alice_from_bob_reaches_her_byte_exact_and_bob_hears_of_it(
    chat, caplog, settings
):
    caplog.set_level(logging.DEBUG)

    answer, message_id = chat.send(f"/secret @alice {TEXT}", **BOB)

    assert answer["chat_id"] == BOB["user_id"]
    assert answer["protect_content"] is True
    base, secret_id, _ = link_and_receipt(answer["text"])
    if chat.polling:  # no ONETIME_BASE_URL: HOST (a wildcard) and PORT
        assert base == "http://127.0.0.1:8123"
    else:
        assert base == settings.ONETIME_BASE_URL
    assert "@alice" in answer["text"]
    assert answer["text"].endswith(texts.MESSAGE_DELETED)
    assert chat.deleted(BOB["user_id"], message_id)
    secret = Secret.objects.get(pk=secret_id)
    assert (secret.telegram_recipient, secret.notify_chat_id) == ("@alice", BOB["user_id"])

    code, _ = code_message(chat.send("/code", **ALICE)[0]["text"])
    assert Secret.objects.get(pk=secret_id).recipient_id == ALICE["user_id"]  # bound
    answer = reveal_with_code(secret_id, code)
    assert answer.status_code == 200
    assert answer.json() == {"secret": TEXT}
    if chat.polling:
        # runbot's own sender delivers it: bob reads «… прочитан …» within seconds.
        told = chat.fake.wait_for(
            lambda m: m["chat_id"] == BOB["user_id"] and m["text"].startswith("👁")
        )
        assert told["text"].startswith(f"👁 Секрет {secret_id[:8]} прочитан в ")
    else:
        # No sender runs beside the webhook here (the scheduler would deliver it).
        [notification] = Notification.objects.all()
        assert (notification.event, notification.chat_id) == ("read", BOB["user_id"])
        assert notification.secret_prefix == secret_id[:8]
    assert_never_leaked(chat, caplog, CANARY)


def test_a_message_of_telegrams_full_4096_characters_works(chat):
    text = ("ж🙂 " * 2000)[: 4096 - len("/secret ")]
    message = f"/secret {text}"
    assert len(message) == 4096

    answer, message_id = chat.send(message, **BOB)

    _, secret_id, _ = link_and_receipt(answer["text"])
    assert chat.deleted(BOB["user_id"], message_id)
    response = post_json(Client(), f"/api/v1/secrets/{secret_id}/reveal")
    assert response.json() == {"secret": text}


def test_a_failed_delete_is_logged_without_the_text_and_told_in_the_answer(chat, caplog):
    caplog.set_level(logging.DEBUG)
    canary = "canary-0b8e41aa-undeletable"
    chat.fake.fail("deleteMessage", status=400, description="Bad Request: message can't be deleted")

    answer, message_id = chat.send(f"/secret {canary}", **BOB)

    link_and_receipt(answer["text"])  # the secret was made all the same
    assert answer["text"].endswith(texts.MESSAGE_NOT_DELETED)
    assert not chat.deleted(BOB["user_id"], message_id)
    log = chat.output() or caplog.text
    assert f"could not delete message {message_id} in chat {BOB['user_id']}" in log
    assert_never_leaked(chat, caplog, canary)


# --- Everything else, through the webhook (the handlers are the same) ------------------------


def test_it_stored_the_bot_username_from_getme_at_start_and_warned_about_the_links(runbot):
    running, stored = runbot

    assert stored == BOT["username"]
    assert "WARNING" in running.output()
    assert "ONETIME_BASE_URL is not set" in running.output()


@pytest.mark.parametrize("text", ["/secret", "/secret ", "/secret @alice", "/secret  \n "])
def test_secret_without_a_text_explains_the_use_and_creates_nothing(webhook, text):
    answer, _ = webhook.send(text, **BOB)

    assert answer["text"] == texts.SECRET_USAGE
    assert "/secret @" in answer["text"]
    assert not Secret.objects.exists()


def test_a_malformed_secret_command_is_deleted_all_the_same(webhook):
    answer, message_id = webhook.send("/secret\tpassword", **BOB)

    assert answer["text"] == f"{texts.SECRET_USAGE}\n\n{texts.MESSAGE_DELETED}"
    assert webhook.deleted(BOB["user_id"], message_id)
    assert not Secret.objects.exists()


@pytest.mark.parametrize("chat_type", ["group", "supergroup"])
def test_in_a_group_it_refuses_and_deletes_the_message(webhook, chat_type, caplog):
    answer, message_id = webhook.send(
        f"/secret {CANARY}", chat_type=chat_type, chat_id=-100900, **BOB
    )

    assert answer["chat_id"] == -100900
    assert answer["text"] == f"{texts.SECRET_GROUP_CHAT}\n\n{texts.MESSAGE_DELETED}"
    assert "личн" in answer["text"]
    assert webhook.deleted(-100900, message_id)
    assert not Secret.objects.exists()
    assert_never_leaked(webhook, caplog, CANARY)


def test_in_a_group_a_failed_delete_is_said_too(webhook):
    webhook.fake.fail("deleteMessage", status=400, description="Bad Request: not enough rights")

    answer, message_id = webhook.send("/secret x", chat_type="group", chat_id=-100901, **BOB)

    assert answer["text"] == f"{texts.SECRET_GROUP_CHAT}\n\n{texts.MESSAGE_NOT_DELETED}"
    assert not webhook.deleted(-100901, message_id)


def test_over_the_create_limit_it_says_so_keyed_by_the_telegram_user(
    webhook, settings, time_machine
):
    time_machine.move_to("2026-12-01 12:00:10+00:00", tick=False)  # 50 s before the window ends
    settings.ONETIME_RATE_CREATE = (1, 60)

    webhook.send("/secret first", **BOB)
    answer, message_id = webhook.send(f"/secret {CANARY}", **BOB)
    other, _ = webhook.send("/secret from someone else", user_id=1002, username="dave")

    assert answer["text"] == (
        f"{texts.SECRET_RATE_LIMITED.format(seconds=50)}\n\n{texts.MESSAGE_DELETED}"
    )
    assert webhook.deleted(BOB["user_id"], message_id)
    link_and_receipt(other["text"])
    assert Secret.objects.count() == 2


def test_a_recipient_that_is_no_username_is_refused_without_echoing_it(webhook):
    answer, message_id = webhook.send("/secret @no passw0rd", **BOB)

    assert answer["text"] == f"{texts.SECRET_BAD_RECIPIENT}\n\n{texts.MESSAGE_DELETED}"
    assert "@no" not in answer["text"]
    assert webhook.deleted(BOB["user_id"], message_id)
    assert not Secret.objects.exists()


def test_start_code_answers_exactly_like_code(webhook):
    by_start, _ = webhook.send("/start code", **ALICE)
    by_code, _ = webhook.send("/code", **ALICE)

    code_message(by_start["text"])
    assert by_start == by_code


@pytest.mark.parametrize("text", ["/start", "/help"])
def test_start_and_help_list_the_commands(webhook, text):
    answer, _ = webhook.send(text, **ALICE)

    for command in ("/code", "/secret", "/help"):
        assert command in answer["text"]


def test_a_username_is_bound_at_first_contact_and_a_later_holder_cannot_open_it(webhook):
    answer, _ = webhook.send(f"/secret @Carol {CANARY}", **BOB)
    _, secret_id, _ = link_and_receipt(answer["text"])
    assert Secret.objects.get(pk=secret_id).recipient_id is None  # carol never used the bot

    carol_code, _ = code_message(webhook.send("/code", user_id=5151, username="carol")[0]["text"])
    assert Secret.objects.get(pk=secret_id).recipient_id == 5151
    # Carol gives the username up; mallory takes it.
    mallory_code, _ = code_message(webhook.send("/code", user_id=6666, username="carol")[0]["text"])

    refused = reveal_with_code(secret_id, mallory_code)
    assert refused.status_code == 403
    assert refused.json()["status"] == "wrong_telegram_code"
    assert Secret.objects.get(pk=secret_id).recipient_id == 5151
    assert reveal_with_code(secret_id, carol_code).json() == {"secret": CANARY}


# --- The parsing rule ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "parsed"),
    [
        ("/secret a b", SecretCommand(None, "a b")),
        ("/secret  two spaces ", SecretCommand(None, " two spaces ")),
        ("/secret\nline\n", SecretCommand(None, "line\n")),
        ("/secret@onetime_test_bot x", SecretCommand(None, "x")),
        ("/SECRET x", SecretCommand(None, "x")),
        ("/secret @alice  x ", SecretCommand("@alice", " x ")),
        ("/secret @alice\n\nx", SecretCommand("@alice", "\nx")),
        ("/secret @alice", SecretCommand("@alice", "")),
        ("/secret", SecretCommand(None, "")),
        ("/secret ", SecretCommand(None, "")),
        ("/secret x@y z", SecretCommand(None, "x@y z")),
        ("/secret\tx", None),
        ("/secretary x", None),
        ("/code", None),
    ],
)
def test_the_parsing_rule(raw, parsed):
    assert parse_secret_command(raw) == parsed


def test_the_help_text_states_the_parsing_rule():
    assert "одного пробела или перевода строки" in texts.HELP
    assert "в точности как написано" in texts.HELP
