"""
Queueing a sender's notification (PRODUCT.md §3.6): every way a secret ends writes exactly
one row to the outbox, in the transaction that ends it, when the secret has a chat to
notify; none otherwise. The row never holds the secret.
"""

import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone
from prometheus_client import REGISTRY

from onetime.cleanup.services import cleanup_run
from onetime.codes import services as codes
from onetime.core.errors import Unavailable
from onetime.notices.models import Notification
from onetime.vault import services
from onetime.vault.models import Secret
from tests.processes import BOT_TOKEN

pytestmark = pytest.mark.django_db

Event = Notification.Event
SENDER_CHAT = 700_100
RECIPIENT = 700_200
T0 = datetime(2026, 3, 2, 9, 30, tzinfo=timezone.get_fixed_timezone(0))


@pytest.fixture(autouse=True)
def _bot(settings):
    settings.TELEGRAM_BOT_TOKEN = BOT_TOKEN
    settings.ONETIME_RATE_CREATE = settings.ONETIME_RATE_REVEAL = None
    settings.ONETIME_RATE_LOOKUP = None


def canary() -> str:
    return f"CANARY-{uuid.uuid4().hex}"


def make(
    plaintext: str = "the secret", *, notify: bool = True, **options: Any
) -> services.CreatedSecret:
    return services.secret_create(
        plaintext=plaintext,
        ttl=options.pop("ttl", None),
        passphrase=options.pop("passphrase", None),
        client_ip="192.0.2.1",
        notify_chat_id=SENDER_CHAT if notify else None,
        **options,
    )


def reveal(secret: Secret, **options: Any) -> services.Revealed:
    return services.secret_reveal(
        secret_id=secret.id,
        passphrase=options.pop("passphrase", None),
        client_ip="192.0.2.1",
        **options,
    )


def queued() -> list[tuple[int, str, str, datetime]]:
    return list(
        Notification.objects.order_by("pk").values_list(
            "chat_id", "secret_prefix", "event", "happened_at"
        )
    )


def queued_metric() -> float:
    return REGISTRY.get_sample_value("onetime_notifications_queued_total") or 0.0


def test_a_plain_reveal_queues_one_read_notification_with_its_moment(
    time_machine, django_capture_on_commit_callbacks
):
    time_machine.move_to(T0, tick=False)
    secret = make().secret
    before = queued_metric()

    with django_capture_on_commit_callbacks(execute=True):
        reveal(secret)

    assert queued() == [(SENDER_CHAT, str(secret.id)[:8], Event.READ, T0)]
    assert queued_metric() == before + 1


def test_a_passphrase_reveal_queues_one_read_notification():
    secret = make(passphrase="open sesame").secret

    reveal(secret, passphrase="open sesame")

    [(chat, prefix, event, _)] = queued()
    assert (chat, prefix, event) == (SENDER_CHAT, str(secret.id)[:8], Event.READ)


def test_a_telegram_bound_reveal_queues_one_read_notification():
    secret = make(telegram_recipient=str(RECIPIENT)).secret
    code = codes.code_issue(telegram_user_id=RECIPIENT, username=None, first_name="R").code

    reveal(secret, telegram_code=code)

    assert [event for _, _, event, _ in queued()] == [Event.READ]


def test_a_burn_queues_one_burned_notification(time_machine):
    time_machine.move_to(T0, tick=False)
    created = make()

    services.receipt_burn(token=created.receipt_token, client_ip="192.0.2.1")
    services.receipt_burn(token=created.receipt_token, client_ip="192.0.2.1")  # idempotent

    assert queued() == [(SENDER_CHAT, str(created.secret.id)[:8], Event.BURNED, T0)]


@pytest.mark.parametrize("passphrase", [None, "open sesame"])
def test_a_reveal_after_the_ttl_wipes_it_and_queues_one_expired_notification(
    time_machine, passphrase
):
    time_machine.move_to(T0, tick=False)
    secret = make(ttl=60, passphrase=passphrase).secret
    time_machine.shift(timedelta(seconds=90))

    for _ in range(2):
        with pytest.raises(services.SecretGone):
            reveal(secret, passphrase=passphrase)

    expired_at = T0 + timedelta(seconds=60)
    assert queued() == [(SENDER_CHAT, str(secret.id)[:8], Event.EXPIRED, expired_at)]
    assert Secret.objects.get(pk=secret.pk).state == Secret.State.EXPIRED


def test_the_cleanup_pass_queues_one_expired_notification_per_notifying_secret(time_machine):
    time_machine.move_to(T0, tick=False)
    notifying = [make(ttl=60).secret for _ in range(3)]
    silent = make(ttl=60, notify=False).secret
    time_machine.shift(timedelta(seconds=61))

    counts = cleanup_run(batch_size=2)  # more notifying secrets than one batch
    cleanup_run()

    assert counts is not None
    assert counts.expired_secrets == 4
    expired_at = T0 + timedelta(seconds=60)
    assert sorted(queued()) == sorted(
        (SENDER_CHAT, str(s.id)[:8], Event.EXPIRED, expired_at) for s in notifying
    )
    assert Secret.objects.get(pk=silent.pk).state == Secret.State.EXPIRED


@pytest.mark.parametrize("guess", ["passphrase", "telegram_code"])
def test_five_wrong_guesses_queue_exactly_one_locked_notification(guess):
    if guess == "passphrase":
        secret = make(passphrase="right").secret
        attempt = {"passphrase": "wrong"}
    else:
        secret = make(telegram_recipient=str(RECIPIENT)).secret
        attempt = {"telegram_code": "1000000"}

    for _ in range(4):
        with pytest.raises((services.WrongPassphrase, services.WrongTelegramCode)):
            reveal(secret, **attempt)
    assert queued() == []

    with pytest.raises(services.SecretGone):
        reveal(secret, **attempt)  # the fifth destroys it

    assert [event for _, _, event, _ in queued()] == [Event.LOCKED]
    with pytest.raises(services.SecretGone):
        reveal(secret, **attempt)
    assert len(queued()) == 1


def test_a_reveal_that_cannot_decrypt_rolls_back_and_queues_nothing(
    settings, django_capture_on_commit_callbacks
):
    secret = make().secret
    before = queued_metric()
    settings.ONETIME_ENCRYPTION_KEYS = [b"another key, not the one used".ljust(32, b".")]

    with django_capture_on_commit_callbacks(execute=True), pytest.raises(Unavailable):
        reveal(secret)

    assert queued() == []
    assert queued_metric() == before
    assert Secret.objects.get(pk=secret.pk).state == Secret.State.ACTIVE


def fail_to_queue(*args: Any, **kwargs: Any) -> None:
    raise RuntimeError("the outbox insert failed")


@pytest.mark.parametrize("ending", ["reveal", "passphrase", "burn", "cleanup"])
def test_a_failed_insert_into_the_outbox_undoes_the_state_change(monkeypatch, time_machine, ending):
    time_machine.move_to(T0, tick=False)
    created = make(ttl=60, passphrase="p" if ending == "passphrase" else None)
    monkeypatch.setattr(Notification.objects, "bulk_create", fail_to_queue)

    if ending == "cleanup":
        time_machine.shift(timedelta(seconds=61))
    end = {
        "reveal": lambda: reveal(created.secret),
        "passphrase": lambda: reveal(created.secret, passphrase="p"),
        "burn": lambda: services.receipt_burn(token=created.receipt_token, client_ip="192.0.2.1"),
        "cleanup": cleanup_run,
    }[ending]

    with pytest.raises(RuntimeError, match="outbox insert"):
        end()

    secret = Secret.objects.get(pk=created.secret.pk)
    assert (secret.state, secret.ended_at) == (Secret.State.ACTIVE, None)
    assert secret.ciphertext is not None


def test_a_secret_without_a_chat_to_notify_queues_nothing(time_machine):
    time_machine.move_to(T0, tick=False)
    revealed, burned, locked = (make(notify=False, passphrase="p") for _ in range(3))
    expired = make(notify=False, ttl=60)

    reveal(revealed.secret, passphrase="p")
    services.receipt_burn(token=burned.receipt_token, client_ip="192.0.2.1")
    for _ in range(5):
        with pytest.raises((services.WrongPassphrase, services.SecretGone)):
            reveal(locked.secret, passphrase="wrong")
    time_machine.shift(timedelta(seconds=61))
    with pytest.raises(services.SecretGone):
        reveal(expired.secret)  # wiped at reveal time
    cleanup_run()

    states = set(Secret.objects.values_list("state", flat=True))
    assert states == {"revealed", "burned", "locked", "expired"}
    assert queued() == []


def test_the_outbox_row_holds_no_secret_and_no_passphrase():
    plaintext, passphrase = canary(), canary()
    created = make(plaintext, passphrase=passphrase)

    assert reveal(created.secret, passphrase=passphrase).plaintext == plaintext

    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM notifications")
        rows = cursor.fetchall()
    dump = repr(rows)
    assert len(rows) == 1
    assert str(created.secret.id)[:8] in dump
    for value in (plaintext, passphrase, str(created.secret.id), created.receipt_token):
        assert value not in dump
