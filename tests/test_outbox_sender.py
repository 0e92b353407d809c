"""
The outbox's sender in this process: one pass (outbox.deliver_due) against the fake Bot API,
through the real python-telegram-bot client, and what each answer does to the outbox. The
same sender running inside runscheduler and runbot is tested in test_outbox_delivery.py.
"""

import asyncio
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.db import DatabaseError, connections
from django.utils import timezone
from prometheus_client import REGISTRY

from onetime.bot import client, outbox
from onetime.notices import services as notices
from onetime.notices.models import Notification
from tests.concurrency import race
from tests.fake_telegram import FakeTelegram
from tests.processes import BOT_TOKEN

# The sender's database work runs in another thread, on its own connection.
in_database = pytest.mark.django_db(transaction=True)

Event = Notification.Event
UTC = timezone.get_fixed_timezone(0)


@pytest.fixture(scope="module")
def fake_server() -> Iterator[FakeTelegram]:
    with FakeTelegram(BOT_TOKEN) as running:
        yield running


@pytest.fixture
def fake(fake_server: FakeTelegram, settings: Any) -> FakeTelegram:
    fake_server.reset()
    settings.TELEGRAM_BOT_TOKEN = BOT_TOKEN
    settings.TELEGRAM_API_BASE_URL = fake_server.url
    return fake_server


def deliver(stop: threading.Event | None = None) -> float:
    """Run one pass of the sender with a Bot of its own; return the pause it asks for."""

    async def once() -> float:
        bot = client.build_bot()
        try:
            async with bot:
                return await outbox.deliver_due(bot, stop or threading.Event())
        finally:
            # The sender's database work ran in asgiref's thread: close that connection,
            # or the test database could not be dropped at the end of the run.
            await sync_to_async(connections.close_all)()

    return asyncio.run(once())


def queue(count: int = 1, *, chat_id: int = 900_001, event: str = Event.READ) -> list[int]:
    now = timezone.now()
    notices.notifications_enqueue(
        (chat_id, f"{index:08x}-rest-of-the-id", event, now) for index in range(count)
    )
    return list(Notification.objects.order_by("pk").values_list("pk", flat=True))


def sample(name: str) -> float:
    return REGISTRY.get_sample_value(name) or 0.0


def counters() -> dict[str, float]:
    return {
        kind: sample(f"onetime_notifications_{kind}_total")
        for kind in ("sent", "failed", "dropped", "rate_limited")
    } | {"delays": sample("onetime_notification_delay_seconds_count")}


def increase(before: dict[str, float]) -> dict[str, float]:
    return {
        name: value - before[name] for name, value in counters().items() if value != before[name]
    }


# --- The text -------------------------------------------------------------------------------

AT = datetime(2026, 3, 1, 20, 59, tzinfo=UTC)  # 23:59 in Moscow (UTC+3), 1 March


@pytest.mark.parametrize(
    ("event", "what"),
    [
        (Event.READ, "👁 Секрет 3f2a9c1e прочитан"),
        (Event.EXPIRED, "⌛ Секрет 3f2a9c1e истёк непрочитанным"),
        (Event.BURNED, "🔥 Секрет 3f2a9c1e уничтожен отправителем"),
        (Event.LOCKED, "🔒 Секрет 3f2a9c1e уничтожен после неверных попыток"),
    ],
)
@pytest.mark.parametrize(
    ("now", "when"),
    [
        pytest.param(AT + timedelta(seconds=30), "в 23:59 (МСК)", id="same-day"),
        # 00:01 in Moscow is the next day there, while still 1 March in UTC.
        pytest.param(AT + timedelta(minutes=2), "01.03.2026 в 23:59 (МСК)", id="next-day"),
    ],
)
def test_the_text_names_the_prefix_what_happened_and_when_in_moscow(event, what, now, when):
    notification = Notification(secret_prefix="3f2a9c1e", event=event, happened_at=AT)

    assert outbox.notification_text(notification, now=now) == f"{what} {when}."


# --- One pass -------------------------------------------------------------------------------


@in_database
def test_a_delivered_notification_leaves_the_outbox_and_is_counted(fake):
    queue(chat_id=900_002)
    before = counters()

    assert deliver() == outbox.POLL_SECONDS  # the batch was not full

    [message] = fake.sent
    assert message["chat_id"] == 900_002
    assert message["text"].startswith("👁 Секрет 00000000 прочитан в ")
    assert not Notification.objects.exists()
    assert increase(before) == {"sent": 1, "delays": 1}


@in_database
def test_a_full_batch_asks_for_the_next_pass_at_once(fake):
    queue(outbox.BATCH + 1)

    assert deliver() == 0
    assert deliver() == outbox.POLL_SECONDS
    assert len(fake.sent) == outbox.BATCH + 1


@in_database
@pytest.mark.parametrize(
    ("status", "description"),
    [
        (403, "Forbidden: bot was blocked by the user"),
        (403, "Forbidden: user is deactivated"),
        (400, "Bad Request: chat not found"),
    ],
)
def test_a_chat_that_refuses_drops_the_notification_after_one_try(fake, status, description):
    refused, other = queue(2)
    fake.fail("sendMessage", status=status, description=description)
    before = counters()

    deliver()

    assert list(Notification.objects.values_list("pk", flat=True)) == []
    assert [p["chat_id"] for p in fake.params_of("sendMessage")] == [900_001, 900_001]
    assert len(fake.sent) == 1  # the other one
    assert increase(before) == {"sent": 1, "failed": 1, "dropped": 1, "delays": 1}
    assert refused < other


@in_database
def test_a_server_error_backs_off_and_gives_the_rest_of_the_batch_back(fake):
    failing, rest = queue(2)
    fake.fail("sendMessage", status=500)
    before = counters()
    started = timezone.now()

    assert deliver() == outbox.POLL_SECONDS

    retry = Notification.objects.get(pk=failing)
    assert retry.attempts == 1
    assert started + notices.FIRST_RETRY <= retry.next_attempt_at
    assert retry.next_attempt_at <= timezone.now() + notices.FIRST_RETRY
    given_back = Notification.objects.get(pk=rest)
    assert given_back.attempts == 0  # untried: its claim does not count
    assert given_back.next_attempt_at <= timezone.now()
    assert fake.sent == []
    assert increase(before) == {"failed": 1}

    deliver()  # the one given back goes now; the failed one waits for its back-off
    assert Notification.objects.get().pk == failing
    assert len(fake.sent) == 1


@in_database
def test_a_timeout_is_retried_like_an_outage(fake, monkeypatch):
    [pk] = queue()
    monkeypatch.setattr(client, "READ_TIMEOUT", 0.2)
    fake.delays["sendMessage"] = 1.0

    deliver()

    # Telegram took it but the answer came too late: the row stays for another try, the
    # duplicate that at-least-once allows (docs/design.md).
    row = Notification.objects.get(pk=pk)
    assert row.attempts == 1
    assert row.next_attempt_at > timezone.now()
    assert len(fake.sent) == 1


@in_database
def test_a_429_defers_the_whole_batch_for_retry_after_without_counting_a_try(fake):
    queue(3)
    fake.fail("sendMessage", status=429, description="Too Many Requests", retry_after=7)
    before = counters()
    started = timezone.now()

    assert deliver() == 7.0

    rows = list(Notification.objects.all())
    assert len(rows) == 3
    for row in rows:
        assert row.attempts == 0
        assert started + timedelta(seconds=7) <= row.next_attempt_at
        assert row.next_attempt_at <= timezone.now() + timedelta(seconds=7)
    assert fake.params_of("sendMessage")  # one try, the one answered 429
    assert len(fake.params_of("sendMessage")) == 1
    assert increase(before) == {"rate_limited": 1}


@in_database
def test_the_last_allowed_failure_drops_the_notification(fake):
    [pk] = queue()
    Notification.objects.filter(pk=pk).update(attempts=notices.MAX_ATTEMPTS - 1)
    fake.fail("sendMessage", status=502)
    before = counters()

    deliver()

    assert not Notification.objects.exists()
    assert increase(before) == {"failed": 1, "dropped": 1}


@in_database
def test_a_row_it_cannot_word_fails_alone_and_the_others_go_on(fake):
    bogus, good = queue(2)
    Notification.objects.filter(pk=bogus).update(event="unheard-of")

    deliver()
    deliver()

    assert [m["chat_id"] for m in fake.sent] == [900_001]
    assert list(Notification.objects.values_list("pk", "attempts")) == [(bogus, 1)]
    assert good not in Notification.objects.values_list("pk", flat=True)


@in_database
def test_no_send_starts_once_the_send_window_after_the_claim_has_passed(fake, monkeypatch):
    first, *rest = queue(3)
    monkeypatch.setattr(outbox, "SEND_WINDOW", 0.3)
    fake.delays["sendMessage"] = 0.5

    assert deliver() == 0  # the rest is due again at once

    assert len(fake.sent) == 1
    assert list(Notification.objects.order_by("pk").values_list("pk", "attempts")) == [
        (pk, 0) for pk in rest
    ]
    assert first not in Notification.objects.values_list("pk", flat=True)


@in_database
def test_a_stopping_sender_gives_its_untried_notifications_back(fake):
    queue(2)
    stop = threading.Event()
    stop.set()

    deliver(stop)

    assert fake.sent == []
    rows = list(Notification.objects.values_list("attempts", "next_attempt_at"))
    assert [attempts for attempts, _ in rows] == [0, 0]
    assert all(at <= timezone.now() for _, at in rows)


def test_every_send_ends_before_its_lease_could_pass_to_another_sender():
    assert notices.LEASE.total_seconds() > outbox.SEND_WINDOW + client.SEND_TIMEOUT


# --- The lease ------------------------------------------------------------------------------


@in_database
def test_a_sender_whose_lease_ran_out_does_not_move_the_new_holders_lease():
    queue()
    [mine] = notices.notifications_claim(limit=5)
    Notification.objects.update(next_attempt_at=timezone.now())  # the lease ran out
    [theirs] = notices.notifications_claim(limit=5)

    notices.notification_failed(mine, permanent=False)
    notices.notifications_release([mine])
    notices.notification_failed(mine, permanent=True)

    row = Notification.objects.get()
    assert row.attempts == theirs.attempts == 2
    assert row.next_attempt_at > timezone.now() + notices.LEASE - timedelta(seconds=5)


@in_database
def test_senders_claiming_at_once_never_share_a_notification():
    queue(60)

    outcomes = race(lambda: notices.notifications_claim(limit=5), racers=16)

    assert [o.error for o in outcomes if o.error] == []
    pks = [n.pk for o in outcomes for n in o.value]
    assert len(pks) == len(set(pks))
    assert len(pks) >= 5
    # Each row claimed once: one try counted, one lease.
    claimed = Notification.objects.filter(pk__in=pks)
    assert set(claimed.values_list("attempts", flat=True)) == {1}
    assert not Notification.objects.exclude(pk__in=pks).filter(attempts__gt=0).exists()


# --- The loop -------------------------------------------------------------------------------


@in_database
def test_the_loop_survives_a_database_error_and_keeps_delivering(fake, monkeypatch):
    queue()
    stop = threading.Event()
    claim = notices.notifications_claim
    calls = []

    def flaky_claim(*, limit: int) -> list[Notification]:
        calls.append(limit)
        if len(calls) == 1:
            raise DatabaseError("the server closed the connection")
        if len(calls) == 3:
            stop.set()
        return claim(limit=limit)

    monkeypatch.setattr(notices, "notifications_claim", flaky_claim)
    monkeypatch.setattr(outbox, "POLL_SECONDS", 0.05)

    async def loop() -> None:
        bot = client.build_bot()
        try:
            async with bot:
                await outbox.run(bot, stop)
        finally:
            await sync_to_async(connections.close_all)()

    asyncio.run(loop())

    assert len(calls) == 3
    assert len(fake.sent) == 1
    assert not Notification.objects.exists()
