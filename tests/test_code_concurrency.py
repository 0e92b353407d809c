"""
Races on one user's code (PRODUCT.md §3.2, §3.3): concurrent /code requests agree on one
code, and concurrent verifications of one code let exactly one succeed.

Every call runs in its own thread, so on its own database connection (Django keeps one per
thread), and a barrier releases them together once each is connected.
"""

import time
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from functools import partial
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from onetime.codes import services
from onetime.codes.models import TelegramAccount, UserCode
from tests.concurrency import RACERS, Outcome, race

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.sqlite]


def trials(on_postgresql: int) -> int:
    """Repeat races fewer times on SQLite, whose writers wait in a sleeping busy loop."""
    return on_postgresql if connection.vendor == "postgresql" else 3


def issue_racing(user_id: int) -> list[Outcome]:
    outcomes = race(
        lambda: services.code_issue(
            telegram_user_id=user_id, username=f"racer{user_id}", first_name="Racer"
        )
    )
    assert len(outcomes) == RACERS
    return outcomes


def assert_one_code_for_everyone(user_id: int, outcomes: list[Outcome]) -> None:
    errors = [repr(o.error) for o in outcomes if o.error is not None]
    assert not errors, errors
    rows = list(UserCode.objects.filter(telegram_user_id=user_id))
    assert len(rows) == 1, f"{len(rows)} rows"
    assert {(o.value.code, o.value.expires_at) for o in outcomes} == {
        (rows[0].code, rows[0].expires_at)
    }
    assert Counter(o.value.created for o in outcomes) == {True: 1, False: RACERS - 1}


def test_it_gives_32_concurrent_first_code_requests_of_a_user_one_and_the_same_code():
    started = time.perf_counter()
    for trial in range(count := trials(10)):
        user_id = 7_000_000_000 + trial

        outcomes = issue_racing(user_id)

        assert_one_code_for_everyone(user_id, outcomes)
    print(f"\n{count} races of {RACERS} first /code: {time.perf_counter() - started:.2f} s")


def test_it_gives_32_concurrent_requests_replacing_an_expired_code_one_and_the_same_code():
    started = time.perf_counter()
    for trial in range(count := trials(10)):
        user_id = 7_050_000_000 + trial
        old = services.code_issue(
            telegram_user_id=user_id, username=f"racer{user_id}", first_name="Racer"
        )
        UserCode.objects.filter(telegram_user_id=user_id).update(
            expires_at=timezone.now() - timedelta(seconds=1)
        )

        outcomes = issue_racing(user_id)

        assert_one_code_for_everyone(user_id, outcomes)
        assert outcomes[0].value.expires_at > old.expires_at
    print(f"\n{count} races of {RACERS} renewing /code: {time.perf_counter() - started:.2f} s")


def test_it_lets_exactly_one_of_32_concurrent_verifications_of_one_code_succeed():
    started = time.perf_counter()
    for trial in range(count := trials(5)):
        user_id = 7_100_000_000 + trial
        code = services.code_issue(telegram_user_id=user_id, username=None, first_name="Racer").code

        outcomes = race(partial(services.code_verify, code=code, telegram_user_id=user_id))

        assert len(outcomes) == RACERS
        successes = [o for o in outcomes if o.error is None]
        others = Counter(type(o.error).__name__ for o in outcomes if o.error is not None)
        assert len(successes) == 1, f"trial {trial}: {len(successes)} successes"
        assert successes[0].value.telegram_user_id == user_id
        assert others == {"InvalidCode": RACERS - 1}, f"trial {trial}: {dict(others)}"
        assert not UserCode.objects.filter(telegram_user_id=user_id).exists()
        # The winner went first (whoever holds the lock first finds the code); the losers
        # presented a used code, which counts as a failure, one at a time: 1, …, 5, then
        # the account is paused and the remaining 26 are refused without being counted.
        account = TelegramAccount.objects.get(pk=user_id)
        assert account.failed_attempts == services.FAILURES_PER_CODE
        assert account.locked_until is not None
    print(f"\n{count} races of {RACERS} verifies: {time.perf_counter() - started:.2f} s")


def test_two_users_claiming_one_username_at_once_both_get_a_code(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # A username changed hands, and the old owner's update arrives with it while the new
    # owner asks too: each moves the username off the other accounts, sees no other claim
    # (not committed yet) and takes it; the unique check at commit fails for the second.
    # That one runs again, moves the username off the first and takes it: the last writer
    # holds the username, and neither user is told the service is unavailable.
    for trial in range(trials(20)):
        users = [7_200_000_000 + 2 * trial, 7_200_000_001 + 2 * trial]
        username = f"handover{trial}"
        next_user = iter(users).__next__

        def claim(username: str = username, next_user: Callable[[], int] = next_user) -> Any:
            return services.code_issue(
                telegram_user_id=next_user(), username=username, first_name="Racer"
            )

        outcomes = race(claim, racers=2)

        errors = [repr(o.error) for o in outcomes if o.error is not None]
        assert not errors, f"trial {trial}: {errors}"
        assert TelegramAccount.objects.filter(username=username).count() == 1, f"trial {trial}"
        assert UserCode.objects.filter(telegram_user_id__in=users).count() == 2, f"trial {trial}"
    if connection.vendor == "postgresql":  # SQLite runs one writer at a time: no race
        retries = [r for r in caplog.records if "tries again" in r.getMessage()]
        assert retries, "no trial raced: the test proved nothing"


@pytest.mark.parametrize("ring", [2, 3, 8], ids=["pairs-swap", "three-rotate", "eight-rotate"])
def test_users_passing_their_usernames_round_at_once_all_get_a_code(ring: int) -> None:
    # Usernames change hands in rings: with 2, A (had @x) is now @y and B (had @y) is now
    # @x; with 3 or more, each user takes the next one's username. Everyone sends /code at
    # the same moment, so each request moves a username off an account whose own request
    # moves one off another: the orders in which they lock accounts cross.
    racers = 40 // ring * ring
    started = time.perf_counter()
    for trial in range(count := trials(10)):
        first_id = 7_300_000_000 + 1_000 * ring + 100 * trial
        users = list(range(first_id, first_id + racers))
        old = {user: f"ring{ring}t{trial}u{user - first_id}" for user in users}
        TelegramAccount.objects.bulk_create(
            TelegramAccount(telegram_user_id=user, username=old[user], updated_at=timezone.now())
            for user in users
        )
        # Within each ring, the next user's username.
        new = {user: old[users[(i + 1) % ring + i // ring * ring]] for i, user in enumerate(users)}
        requests = iter(list(new.items())).__next__  # one per racer

        def ask(requests: Callable[[], tuple[int, str]] = requests) -> Any:
            user, username = requests()
            return services.code_issue(telegram_user_id=user, username=username, first_name="R")

        outcomes = race(ask, racers=racers)

        errors = [repr(o.error) for o in outcomes if o.error is not None]
        assert not errors, f"trial {trial}: {len(errors)} of {racers} failed: {errors[:3]}"
        held = dict(TelegramAccount.objects.filter(pk__in=users).values_list("pk", "username"))
        assert held == new, f"trial {trial}"
        assert UserCode.objects.filter(telegram_user_id__in=users).count() == racers
    elapsed = time.perf_counter() - started
    print(f"\n{count} rounds of {racers} /code in rings of {ring}: {elapsed:.2f} s")
