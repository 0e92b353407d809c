"""
Webhook mode: Telegram POSTs updates to /telegram/webhook/ with the secret header, and the
reply comes back as a sendMessage call in the response body. set_telegram_webhook
registers the URL and the secret with (a fake of) the Bot API.
"""

import io
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from onetime.bot import texts
from onetime.codes.models import BotIdentity, TelegramAccount, UserCode
from tests.conftest import CODE_MESSAGE, SEVEN_DIGITS, code_message, post_update
from tests.conftest import WEBHOOK_SECRET as SECRET
from tests.fake_telegram import BOT, make_update

URL = "/telegram/webhook/"
FROM_A_BOT: dict[str, Any] = {"from": {"id": 6005, "is_bot": True}}


@pytest.mark.django_db
def test_it_is_not_there_without_a_configured_secret(client, settings):
    settings.TELEGRAM_WEBHOOK_SECRET = ""

    response = post_update(client, make_update(), secret="")

    assert response.status_code == 404
    assert UserCode.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize(
    "given",
    [None, "", "wrong", SECRET[:-1], SECRET + "x", SECRET.upper(), f" {SECRET}"],
)
def test_a_missing_or_wrong_secret_is_refused_and_creates_nothing(client, webhook_secret, given):
    response = post_update(client, make_update("/code"), secret=given)

    assert response.status_code == 403
    assert UserCode.objects.count() == 0
    assert b"\xf0\x9f\x94\x91" not in response.content  # no 🔑: no code message


@pytest.mark.django_db
def test_the_right_secret_gets_the_code_as_a_send_message_call(client, webhook_secret):
    response = post_update(client, make_update("/code", user_id=6002))

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"method", "chat_id", "text", "protect_content"}
    assert body["method"] == "sendMessage"
    assert body["chat_id"] == 6002
    assert body["protect_content"] is True
    code, _ = code_message(body["text"])
    assert UserCode.objects.get(telegram_user_id=6002).code == code


@pytest.mark.django_db
def test_repeating_code_returns_the_same_code(client, webhook_secret):
    first = post_update(client, make_update("/code", user_id=6003)).json()
    second = post_update(client, make_update("/code", user_id=6003)).json()

    assert first["text"] == second["text"]
    assert UserCode.objects.filter(telegram_user_id=6003).count() == 1


@pytest.mark.django_db
def test_code_in_a_group_is_not_shown_there(client, webhook_secret):
    update = make_update("/code", user_id=6004, chat={"id": -100600, "type": "group", "title": "G"})

    body = post_update(client, update).json()

    assert body["chat_id"] == -100600
    assert body["text"] == texts.GROUP_CHAT
    assert not SEVEN_DIGITS.search(body["text"])
    assert UserCode.objects.count() == 0


@pytest.mark.django_db
def test_start_gets_the_help(client, webhook_secret, settings):
    body = post_update(client, make_update("/start")).json()

    assert body["method"] == "sendMessage"
    assert body["text"] == texts.HELP.format(minutes=settings.TELEGRAM_CODE_EXPIRATION_MINUTES)
    assert body["protect_content"] is False


@pytest.mark.django_db
@pytest.mark.parametrize(
    "update",
    [
        pytest.param(
            {"update_id": 1, "edited_message": make_update("/code")["message"]}, id="edited"
        ),
        pytest.param(
            {
                "update_id": 2,
                "channel_post": {
                    "message_id": 1,
                    "date": 1_700_000_000,
                    "chat": {"id": -100700, "type": "channel", "title": "C"},
                    "text": "/code",
                },
            },
            id="channel-post",
        ),
        pytest.param(
            make_update(None, sticker={"file_id": "x", "file_unique_id": "y", "type": "regular"}),
            id="sticker",
        ),
        pytest.param(
            make_update("/code", user_id=6005, **FROM_A_BOT),
            id="from-a-bot",
        ),
        *(
            pytest.param(make_update("/code", user_id=user_id), id=f"from-user-id-{user_id}")
            for user_id in (0, -1, True, 2**63)
        ),
        # No bigint holds these chat ids: /secret stores the chat to notify.
        *(
            pytest.param(
                make_update("/secret hi", chat={"id": chat_id, "type": "private"}),
                id=f"secret-in-chat-id-{chat_id}",
            )
            for chat_id in (2**63, -(2**63) - 1)
        ),
        pytest.param(
            make_update("hello", chat={"id": -100601, "type": "supergroup", "title": "G"}),
            id="chatter-in-a-group",
        ),
        pytest.param({"update_id": 3}, id="empty"),
    ],
)
def test_updates_it_ignores_get_an_empty_200(client, webhook_secret, update):
    response = post_update(client, update)

    assert response.status_code == 200
    assert response.content == b""
    assert UserCode.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize("data", ["{not json", b"\xff\xfe", "[1, 2]", '"/code"'])
def test_a_body_that_is_not_an_update_object_is_a_400(client, webhook_secret, data):
    response = post_update(client, data)

    assert response.status_code == 400
    assert UserCode.objects.count() == 0


@pytest.mark.django_db
def test_only_post_is_accepted(client, webhook_secret):
    response = client.get(URL, headers={"X-Telegram-Bot-Api-Secret-Token": SECRET})

    assert response.status_code == 405


# --- set_telegram_webhook ------------------------------------------------------------------


def test_set_telegram_webhook_registers_the_url_with_the_secret(fake_telegram, webhook_secret):
    out = io.StringIO()
    call_command("set_telegram_webhook", stdout=out)

    [params] = fake_telegram.params_of("setWebhook")
    assert "https://onetime.example.com/telegram/webhook/" in out.getvalue()
    assert params["url"] == "https://onetime.example.com/telegram/webhook/"
    assert params["secret_token"] == SECRET
    assert params["allowed_updates"] == ["message"]
    # What getMe answered is stored for the pages that name the bot.
    assert BotIdentity.objects.get().username == BOT["username"]


def test_set_telegram_webhook_takes_an_explicit_url(fake_telegram, webhook_secret):
    call_command("set_telegram_webhook", url="https://hooks.example.org/tg/", stdout=io.StringIO())

    [params] = fake_telegram.params_of("setWebhook")
    assert params["url"] == "https://hooks.example.org/tg/"
    assert params["secret_token"] == SECRET


def test_set_telegram_webhook_refuses_without_a_secret(fake_telegram, settings):
    settings.TELEGRAM_WEBHOOK_SECRET = ""

    with pytest.raises(CommandError, match="TELEGRAM_WEBHOOK_SECRET"):
        call_command("set_telegram_webhook", stdout=io.StringIO())

    assert fake_telegram.params_of("setWebhook") == []


def test_set_telegram_webhook_refuses_a_plain_http_url(fake_telegram, webhook_secret):
    with pytest.raises(CommandError, match="https"):
        call_command(
            "set_telegram_webhook", url="http://onetime.example.com/x", stdout=io.StringIO()
        )

    assert fake_telegram.params_of("setWebhook") == []


def test_set_telegram_webhook_delete_removes_it(fake_telegram, webhook_secret):
    call_command("set_telegram_webhook", delete=True, stdout=io.StringIO())

    assert len(fake_telegram.params_of("deleteWebhook")) == 1
    assert fake_telegram.params_of("setWebhook") == []


def test_json_nested_too_deeply_is_a_400_not_a_500(client, webhook_secret):
    response = client.post(
        "/telegram/webhook/",
        data="[" * 100_000 + "]" * 100_000,
        content_type="application/json",
        headers={"x-telegram-bot-api-secret-token": SECRET},
    )

    assert response.status_code == 400


# --- Text PostgreSQL cannot store ----------------------------------------------------------

# A lone surrogate is valid in a JSON string ("\ud800") and in a Python str, but not in
# UTF-8, so PostgreSQL cannot store it; NUL is valid UTF-8 that PostgreSQL's text refuses.
LONE_SURROGATE = "\ud800"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "unstorable", [LONE_SURROGATE, "\udfff", "\x00"], ids=["d800", "dfff", "nul"]
)
@pytest.mark.parametrize(
    "where",
    ["first_name", "username", "last_name", "chat title", "message text"],
)
def test_text_postgresql_cannot_store_in_an_update_still_gets_the_code(
    client, webhook_secret, where, unstorable
):
    update = make_update("/code", user_id=6100, username="bob", first_name="Bob")
    message = update["message"]
    if where == "chat title":
        message["chat"]["title"] = f"Chat{unstorable}"
    elif where == "message text":
        message["text"] = f"/code {unstorable}"
    else:
        message["from"][where] = f"bob{unstorable}"

    response = post_update(client, update)

    assert response.status_code == 200, response.content[:300]
    body = response.json()
    match = CODE_MESSAGE.fullmatch(body["text"])
    assert match, body["text"]
    account = TelegramAccount.objects.get(pk=6100)
    assert UserCode.objects.get(telegram_user_id=6100).code == match[1]
    assert account.first_name == ("bob\ufffd" if where == "first_name" else "Bob")
    # No username Telegram could have issued: dropped, not stored.
    assert account.username == (None if where == "username" else "bob")


@pytest.mark.django_db
def test_a_name_that_is_only_surrogates_is_stored_as_replacement_characters(client, webhook_secret):
    update = make_update("/code", user_id=6101)
    update["message"]["from"]["first_name"] = "\ud800\udc00\udfff A"  # a pair, then a lone one

    body = post_update(client, update).json()

    assert CODE_MESSAGE.fullmatch(body["text"]), body["text"]
    # json.loads joins the escaped pair into U+10000; only the lone one is replaced.
    assert TelegramAccount.objects.get(pk=6101).first_name == "\U00010000\ufffd A"


@pytest.mark.django_db
def test_names_longer_than_telegram_allows_still_get_the_code(client, webhook_secret):
    update = make_update("/code", user_id=6102)
    update["message"]["from"].update(first_name="Б" * 300, username="b" * 65)

    body = post_update(client, update).json()

    assert CODE_MESSAGE.fullmatch(body["text"]), body["text"]
    account = TelegramAccount.objects.get(pk=6102)
    assert account.first_name == "Б" * 64
    assert account.username is None
