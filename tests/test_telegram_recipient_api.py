"""
Secrets for one Telegram user (PRODUCT.md §2.6) through the JSON API: the table status by
status, binding the username to an account, and the checks on what the sender names.
Codes are issued as the bot's /code issues them (codes.services.code_issue).
"""

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.test import Client

from onetime.codes.models import BotIdentity, UserCode
from onetime.notices.models import Notification
from onetime.vault import services
from onetime.vault.models import Secret
from tests.conftest import TEST_BOT, issue_code, make_secret, post_json, wrong_code

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_rate_limits", "telegram_bot")]

ALICE, BOB, CAROL, MALLORY = 4242, 1001, 5151, 6666
PLAINTEXT = "  user: admin\n\tпароль — ключ 🔑 \r\n  "
T0 = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)


def create(client: Client, **fields: Any) -> Any:
    return post_json(client, "/api/v1/secrets", {"secret": PLAINTEXT, **fields})


def reveal(client: Client, secret_id: object, **fields: Any) -> Any:
    return post_json(client, f"/api/v1/secrets/{secret_id}/reveal", fields)


def for_alice(**kwargs: Any) -> Secret:
    return make_secret(PLAINTEXT, telegram_recipient="@alice", **kwargs).secret


def row(secret_id: Any) -> Secret:
    return Secret.objects.get(pk=secret_id)


def test_it_binds_the_secret_at_creation_when_the_account_is_known(client):
    issue_code(ALICE, "Alice")

    response = create(client, telegram_recipient="@Alice")

    assert response.status_code == 201
    body = response.json()
    assert (body["telegram_recipient"], body["notify"]) == ("@Alice", False)
    stored = row(body["id"])
    assert (stored.telegram_recipient, stored.recipient_id) == ("@Alice", ALICE)
    assert stored.recipient_username is None


@pytest.mark.parametrize("written", ["alice", "@alice"])
def test_a_username_is_normalised_to_at_name(client, written):
    response = create(client, telegram_recipient=written)

    assert response.status_code == 201
    assert response.json()["telegram_recipient"] == "@alice"


def test_the_metadata_names_the_recipient_and_the_bot_and_consumes_nothing(client):
    secret = for_alice()

    for _ in range(3):
        meta = client.get(f"/api/v1/secrets/{secret.id}")
        assert meta.status_code == 200
        assert meta.json()["telegram_recipient"] == "@alice"
        assert meta.json()["telegram_bot"] == f"@{TEST_BOT}"

    assert reveal(client, secret.id, telegram_code=issue_code(ALICE, "alice")).status_code == 200


def test_without_a_code_it_asks_for_one_and_counts_nothing(client):
    secret = for_alice(passphrase="open sesame")

    # More than the five wrong codes allowed: none of these counts as one.
    bodies: list[dict[str, Any]] = [{}, {"telegram_code": None}, {"telegram_code": ""}]
    for body in bodies * 2:
        response = reveal(client, secret.id, passphrase="open sesame", **body)
        assert response.status_code == 403
        assert response.json() == {
            "status": "telegram_code_required",
            "detail": response.json()["detail"],
            "telegram_recipient": "@alice",
            "telegram_bot": f"@{TEST_BOT}",
        }
        assert "@alice" in response.json()["detail"]

    assert (row(secret.id).state, row(secret.id).failed_codes) == ("active", 0)
    code = issue_code(ALICE, "alice")
    opened = reveal(client, secret.id, passphrase="open sesame", telegram_code=code)
    assert opened.json() == {"secret": PLAINTEXT}


def test_someone_elses_code_is_a_wrong_code(client):
    secret = for_alice()
    alices = issue_code(ALICE, "alice")
    mallorys = issue_code(MALLORY, "mallory")

    response = reveal(client, secret.id, telegram_code=mallorys)

    assert response.status_code == 403
    assert response.json()["status"] == "wrong_telegram_code"
    assert response.json()["attempts_left"] == 4
    assert row(secret.id).failed_codes == 1
    assert reveal(client, secret.id, telegram_code=alices).json() == {"secret": PLAINTEXT}


def test_an_expired_code_is_a_wrong_code(client):
    with time_machine.travel(T0, tick=False):
        secret = for_alice()
        code = issue_code(ALICE, "alice")
    with time_machine.travel(T0 + timedelta(minutes=5, seconds=1), tick=False):
        response = reveal(client, secret.id, telegram_code=code)

    assert response.status_code == 403
    assert response.json()["status"] == "wrong_telegram_code"
    assert row(secret.id).state == "active"


def test_a_used_code_is_a_wrong_code(client):
    first, second = for_alice(), for_alice()
    code = issue_code(ALICE, "alice")
    assert reveal(client, first.id, telegram_code=code).status_code == 200

    response = reveal(client, second.id, telegram_code=code)

    assert response.status_code == 403
    assert response.json()["status"] == "wrong_telegram_code"


def test_the_right_code_opens_it_byte_exact_once_and_is_used_up(client):
    secret = for_alice()
    code = issue_code(ALICE, "alice")

    first = reveal(client, secret.id, telegram_code=code)
    again = reveal(client, secret.id, telegram_code=code)

    assert first.status_code == 200
    assert first.json() == {"secret": PLAINTEXT}
    assert not UserCode.objects.filter(telegram_user_id=ALICE).exists()
    assert again.status_code == 410
    assert again.json()["status"] == "destroyed"
    assert (row(secret.id).state, row(secret.id).ciphertext) == ("revealed", None)


def test_five_wrong_codes_destroy_it_and_tell_the_sender(client):
    bob_code = issue_code(BOB, "bobby")
    created = create(
        client, telegram_recipient="@alice", notify_telegram="@bobby", notify_code=bob_code
    )
    assert created.json()["notify"] is True
    secret_id = created.json()["id"]
    code = issue_code(ALICE, "alice")

    lefts = []
    for _ in range(4):
        response = reveal(client, secret_id, telegram_code=wrong_code(code))
        assert response.status_code == 403
        assert response.json()["status"] == "wrong_telegram_code"
        lefts.append(response.json()["attempts_left"])
    last = reveal(client, secret_id, telegram_code=wrong_code(code))

    assert lefts == [4, 3, 2, 1]
    assert last.status_code == 410
    assert last.json()["status"] == "destroyed"
    assert (row(secret_id).state, row(secret_id).ciphertext) == ("locked", None)
    assert reveal(client, secret_id, telegram_code=code).status_code == 410
    notice = Notification.objects.get()
    assert (notice.chat_id, notice.event, notice.secret_prefix) == (BOB, "locked", secret_id[:8])


def test_a_right_code_with_a_wrong_passphrase_keeps_the_code(client):
    secret = for_alice(passphrase="open sesame")
    code = issue_code(ALICE, "alice")

    missing = reveal(client, secret.id, telegram_code=code)
    wrong = reveal(client, secret.id, telegram_code=code, passphrase="open says me")
    right = reveal(client, secret.id, telegram_code=code, passphrase="open sesame")

    assert (missing.status_code, missing.json()["status"]) == (403, "passphrase_required")
    assert (wrong.status_code, wrong.json()["status"]) == (403, "wrong_passphrase")
    assert right.json() == {"secret": PLAINTEXT}
    assert (row(secret.id).failed_attempts, row(secret.id).failed_codes) == (1, 0)


def test_a_username_nobody_used_yet_is_bound_at_first_contact(client):
    secret = make_secret(PLAINTEXT, telegram_recipient="@Carol").secret
    assert (row(secret.id).recipient_username, row(secret.id).recipient_id) == ("carol", None)

    carols = issue_code(CAROL, "carol")
    bound = services.secrets_bind_recipient(telegram_user_id=CAROL, username="carol")

    assert bound == 1
    assert (row(secret.id).recipient_username, row(secret.id).recipient_id) == (None, CAROL)
    # Mallory takes the username over: the secret follows Carol's account, not the name.
    mallorys = issue_code(MALLORY, "carol")
    refused = reveal(client, secret.id, telegram_code=mallorys)
    assert (refused.status_code, refused.json()["status"]) == (403, "wrong_telegram_code")
    assert reveal(client, secret.id, telegram_code=carols).json() == {"secret": PLAINTEXT}


def test_an_unbound_secret_opens_for_whoever_holds_the_username_until_it_is_bound(client):
    # What the docs promise before binding: the username is all that is known.
    secret = make_secret(PLAINTEXT, telegram_recipient="@carol").secret
    code = issue_code(CAROL, "carol")

    assert reveal(client, secret.id, telegram_code=code).json() == {"secret": PLAINTEXT}


@pytest.mark.parametrize("written", [ALICE, str(ALICE)], ids=["integer", "digits"])
def test_a_numeric_id_names_the_account(client, written):
    response = create(client, telegram_recipient=written)

    assert response.status_code == 201
    assert response.json()["telegram_recipient"] == str(ALICE)
    secret_id = response.json()["id"]
    assert row(secret_id).recipient_id == ALICE
    meta = client.get(f"/api/v1/secrets/{secret_id}").json()
    assert meta["telegram_recipient"] == str(ALICE)
    wrong = reveal(client, secret_id, telegram_code=issue_code(MALLORY, "alice"))
    assert wrong.status_code == 403
    assert reveal(client, secret_id, telegram_code=issue_code(ALICE, None)).status_code == 200


@pytest.mark.parametrize(
    "value",
    [
        "@ali",
        "@alice!",
        "1alice",
        "@_alice",
        "a" * 33,
        " @alice",
        "@alice\n",
        "ａｌｉｃｅ",
        "0",
        "-5",
        "١٢٣٤٥",
        "1" * 19,
        0,
        -5,
        10**18,
    ],
)
def test_an_impossible_account_is_refused_and_nothing_is_stored(client, value):
    response = create(client, telegram_recipient=value)

    assert response.status_code == 400
    assert response.json()["status"] == "invalid_telegram_account"
    assert "telegram_recipient" in response.json()["detail"]
    assert "@username" in response.json()["detail"]
    assert not Secret.objects.exists()


@pytest.mark.parametrize("value", [True, 1.5, ["@alice"], {"id": 1}])
def test_a_telegram_recipient_of_the_wrong_type_is_refused(client, value):
    response = create(client, telegram_recipient=value)

    assert response.status_code == 400
    assert response.json()["status"] == "invalid"
    assert response.json()["detail"].startswith("telegram_recipient: ")
    assert not Secret.objects.exists()


def test_notify_with_the_senders_code_notifies_and_uses_the_code(client):
    code = issue_code(BOB, "bobby")

    response = create(client, notify_telegram="@Bobby", notify_code=code)

    assert response.status_code == 201
    assert (response.json()["notify"], response.json()["telegram_recipient"]) == (True, None)
    assert row(response.json()["id"]).notify_chat_id == BOB
    assert not UserCode.objects.filter(telegram_user_id=BOB).exists()


@pytest.mark.parametrize(
    "fields",
    [
        {"notify_telegram": "@bobby", "notify_code": "wrong"},
        {"notify_telegram": "@bobby", "notify_code": "alice's"},
        {"notify_telegram": BOB + 1, "notify_code": "bob's"},
    ],
    ids=["wrong", "another account's", "another account named"],
)
def test_notify_without_a_code_that_proves_the_account_is_refused(client, fields):
    bobs, alices = issue_code(BOB, "bobby"), issue_code(ALICE, "alice")
    code = {"wrong": wrong_code(bobs), "alice's": alices, "bob's": bobs}[fields["notify_code"]]

    response = create(client, **{**fields, "notify_code": code}, telegram_recipient="@alice")

    assert response.status_code == 400
    assert response.json()["status"] == "wrong_notify_code"
    assert not Secret.objects.exists()


@pytest.mark.parametrize(
    "fields",
    [
        {"notify_telegram": "@bobby"},
        {"notify_code": "1234567"},
        {"notify_telegram": "@b", "notify_code": "1234567"},
    ],
    ids=["no code", "no account", "impossible account"],
)
def test_half_a_notify_request_is_refused(client, fields):
    response = create(client, **fields)

    assert response.status_code == 400
    assert response.json()["status"] in {"invalid", "invalid_telegram_account"}
    assert "notify_" in response.json()["detail"]
    assert not Secret.objects.exists()


@pytest.mark.parametrize(
    "fields",
    [{"telegram_recipient": "@alice"}, {"notify_telegram": "@bobby", "notify_code": "1234567"}],
    ids=["recipient", "notify"],
)
def test_without_a_bot_the_telegram_fields_are_refused(client, settings, fields):
    settings.TELEGRAM_BOT_TOKEN = ""
    issue_code(BOB, "bobby")

    response = create(client, **fields)

    assert response.status_code == 400
    assert response.json()["status"] == "telegram_not_configured"
    assert "TELEGRAM_BOT_TOKEN" in response.json()["detail"]
    assert not Secret.objects.exists()
    assert UserCode.objects.filter(telegram_user_id=BOB).exists()


def test_when_the_bots_name_is_unknown_the_api_says_null(client, settings):
    settings.TELEGRAM_BOT_USERNAME = ""
    # Nor stored: a bot process started by an earlier test may have left one behind.
    BotIdentity.objects.all().delete()
    secret = for_alice()

    assert client.get(f"/api/v1/secrets/{secret.id}").json()["telegram_bot"] is None
    assert reveal(client, secret.id).json()["telegram_bot"] is None

    BotIdentity.objects.create(pk=1, username="stored_bot", updated_at=T0)
    assert client.get(f"/api/v1/secrets/{secret.id}").json()["telegram_bot"] == "@stored_bot"


def test_the_receipt_names_the_recipient_also_in_the_tombstone(client):
    code = issue_code(BOB, "bobby")
    created = make_secret(
        PLAINTEXT, telegram_recipient="@alice", notify_telegram="bobby", notify_code=code
    )
    path = f"/api/v1/receipts/{created.receipt_token}"
    before = client.get(path).json()

    reveal(client, created.secret.id, telegram_code=wrong_code(issue_code(ALICE, "alice")))
    reveal(client, created.secret.id, telegram_code=issue_code(ALICE, "alice"))
    after = client.get(path).json()

    assert (before["state"], before["telegram_recipient"], before["notify"]) == (
        "active",
        "@alice",
        True,
    )
    assert (after["state"], after["telegram_recipient"], after["notify"]) == (
        "revealed",
        "@alice",
        True,
    )
    assert after["failed_codes"] == 1


def test_no_code_and_no_secret_reaches_the_logs_or_an_error_answer(client, caplog):
    caplog.set_level(logging.DEBUG)
    canary = "canary-7f3e9b1c-telegram-bound"
    bob_code = issue_code(BOB, "bobby")
    created = create(
        client,
        secret=canary,
        telegram_recipient="@alice",
        notify_telegram="@bobby",
        notify_code=bob_code,
    ).json()
    code = issue_code(ALICE, "alice")
    wrong = wrong_code(code)

    answers = [
        create(client, notify_telegram="@bobby", notify_code=wrong),
        reveal(client, created["id"], telegram_code=wrong),
        reveal(client, created["id"], telegram_code=code),
    ]

    assert answers[-1].json() == {"secret": canary}
    for value in (canary, bob_code, code, wrong):
        assert value not in caplog.text
        for answer in answers[:-1]:
            assert value not in answer.content.decode()
