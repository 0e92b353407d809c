"""
Notifications delivered by the real processes: `runscheduler` (with the default 300 s cleanup
interval) and `runbot` send what the outbox holds to the fake Bot API, within seconds of the
state change, through 5xx, 429, 403, a SIGKILL between send and mark, and with two senders
at once; their counts reach the web server's /metrics in multiprocess mode.

One set of processes serves the module, in order: the tests are a story (the scheduler
alone, then runbot beside it, then the scheduler killed and replaced).
"""

import json
import re
import signal
import subprocess
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from onetime.codes.models import BotIdentity
from onetime.notices import services as notices
from onetime.notices.models import Notification
from onetime.notices.services import LEASE
from onetime.vault import services
from onetime.vault.models import Secret
from tests.fake_telegram import FakeTelegram
from tests.processes import (
    BOT_TOKEN,
    RunningBot,
    RunningWeb,
    database_url,
    http_get,
    manage,
    service_env,
    start,
    start_bot,
    start_web,
    stop,
    wait_for_output,
)

pytestmark = pytest.mark.django_db(transaction=True)

Event = Notification.Event
DELIVERED = re.compile(r"outbox: notification (\d+) delivered")


@dataclass
class Stage:
    """The module's processes, started at once; each test reads what it needs."""

    fake: FakeTelegram
    metrics_dir: Path
    database: str
    logs: Path
    web: RunningWeb
    scheduler: subprocess.Popen[bytes]
    scheduler_log: Path
    bot: RunningBot

    def env(self) -> dict[str, str]:
        return sender_env(self.database, self.metrics_dir)

    def scheduler_output(self) -> str:
        return self.scheduler_log.read_text(errors="replace")


def sender_env(database: str, metrics_dir: Path) -> dict[str, str]:
    """The environment of a sender, less the bot token and the Bot API's URL."""
    return {
        "DATABASE_URL": database,
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
        "LOG_FORMAT": "plain",
        "PYTHONUNBUFFERED": "1",
    }


def launch_scheduler(fake: FakeTelegram, log: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    """Start runscheduler with the default cleanup interval (300 s); do not wait."""
    return start(
        manage("runscheduler"),
        service_env(
            TELEGRAM_BOT_TOKEN=BOT_TOKEN,
            TELEGRAM_API_BASE_URL=fake.url,
            CLEANUP_INTERVAL_SECONDS=None,
            **env,
        ),
        log,
    )


def wait_for_sender(log: Path, process: subprocess.Popen[bytes]) -> None:
    wait_for_output(log, "outbox: delivering notifications", process)


@pytest.fixture(scope="module")
def stage(
    django_db_setup: None, django_db_blocker: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stage]:
    logs = tmp_path_factory.mktemp("outbox")
    metrics_dir = logs / "metrics"
    metrics_dir.mkdir()
    database = database_url(connection.settings_dict)
    env = sender_env(database, metrics_dir)
    with django_db_blocker.unblock():
        BotIdentity.objects.all().delete()  # stored again by each sender at start
    with FakeTelegram(BOT_TOKEN) as fake, ExitStack() as stack:
        # Started together (start_bot and start_web wait), to overlap their start-ups.
        scheduler_log = logs / "scheduler.log"
        scheduler = launch_scheduler(fake, scheduler_log, env)
        stack.callback(stop, scheduler)
        bot = start_bot(fake, logs / "runbot.log", **env)
        stack.callback(stop, bot.process)
        web_env = {name: value for name, value in env.items() if name != "DATABASE_URL"}
        web = start_web(database, logs / "web.log", METRICS_TOKEN="", **web_env)
        stack.callback(stop, web.process)
        wait_for_sender(scheduler_log, scheduler)
        wait_for_sender(bot.log, bot.process)
        running = Stage(fake, metrics_dir, database, logs, web, scheduler, scheduler_log, bot)
        # A test replaces the scheduler: stop whichever runs at the end.
        stack.callback(lambda: stop(running.scheduler))
        yield running


@pytest.fixture(autouse=True)
def _telegram(settings: Any, stage: Stage) -> None:
    # This process creates secrets that notify: it must see a bot configured.
    settings.TELEGRAM_BOT_TOKEN = BOT_TOKEN
    stage.fake.reset()


def notifying_secret(chat_id: int, plaintext: str = "the secret", **options: Any) -> Any:
    return services.secret_create(
        plaintext=plaintext,
        ttl=options.pop("ttl", None),
        passphrase=None,
        client_ip="192.0.2.1",
        notify_chat_id=chat_id,
    )


def queue(chat_id: int, count: int = 1) -> None:
    now = timezone.now()
    notices.notifications_enqueue(
        (chat_id + index, uuid.uuid4(), Event.BURNED, now) for index in range(count)
    )


def eventually(condition: Callable[[], bool], timeout: float = 15.0) -> float:
    """Wait until ``condition()`` holds; return the monotonic time it was first seen true."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s")
        time.sleep(0.02)
    return time.monotonic()


def sent_to(fake: FakeTelegram, chat_id: int) -> list[str]:
    return [m["text"] for m in list(fake.sent) if m["chat_id"] == chat_id]


def sends(fake: FakeTelegram) -> int:
    return len(fake.params_of("sendMessage"))


def scrape(stage: Stage) -> dict[str, float]:
    answer = http_get(f"{stage.web.url}/metrics")
    assert answer.status == 200
    return {
        sample.name: sample.value
        for family in text_string_to_metric_families(answer.body.decode())
        for sample in family.samples
        if sample.name.startswith("onetime_notification")
    }


def reveal_on_the_web(stage: Stage, secret_id: object) -> str:
    """POST the API's reveal to the web server; return the secret it answers."""
    request = urllib.request.Request(  # noqa: S310 - the local test server
        f"{stage.web.url}/api/v1/secrets/{secret_id}/reveal",
        data=b"",
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        return str(json.loads(response.read())["secret"])


# --- Both senders running --------------------------------------------------------------------


def test_each_sender_stores_the_bots_username_from_getme_at_start(stage):
    stored = "outbox: the bot is @onetime_test_bot"
    assert stored in stage.scheduler_output()
    assert stored in stage.bot.output()
    assert "scheduler: cleanup every 300 s" in stage.scheduler_output()
    # Polling still answers while runbot delivers.
    assert stage.bot.ask("/help", user_id=710_030)["chat_id"] == 710_030


def test_a_reveal_on_the_web_reaches_the_sender_within_seconds(stage):
    plaintext = f"CANARY-{uuid.uuid4().hex}"
    secret = notifying_secret(710_001, plaintext).secret

    answer = reveal_on_the_web(stage, secret.id)
    revealed = time.monotonic()

    assert answer == plaintext
    arrived = eventually(lambda: bool(sent_to(stage.fake, 710_001)))
    assert arrived - revealed < 5.0  # the poll is 1 s; the cleanup pass is 300 s away
    [text] = sent_to(stage.fake, 710_001)
    assert text.startswith(f"👁 Секрет {str(secret.id)[:8]} прочитан в ")
    assert plaintext not in text
    assert str(secret.id) not in text
    eventually(lambda: not Notification.objects.exists())


def test_a_server_error_is_retried_after_its_back_off_and_delivered(stage):
    stage.fake.fail("sendMessage", status=500)
    queue(710_002)
    failed_at = timezone.now()

    eventually(lambda: sends(stage.fake) == 1)
    # The failure recorded: the lease (60 s) gives way to the back-off (FIRST_RETRY).
    eventually(lambda: Notification.objects.get().next_attempt_at < timezone.now() + LEASE / 2)
    row = Notification.objects.get()
    assert row.attempts == 1
    assert row.next_attempt_at >= failed_at + notices.FIRST_RETRY
    assert sent_to(stage.fake, 710_002) == []
    # Rather than wait out the back-off, bring the next try forward.
    Notification.objects.update(next_attempt_at=timezone.now())

    eventually(lambda: not Notification.objects.exists())
    assert len(sent_to(stage.fake, 710_002)) == 1
    assert sends(stage.fake) == 2


def test_a_429_holds_every_notification_for_retry_after_then_delivers_them(stage):
    stage.fake.fail("sendMessage", status=429, description="Too Many Requests", retry_after=2)
    queue(710_010, count=2)

    refused_at = eventually(lambda: sends(stage.fake) >= 1)
    next_try = eventually(lambda: sends(stage.fake) >= 2)
    eventually(lambda: not Notification.objects.exists())

    assert next_try - refused_at >= 1.9  # retry_after, for both notifications
    assert sorted(m["chat_id"] for m in stage.fake.sent) == [710_010, 710_011]
    assert sends(stage.fake) == 3


def test_a_chat_that_blocked_the_bot_is_dropped_after_one_try_and_counted(stage):
    before = scrape(stage)
    stage.fake.fail("sendMessage", status=403, description="Forbidden: bot was blocked by the user")
    queue(710_020)
    eventually(lambda: sends(stage.fake) == 1)
    secret = notifying_secret(710_021).secret

    assert reveal_on_the_web(stage, secret.id) == "the secret"

    # An empty outbox sends nothing more: the refused one was not kept for a retry.
    eventually(lambda: not Notification.objects.exists())
    assert [p["chat_id"] for p in stage.fake.params_of("sendMessage")] == [710_020, 710_021]
    # The web server counted what it queued, the senders what they sent, failed and
    # dropped; the web server's /metrics adds them up.
    after = scrape(stage)
    increase = {name: after[name] - before.get(name, 0.0) for name in after}
    assert increase["onetime_notifications_queued_total"] == 1  # the reveal (queue() is here)
    assert increase["onetime_notifications_sent_total"] == 1
    assert increase["onetime_notifications_failed_total"] == 1
    assert increase["onetime_notifications_dropped_total"] == 1
    assert increase["onetime_notification_delay_seconds_count"] == 1
    assert after["onetime_notifications_rate_limited_total"] >= 1  # the 429 test's


def test_two_senders_at_once_deliver_each_notification_exactly_once(stage):
    # Each send takes a little while, so that neither sender empties the outbox alone
    # before the other's next look (1 s).
    stage.fake.delays["sendMessage"] = 0.05
    queue(720_000, count=50)

    # Rows go only once sent: an empty outbox means every send has happened.
    eventually(lambda: not Notification.objects.exists(), timeout=30)

    chats = sorted(m["chat_id"] for m in stage.fake.sent)
    assert chats == list(range(720_000, 720_050))
    by_scheduler = set(DELIVERED.findall(stage.scheduler_output()))
    by_bot = set(DELIVERED.findall(stage.bot.output()))
    assert by_scheduler
    assert by_bot
    assert not by_scheduler & by_bot


def test_runbot_stops_cleanly_on_sigterm(stage):
    started = time.monotonic()
    stage.bot.process.send_signal(signal.SIGTERM)
    exit_code = stage.bot.process.wait(timeout=10)

    assert exit_code == 0
    assert time.monotonic() - started < 5.0
    output = stage.bot.output()
    assert "outbox: stopped" in output
    assert output.rstrip().endswith("bot: stopped")
    assert "Traceback" not in output
    assert BOT_TOKEN.split(":")[1] not in output


# --- The scheduler alone, killed between send and mark ------------------------------------


def test_a_sender_killed_between_send_and_mark_sends_it_again_once_after_the_lease(stage):
    assert stage.bot.process.poll() is not None  # the scheduler is the only sender
    stage.fake.delays["sendMessage"] = 30.0  # Telegram took it; its answer is held
    queue(730_001)
    eventually(lambda: len(sent_to(stage.fake, 730_001)) == 1)

    stage.scheduler.send_signal(signal.SIGKILL)
    stage.scheduler.wait(timeout=10)

    row = Notification.objects.get()
    assert row.attempts == 1
    assert row.next_attempt_at > timezone.now() + LEASE / 2  # still leased to the dead one
    # Rather than wait out the 60 s lease, end it. Meanwhile a secret expires unread, for
    # the next scheduler's first cleanup pass to queue.
    Notification.objects.update(next_attempt_at=timezone.now())
    expiring = notifying_secret(730_002).secret
    Secret.objects.filter(pk=expiring.pk).update(expires_at=timezone.now())
    stage.fake.delays.clear()
    before = scrape(stage)

    stage.scheduler_log = stage.logs / "scheduler-2.log"
    stage.scheduler = launch_scheduler(stage.fake, stage.scheduler_log, stage.env())

    eventually(lambda: len(sent_to(stage.fake, 730_002)) == 1)
    eventually(lambda: not Notification.objects.exists())
    first, again = sent_to(stage.fake, 730_001)
    assert again == first  # the one duplicate that at-least-once allows
    [expired] = sent_to(stage.fake, 730_002)
    assert expired.startswith(f"⌛ Секрет {str(expiring.id)[:8]} истёк непрочитанным в ")
    # Queued by the new scheduler's cleanup pass, and counted at /metrics too.
    after = scrape(stage)
    queued = "onetime_notifications_queued_total"
    assert after[queued] - before[queued] == 1


def test_the_scheduler_stops_promptly_on_sigterm(stage):
    wait_for_sender(stage.scheduler_log, stage.scheduler)
    started = time.monotonic()
    stage.scheduler.send_signal(signal.SIGTERM)
    exit_code = stage.scheduler.wait(timeout=10)

    assert exit_code == 0
    assert time.monotonic() - started < 5.0
    output = stage.scheduler_output()
    assert "outbox: stopped" in output
    assert output.rstrip().endswith("scheduler: stopped")
    assert "Traceback" not in output
    assert BOT_TOKEN.split(":")[1] not in output
