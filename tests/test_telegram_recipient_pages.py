"""
Secrets for one Telegram user (PRODUCT.md §2.6) on the web pages: the create form's
Telegram fields, the recipient's page that asks for a code from the bot (a plain POST
form), and the sender's receipt.
"""

import re
from typing import Any

import pytest
from django.test import Client

from onetime.codes.models import BotIdentity, TelegramAccount, UserCode
from onetime.notices.models import Notification
from onetime.vault.models import Secret
from tests.conftest import TEST_BOT, issue_code, make_secret, text, textarea, wrong_code

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_rate_limits", "telegram_bot")]

ALICE, BOB, MALLORY = 4242, 1001, 6666
PLAINTEXT = "  user: admin\n\tпароль — ключ 🔑 \n"
BOT_LINK = f'href="https://t.me/{TEST_BOT}?start=code"'
FORM = {"secret": PLAINTEXT, "ttl": "3600", "passphrase": ""}


@pytest.fixture
def en() -> Client:
    return Client(headers={"accept-language": "en"})


def field_error(response: Any, field: str) -> str:
    """Return the error shown under the form field ``field`` (its id is id_<field>_error)."""
    match = re.search(
        rf'<p class="error" id="id_{field}_error" role="alert">(.*?)</p>', text(response)
    )
    assert match, f"no error under {field}"
    return match.group(1)


def open_page(client: Client, secret_id: object, **fields: str) -> Any:
    return client.post(f"/s/{secret_id}", {"passphrase": "", "telegram_code": "", **fields})


def for_alice(**kwargs: Any) -> Secret:
    return make_secret(PLAINTEXT, telegram_recipient="@alice", **kwargs).secret


def test_the_create_form_offers_the_telegram_fields(en):
    page = text(en.get("/"))

    assert re.search(r'<input type="text" name="telegram_recipient"', page)
    assert re.search(r'<input type="text" name="notify_telegram"', page)
    assert re.search(r'<input[^>]*name="notify_code"[^>]*inputmode="numeric"', page)
    assert "Tell me in Telegram what happens to it" in page
    assert f"@{TEST_BOT}" in page


def test_without_a_bot_the_form_has_no_telegram_fields_and_ignores_them(en, settings):
    settings.TELEGRAM_BOT_TOKEN = ""

    page = text(en.get("/"))
    response = en.post("/", {**FORM, "telegram_recipient": "@alice"})

    for name in ["telegram_recipient", "notify_telegram", "notify_code", "Telegram"]:
        assert name not in page
    assert response.status_code == 200
    assert Secret.objects.get().telegram_recipient == ""


def test_it_creates_a_secret_for_alice_and_says_so(en):
    issue_code(ALICE, "alice")

    response = en.post("/", {**FORM, "telegram_recipient": "  @alice "})

    assert response.status_code == 200
    secret = Secret.objects.get()
    assert (secret.telegram_recipient, secret.recipient_id) == ("@alice", ALICE)
    assert "Only for <strong>@alice</strong>" in text(response)
    assert "told in Telegram" not in text(response)


def test_it_creates_a_secret_that_notifies_its_sender(en):
    code = issue_code(BOB, "bobby")

    response = en.post("/", {**FORM, "notify_telegram": "@bobby", "notify_code": code})

    assert response.status_code == 200
    assert Secret.objects.get().notify_chat_id == BOB
    assert "You will be told in Telegram" in text(response)


@pytest.mark.parametrize("value", ["@ali", "alice!", "0", "@" + "a" * 33])
def test_an_impossible_recipient_is_shown_under_its_field_and_nothing_is_stored(en, value):
    response = en.post("/", {**FORM, "telegram_recipient": value})

    assert response.status_code == 400
    assert "Telegram @username" in field_error(response, "telegram_recipient")
    assert not Secret.objects.exists()


def test_the_notify_code_is_read_as_the_reveal_form_reads_a_code(en):
    code = issue_code(BOB, "bobby")

    # A typo is refused without counting against the account, whose code still works.
    typo = en.post("/", {**FORM, "notify_telegram": "@bobby", "notify_code": code[:5]})
    spaced = f"{code[:3]} {code[3:]}"
    created = en.post("/", {**FORM, "notify_telegram": "@bobby", "notify_code": spaced})

    assert typo.status_code == 400
    assert field_error(typo, "notify_code") == "The code has 7 digits."
    assert created.status_code == 200
    assert Secret.objects.get().notify_chat_id == BOB
    assert TelegramAccount.objects.get(pk=BOB).failed_attempts == 0


def test_a_wrong_notify_code_is_shown_under_its_field_and_nothing_is_stored(en):
    code = issue_code(BOB, "bobby")

    wrong = en.post("/", {**FORM, "notify_telegram": "@bobby", "notify_code": wrong_code(code)})
    missing = en.post("/", {**FORM, "notify_telegram": "@bobby"})
    no_account = en.post("/", {**FORM, "notify_code": code})

    assert wrong.status_code == missing.status_code == no_account.status_code == 400
    assert "/code" in field_error(wrong, "notify_code")
    assert "/code" in field_error(missing, "notify_code")
    assert "Telegram account" in field_error(no_account, "notify_telegram")
    assert 'class="notify" open' in text(wrong)
    assert not Secret.objects.exists()


def test_the_recipients_page_names_the_account_and_the_bot_and_consumes_nothing(en):
    secret = for_alice()

    for _ in range(3):
        response = en.get(f"/s/{secret.id}")
        assert response.status_code == 200

    page = text(response)
    assert "Only the Telegram account <strong>@alice</strong> can open this secret" in page
    assert f"send /code to @{TEST_BOT}" in page
    assert re.search(rf'<a class="button telegram" {re.escape(BOT_LINK)}', page)
    field = re.search(r'<input[^>]*name="telegram_code"[^>]*>', page)
    assert field
    assert 'inputmode="numeric"' in field.group(0)
    assert 'autocomplete="one-time-code"' in field.group(0)
    assert 'name="passphrase"' not in page
    stored = Secret.objects.get()
    assert (stored.state, stored.failed_codes) == ("active", 0)


def test_the_page_works_when_the_bots_name_is_unknown(en, settings):
    settings.TELEGRAM_BOT_USERNAME = ""
    # Nor stored: a bot process started by an earlier test may have left one behind.
    BotIdentity.objects.all().delete()
    secret = for_alice()

    page = text(en.get(f"/s/{secret.id}"))
    opened = open_page(en, secret.id, telegram_code=issue_code(ALICE, "alice"))

    assert "the service's Telegram bot" in page
    assert "t.me/" not in page
    assert textarea(opened, "secret") == PLAINTEXT


def test_without_a_code_it_asks_for_one_and_counts_nothing(en):
    secret = for_alice()

    for _ in range(6):
        response = open_page(en, secret.id)
        assert response.status_code == 403
        assert field_error(response, "telegram_code") == "Enter the code from the bot."

    assert Secret.objects.get().failed_codes == 0


def test_a_malformed_code_is_refused_without_counting(en):
    secret = for_alice()

    response = open_page(en, secret.id, telegram_code="12345")

    assert response.status_code == 400
    assert field_error(response, "telegram_code") == "The code has 7 digits."
    assert Secret.objects.get().failed_codes == 0


def test_wrong_codes_say_how_many_tries_are_left_and_the_fifth_destroys_it(en):
    code = issue_code(BOB, "bobby")
    secret = for_alice(notify_telegram="@bobby", notify_code=code)
    alices = issue_code(ALICE, "alice")
    mallorys = issue_code(MALLORY, "mallory")

    first = open_page(en, secret.id, telegram_code=mallorys)
    for _ in range(3):
        open_page(en, secret.id, telegram_code=wrong_code(alices))
    last = open_page(en, secret.id, telegram_code=wrong_code(alices))
    after = open_page(en, secret.id, telegram_code=alices)

    assert first.status_code == 403
    assert "4 attempts left" in field_error(first, "telegram_code")
    assert last.status_code == after.status_code == 410
    assert "The secret is destroyed" in text(last)
    # Whoever typed the last wrong code is told why; whoever comes later is not.
    assert "too many wrong codes destroyed the secret" in text(last)
    assert "too many wrong codes" not in text(after)
    assert Secret.objects.get().state == "locked"
    assert Notification.objects.get().event == "locked"


def test_the_right_code_shows_it_byte_exact_and_uses_the_code_up(en):
    secret = for_alice()

    code = issue_code(ALICE, "alice")
    spaced = f"{code[:3]} {code[3:]}"  # as some apps show it
    opened = open_page(en, secret.id, telegram_code=spaced)

    assert opened.status_code == 200
    assert textarea(opened, "secret") == PLAINTEXT
    assert not UserCode.objects.filter(telegram_user_id=ALICE).exists()
    assert open_page(en, secret.id, telegram_code=code).status_code == 410


def test_a_right_code_with_a_wrong_passphrase_keeps_the_code(en):
    secret = for_alice(passphrase="open sesame")
    code = issue_code(ALICE, "alice")

    page = text(en.get(f"/s/{secret.id}"))
    wrong = open_page(en, secret.id, telegram_code=code, passphrase="open says me")
    right = open_page(en, secret.id, telegram_code=code, passphrase="open sesame")

    assert 'name="passphrase"' in page
    assert 'name="telegram_code"' in page
    assert wrong.status_code == 403
    assert "Wrong passphrase" in field_error(wrong, "passphrase")
    assert textarea(right, "secret") == PLAINTEXT


def test_the_receipt_says_for_whom_and_whether_the_sender_is_told(en):
    code = issue_code(BOB, "bobby")
    notified = make_secret(telegram_recipient="@alice", notify_telegram="bobby", notify_code=code)
    silent = make_secret()

    before = text(en.get(f"/r/{notified.receipt_token}"))
    open_page(en, notified.secret.id, telegram_code=issue_code(ALICE, "alice"))
    tombstone = text(en.get(f"/r/{notified.receipt_token}"))
    plain = text(en.get(f"/r/{silent.receipt_token}"))

    for page in (before, tombstone):
        assert '<dd class="telegram-for">@alice in Telegram</dd>' in page
        assert '<dd class="notify">On</dd>' in page
    assert "Read at" in tombstone
    assert "@alice" not in plain
    assert '<dd class="notify">Off</dd>' in plain


def test_the_receipt_says_when_wrong_codes_destroyed_it(en):
    created = make_secret(telegram_recipient="@alice")
    for _ in range(5):
        open_page(en, created.secret.id, telegram_code="1000000")

    page = text(en.get(f"/r/{created.receipt_token}"))

    assert "Destroyed after too many wrong Telegram codes." in page


def test_the_pages_speak_russian_by_default(client):
    secret = for_alice()

    page = text(client.get(f"/s/{secret.id}"))

    assert "Открыть этот секрет может только Telegram-аккаунт <strong>@alice</strong>" in page
