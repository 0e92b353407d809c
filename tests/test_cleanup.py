"""
The cleanup pass (PRODUCT.md §3.4): expired codes deleted in batches, expired secrets wiped
to tombstones, old tombstones and ended rate-limit windows purged, the counts logged; safe
when several replicas run it at once; a one-shot command and a long-running scheduler.
"""

import io
import logging
import signal
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from onetime.cleanup.management.commands import runscheduler
from onetime.cleanup.services import LOCK_NAME, CleanupCounts, cleanup_run
from onetime.codes.models import UserCode
from onetime.core.locks import try_exclusive
from onetime.core.models import RateLimitHit
from onetime.vault.models import Secret
from tests.concurrency import race
from tests.conftest import make_secret, post_json
from tests.processes import database_url, manage, service_env, start, stop, wait_for_output

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
BATCH = 10_000


def make_codes(count: int, *, expired: bool, first: int) -> None:
    """
    Store ``count`` codes of distinct users, expired a minute ago or active for 5 minutes.
    Codes and user ids run from ``first``, so that calls with apart ranges never collide.
    """
    now = timezone.now()
    expires_at = now - timedelta(minutes=1) if expired else now + timedelta(minutes=5)
    created_at = expires_at - timedelta(minutes=5)
    for offset in range(0, count, BATCH):
        UserCode.objects.bulk_create(
            UserCode(
                code=str(first + i),
                telegram_user_id=first + i,
                expires_at=expires_at,
                created_at=created_at,
            )
            for i in range(offset, min(offset + BATCH, count))
        )


def expired_codes() -> int:
    return UserCode.objects.filter(expires_at__lte=timezone.now()).count()


def active_codes() -> int:
    return UserCode.objects.filter(expires_at__gt=timezone.now()).count()


def cleanup(*args: str) -> str:
    out = io.StringIO()
    call_command("cleanup", *args, stdout=out)
    return out.getvalue()


def run_concurrently(racers: int, call: Any) -> list[Any]:
    """Run ``call`` in threads with their own connections, released together."""
    return [o.value if o.error is None else o.error for o in race(call, racers)]


# --- Codes ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_it_deletes_100000_expired_codes_keeps_10000_active_ones_in_few_queries():
    # The same number of batches costs the same number of queries, whatever the rows:
    # first 1,000 expired codes in batches of 100, then 100,000 in batches of 10,000.
    make_codes(1_000, expired=True, first=3_000_000)
    make_codes(100, expired=False, first=4_000_000)
    with CaptureQueriesContext(connection) as small:
        assert cleanup("--batch-size", "100").startswith("1000 expired codes,")
    assert expired_codes() == 0

    make_codes(100_000, expired=True, first=1_000_000)
    make_codes(10_000, expired=False, first=2_000_000)
    started = time.perf_counter()
    with CaptureQueriesContext(connection) as large:
        out = cleanup()
    elapsed = time.perf_counter() - started

    print(f"\ncleanup of 100,000 expired codes: {elapsed:.2f} s, {len(large)} queries")
    assert out.startswith("100000 expired codes,")
    assert expired_codes() == 0
    assert active_codes() == 10_100
    assert len(large) < 40
    assert len(large) == len(small), (len(large), len(small))
    # Rows are never fetched into Python: every DELETE carries its own subquery.
    deletes = [q["sql"] for q in large if q["sql"].startswith('DELETE FROM "user_codes"')]
    assert len(deletes) == 100_000 // BATCH + 1
    assert not any(q["sql"].startswith('SELECT "user_codes"."id"') for q in large), (
        "codes were read into Python"
    )


@pytest.mark.django_db
def test_it_finds_each_batch_by_the_primary_key_not_by_scanning_the_table():
    # With "id IN (SELECT … LIMIT 10000)" PostgreSQL hash-joined the batch against a scan
    # of the whole table, once per batch: 1 M expired codes took 14 s instead of 3.
    make_codes(50_000, expired=True, first=1_000_000)
    make_codes(50_000, expired=False, first=2_000_000)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE user_codes")
    with CaptureQueriesContext(connection) as queries:
        cleanup_run()
    delete = next(q["sql"] for q in queries if q["sql"].startswith('DELETE FROM "user_codes"'))

    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + delete)
        plan = "\n".join(row[0] for row in cursor.fetchall())

    assert "Index Scan using user_codes_pkey on user_codes " in plan, plan
    assert "Seq Scan on user_codes " not in plan, plan
    assert expired_codes() == 0
    assert active_codes() == 50_000


@pytest.mark.django_db
@pytest.mark.sqlite
def test_it_deletes_a_code_at_its_expiry_instant_and_keeps_a_younger_one(time_machine):
    time_machine.move_to(T0, tick=False)
    UserCode.objects.create(code="1111111", telegram_user_id=1, expires_at=T0, created_at=T0)
    UserCode.objects.create(
        code="2222222",
        telegram_user_id=2,
        expires_at=T0 + timedelta(microseconds=1),
        created_at=T0,
    )

    counts = cleanup_run()

    assert counts is not None
    assert counts.expired_codes == 1
    assert list(UserCode.objects.values_list("code", flat=True)) == ["2222222"]


@pytest.mark.django_db(transaction=True)
@pytest.mark.sqlite
def test_it_deletes_each_row_once_when_two_cleanups_run_at_once(caplog):
    # 100,000 rows on PostgreSQL, so that the passes overlap for a good while; fewer on
    # SQLite, which serializes writers anyway, to keep its run fast.
    expired, batch = (100_000, BATCH) if connection.vendor == "postgresql" else (5_000, 500)
    make_codes(expired, expired=True, first=1_000_000)
    make_codes(1_000, expired=False, first=2_000_000)
    caplog.set_level(logging.INFO, logger="onetime.cleanup")

    started = time.perf_counter()
    results = run_concurrently(2, lambda: cleanup_run(batch_size=batch))
    elapsed = time.perf_counter() - started

    errors = [r for r in results if isinstance(r, BaseException)]
    assert not errors, errors
    ran = [r for r in results if isinstance(r, CleanupCounts)]
    assert ran, "neither run did the work"
    assert sum(r.expired_codes for r in ran) == expired
    assert expired_codes() == 0
    assert active_codes() == 1_000
    skipped = len(results) - len(ran)
    assert skipped == sum("skipped" in r.getMessage() for r in caplog.records)
    print(
        f"\ntwo concurrent cleanups of {expired} codes on {connection.vendor}: "
        f"{elapsed:.2f} s, {skipped} skipped, deleted {[r.expired_codes for r in ran]}"
    )


@pytest.mark.django_db(transaction=True)
def test_it_skips_the_pass_while_another_process_holds_the_lock():
    make_codes(3, expired=True, first=1_000_000)

    with try_exclusive(LOCK_NAME) as acquired:
        assert acquired
        (while_held,) = run_concurrently(1, cleanup_run)
        (command_output,) = run_concurrently(1, cleanup)
        assert expired_codes() == 3
    (after,) = run_concurrently(1, cleanup_run)

    assert while_held is None
    assert command_output == "Skipped: another cleanup is running.\n"
    assert isinstance(after, CleanupCounts)
    assert after.expired_codes == 3
    assert expired_codes() == 0


# --- Secrets and rate-limit counters -------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.sqlite
def test_it_wipes_expired_secrets_to_tombstones(client, time_machine):
    time_machine.move_to(T0, tick=False)
    expiring = [make_secret(f"expiring {i}", ttl=60).secret for i in range(2)]
    lasting = make_secret("lasting", ttl=3600).secret

    time_machine.shift(timedelta(seconds=60))
    counts = cleanup_run()

    assert counts is not None
    assert counts.expired_secrets == 2
    for secret in expiring:
        secret.refresh_from_db()
        assert (secret.state, secret.ciphertext) == (Secret.State.EXPIRED, None)
        assert secret.ended_at == secret.expires_at == T0 + timedelta(seconds=60)
        response = post_json(client, f"/api/v1/secrets/{secret.id}/reveal")
        assert (response.status_code, response.json()["status"]) == (410, "expired")
    lasting.refresh_from_db()
    assert lasting.state == Secret.State.ACTIVE
    assert lasting.ciphertext is not None


@pytest.mark.django_db
@pytest.mark.sqlite
@pytest.mark.parametrize("days", [30, 2])
def test_it_purges_tombstones_older_than_the_retention(client, settings, time_machine, days):
    settings.ONETIME_TOMBSTONE_DAYS = days
    time_machine.move_to(T0, tick=False)
    old = make_secret("old", ttl=60).secret
    old_revealed = make_secret("old, revealed").secret
    assert post_json(client, f"/api/v1/secrets/{old_revealed.id}/reveal").status_code == 200
    time_machine.move_to(T0 + timedelta(hours=1), tick=False)
    young = make_secret("young", ttl=60).secret

    time_machine.move_to(T0 + timedelta(days=days, seconds=61), tick=False)
    counts = cleanup_run()

    assert counts is not None
    # "old" expired at T0+60s and is wiped and purged in this one pass; "old, revealed"
    # ended at T0; "young" ended at T0+1h+60s, within the retention.
    assert (counts.expired_secrets, counts.purged_tombstones) == (2, 2)
    assert set(Secret.objects.values_list("id", flat=True)) == {young.id}
    assert Secret.objects.get(pk=young.id).state == Secret.State.EXPIRED
    for gone in (old, old_revealed):
        assert client.get(f"/api/v1/secrets/{gone.id}").status_code == 404
    assert client.get(f"/api/v1/secrets/{young.id}").status_code == 410


@pytest.mark.django_db
@pytest.mark.sqlite
def test_it_purges_the_counters_of_ended_rate_limit_windows(time_machine):
    time_machine.move_to(T0, tick=False)
    for i, offset in enumerate((-3600, -1, 0, 1, 60)):
        RateLimitHit.objects.create(
            key=f"reveal:{i}", bucket=i, hits=3, expires_at=T0 + timedelta(seconds=offset)
        )

    counts = cleanup_run()

    assert counts is not None
    assert counts.purged_rate_limits == 3
    assert sorted(RateLimitHit.objects.values_list("key", flat=True)) == ["reveal:3", "reveal:4"]


# --- The one-shot command ------------------------------------------------------------------


LATER = T0 + timedelta(days=31)


def make_one_of_everything(time_machine: Any) -> None:
    """
    Leave the clock at LATER with 3 expired codes and 1 active one, 1 expired secret and
    1 active one, 1 tombstone past the retention, 1 ended rate-limit window and 1 current.
    """
    time_machine.move_to(T0, tick=False)
    old = make_secret("old", ttl=60).secret
    Secret.objects.filter(pk=old.pk).update(state=Secret.State.BURNED, ciphertext=None, ended_at=T0)
    time_machine.move_to(LATER - timedelta(hours=2), tick=False)
    make_secret("expired", ttl=3600)
    time_machine.move_to(LATER, tick=False)
    make_secret("active", ttl=3600)
    for i in range(3):
        UserCode.objects.create(
            code=str(1_000_000 + i),
            telegram_user_id=i + 1,
            expires_at=LATER - timedelta(seconds=1),
            created_at=LATER - timedelta(minutes=5),
        )
    UserCode.objects.create(
        code="9999999", telegram_user_id=99, expires_at=LATER + timedelta(minutes=1), created_at=T0
    )
    RateLimitHit.objects.create(key="create:x", bucket=1, expires_at=LATER - timedelta(seconds=1))
    RateLimitHit.objects.create(key="create:y", bucket=2, expires_at=LATER + timedelta(seconds=1))


def snapshot() -> list[Any]:
    return [
        sorted(UserCode.objects.values_list("code", "expires_at")),
        sorted(
            (str(s.id), s.state, s.ciphertext is None, s.ended_at) for s in Secret.objects.all()
        ),
        sorted(RateLimitHit.objects.values_list("key", "hits", "expires_at")),
    ]


@pytest.mark.django_db
@pytest.mark.sqlite
def test_it_only_counts_on_a_dry_run_and_changes_nothing(time_machine):
    make_one_of_everything(time_machine)
    before = snapshot()

    dry = cleanup("--dry-run")

    assert dry == (
        "3 expired codes, 1 expired secrets, 1 old tombstones and 1 rate-limit counters "
        "would be removed.\n"
    )
    assert snapshot() == before
    # The real pass finds exactly what the dry run announced.
    assert cleanup() == dry.replace("would be", "were")
    assert snapshot() != before


@pytest.mark.django_db
@pytest.mark.sqlite
def test_it_logs_the_counts_of_each_step_at_info(caplog, time_machine):
    make_one_of_everything(time_machine)
    caplog.set_level(logging.INFO)

    cleanup("--verbosity", "0")

    (record,) = [r for r in caplog.records if r.name == "onetime.cleanup"]
    assert record.levelno == logging.INFO
    assert record.getMessage() == (
        "cleanup: 3 expired codes deleted, 1 expired secrets wiped, 1 tombstones purged, "
        "1 rate-limit counters purged"
    )


@pytest.mark.django_db
@pytest.mark.sqlite
def test_it_prints_nothing_at_verbosity_0():
    assert cleanup("--verbosity", "0") == ""


# --- The scheduler -------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.sqlite
def test_it_runs_as_a_scheduler_that_cleans_up_and_stops_on_sigterm(tmp_path):
    make_codes(7, expired=True, first=1_000_000)
    make_codes(2, expired=False, first=2_000_000)
    log = tmp_path / "scheduler.log"
    # The first pass runs at once; the next one would come in an hour, so a scheduler that
    # stops on SIGTERM stops in the middle of its wait, not at its end.
    process = start(
        manage("runscheduler", "--interval", "3600"),
        service_env(
            DATABASE_URL=database_url(connection.settings_dict),
            LOG_FORMAT="plain",
            LOG_LEVEL="INFO",
            PYTHONUNBUFFERED="1",
        ),
        log,
    )
    try:
        wait_for_output(log, "cleanup: 7 expired codes deleted", process)
    finally:
        returncode = stop(process, timeout=60)
    output = log.read_text()

    assert returncode == 0, output
    assert "scheduler: SIGTERM received, stopping" in output
    assert output.rstrip().endswith("scheduler: stopped"), output
    assert "Traceback" not in output
    assert expired_codes() == 0
    assert active_codes() == 2


@pytest.fixture
def signal_handlers() -> Any:
    """Restore SIGTERM's and SIGINT's handlers after a command that installs its own."""
    saved = {signum: signal.getsignal(signum) for signum in (signal.SIGTERM, signal.SIGINT)}
    yield
    for signum, handler in saved.items():
        signal.signal(signum, handler)


@pytest.mark.django_db(transaction=True)
def test_the_scheduler_logs_a_failed_pass_and_runs_the_next_one(
    monkeypatch, caplog, console, signal_handlers
):
    passes = []
    data = "CANARY-4b1d and 7654321"

    def fail_once_then_stop(**options: Any) -> CleanupCounts | None:
        passes.append(options)
        if len(passes) == 1:
            raise RuntimeError(f"a bug, its message holding {data}")
        signal.raise_signal(signal.SIGTERM)  # the second pass ran: stop as on SIGTERM
        return cleanup_run(**options)

    make_codes(3, expired=True, first=1_000_000)
    monkeypatch.setattr(runscheduler, "cleanup_run", fail_once_then_stop)
    caplog.set_level(logging.INFO, logger="onetime.scheduler")

    call_command("runscheduler", "--interval", "1")

    assert len(passes) == 2
    assert expired_codes() == 0  # the second pass did its work
    [failure] = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert failure.name == "onetime.scheduler"
    assert failure.levelno == logging.ERROR
    output = console.getvalue()
    assert "scheduler: cleanup failed (RuntimeError), next pass in 1 s" in output
    # The traceback names where it failed, and withholds the message, which may hold data.
    assert "Traceback (most recent call last)" in output
    assert "in fail_once_then_stop" in output
    assert "CANARY-4b1d" not in output
    assert "7654321" not in output
    assert "RuntimeError (message withheld)" in output
    assert output.rstrip().endswith("scheduler: stopped")
