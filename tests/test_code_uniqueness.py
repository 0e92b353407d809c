"""
Active codes are unique across users (PRODUCT.md §3.2): the database enforces it, a
collision means another draw, at most MAX_GENERATION_ATTEMPTS of them, and then the user
gets a clear message and the operator an ERROR log.

The tests shrink the code space (CODE_RANGE) so that collisions are certain, and count the
draws by wrapping the pure drawing function.
"""

import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from onetime.bot import texts
from onetime.bot.handlers import reply_to
from onetime.codes import services
from onetime.codes.models import TelegramAccount, UserCode
from tests.conftest import SEVEN_DIGITS
from tests.fake_telegram import make_update

pytestmark = [pytest.mark.django_db, pytest.mark.sqlite]

LOW = 1_000_000
USER_ID = 424_242_424


class CountingDraws:
    """Wrap a drawing function and remember every code it returned."""

    def __init__(self, draw: Callable[[], str]) -> None:
        self._draw = draw
        self.codes: list[str] = []

    def __call__(self) -> str:
        code = self._draw()
        self.codes.append(code)
        return code


def shrink_code_space(monkeypatch: pytest.MonkeyPatch, size: int) -> None:
    monkeypatch.setattr(services, "CODE_RANGE", (LOW, LOW + size - 1))


def count_draws(monkeypatch: pytest.MonkeyPatch, draw: Callable[[], str] | None = None):
    counter = CountingDraws(draw or services._draw_code)
    monkeypatch.setattr(services, "_draw_code", counter)
    return counter


def occupy(codes: list[str], first_user: int = 900_000_000) -> None:
    """Give each code to another user, as an active code."""
    expires_at = timezone.now() + timedelta(minutes=5)
    UserCode.objects.bulk_create(
        UserCode(
            code=code,
            telegram_user_id=first_user + i,
            expires_at=expires_at,
            created_at=timezone.now(),
        )
        for i, code in enumerate(codes)
    )


def issue(user_id: int = USER_ID) -> services.IssuedCode:
    return services.code_issue(telegram_user_id=user_id, username=None, first_name="Test")


def test_it_gives_every_user_a_distinct_code_when_codes_collide(monkeypatch):
    # 20 users in a space of 25 codes: the last user meets 19 taken codes, so collisions
    # are all but certain, and still 100 draws fail to find a free one with odds of
    # (19/25)^100 ≈ 1e-12.
    shrink_code_space(monkeypatch, 25)
    draws = count_draws(monkeypatch)

    issued = [issue(user_id=USER_ID + i) for i in range(20)]

    codes = [item.code for item in issued]
    assert len(set(codes)) == 20
    assert all(LOW <= int(code) < LOW + 25 for code in codes)
    assert len(draws.codes) > 20, "no collision happened: the test proves nothing"
    assert set(UserCode.objects.values_list("code", flat=True)) == set(codes)


def test_it_gives_up_after_exactly_100_draws_when_every_code_is_taken(monkeypatch, caplog):
    shrink_code_space(monkeypatch, 20)
    occupy([str(LOW + i) for i in range(20)])
    draws = count_draws(monkeypatch)
    caplog.set_level(logging.DEBUG)

    with pytest.raises(services.CodeGenerationFailed):
        issue()

    assert len(draws.codes) == services.MAX_GENERATION_ATTEMPTS == 100
    assert not UserCode.objects.filter(telegram_user_id=USER_ID).exists()
    assert UserCode.objects.count() == 20
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1
    assert str(USER_ID) in errors[0].getMessage()
    for record in caplog.records:
        message = record.getMessage()
        assert not SEVEN_DIGITS.search(message), message
        assert not any(code in message for code in set(draws.codes)), message


def test_it_bounds_the_retries_when_every_draw_collides(monkeypatch):
    occupy(["1234567"])
    draws = count_draws(monkeypatch, lambda: "1234567")

    with pytest.raises(services.CodeGenerationFailed):
        issue()

    assert len(draws.codes) == 100


def test_it_still_takes_a_free_code_on_the_100th_draw(monkeypatch):
    occupy(["1234567"])
    scripted = iter(["1234567"] * 99 + ["7654321"])
    draws = count_draws(monkeypatch, lambda: next(scripted))

    issued = issue()

    assert issued.code == "7654321"
    assert len(draws.codes) == 100
    assert UserCode.objects.get(telegram_user_id=USER_ID).code == "7654321"


def test_it_resolves_collisions_without_a_failed_statement(monkeypatch):
    # PostgreSQL logs every failed statement with its values (log_min_error_statement is
    # "error" by default), and a unique violation with the key: "DETAIL: Key (code)=(…)
    # already exists". A collision that failed an INSERT would put another user's active
    # code into the database server's log, which must never hold a code (PRODUCT.md §2.2).
    real_draw = services._draw_code
    occupy(["1234567"])
    scripted = iter(["1234567"] * 5 + ["7654321"])
    count_draws(monkeypatch, lambda: next(scripted))
    failed: list[str] = []

    def observe(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        try:
            return execute(sql, params, many, context)
        except Exception as exc:
            failed.append(f"{type(exc).__name__}: {sql}")
            raise

    with connection.execute_wrapper(observe):
        issued = issue()
        shrink_code_space(monkeypatch, 20)
        occupy([str(LOW + i) for i in range(20)], first_user=800_000_000)
        count_draws(monkeypatch, real_draw)
        with pytest.raises(services.CodeGenerationFailed):
            issue(user_id=USER_ID + 1)

    assert issued.code == "7654321"
    assert failed == []


def test_it_issues_a_code_after_a_failure_once_a_code_is_free_again(monkeypatch):
    shrink_code_space(monkeypatch, 20)
    occupy([str(LOW + i) for i in range(20)])
    with pytest.raises(services.CodeGenerationFailed):
        issue()
    freed = [str(LOW + i) for i in range(15)]
    UserCode.objects.filter(code__in=freed).delete()

    issued = issue()

    assert issued.code in freed
    assert TelegramAccount.objects.filter(pk=USER_ID).exists()


def test_it_tells_the_user_when_no_code_could_be_generated(monkeypatch):
    shrink_code_space(monkeypatch, 20)
    occupy([str(LOW + i) for i in range(20)])

    reply = reply_to(make_update(user_id=USER_ID, username=None))

    assert reply is not None
    assert reply.chat_id == USER_ID
    assert reply.text == texts.GENERATION_FAILED
    assert "Не удалось создать код" in reply.text


def test_it_enforces_uniqueness_without_an_index_that_no_query_uses():
    # unique=True on a CharField adds a LIKE index (varchar_pattern_ops) on PostgreSQL that
    # every insert must update and no query reads: 1 M codes took 18 s to insert with it, 11
    # without. The unique constraints stay, and stay enforced (the tests above).
    if connection.vendor != "postgresql":
        pytest.skip("a PostgreSQL index class")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = ANY(%s)",
            [["user_codes", "telegram_accounts"]],
        )
        indexes = dict(cursor.fetchall())

    assert not [d for d in indexes.values() if "pattern_ops" in d], indexes
    assert "UNIQUE" in indexes["user_codes_code_key"]
    assert "UNIQUE" in indexes["telegram_accounts_username_key"]


def test_the_username_constraint_is_checked_at_commit_on_postgresql():
    # When two first /code of one new user race, the loser's insert must conflict on
    # telegram_user_id (ON CONFLICT's arbiter: wait, then update), not first on the
    # username, which would be an error. Checked at commit, the username cannot win.
    if connection.vendor != "postgresql":
        pytest.skip("a PostgreSQL catalog")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT condeferrable, condeferred FROM pg_constraint WHERE conname = %s",
            ["telegram_accounts_username_key"],
        )
        assert cursor.fetchall() == [(True, True)]


@pytest.mark.django_db(transaction=True)
def test_two_accounts_cannot_share_a_username_on_either_database():
    # SQLite has no deferrable constraints: migration codes.0004 gives it a unique index.
    now = timezone.now()
    TelegramAccount.objects.create(telegram_user_id=1, username="alice", updated_at=now)

    with pytest.raises(IntegrityError, match="username"), transaction.atomic():
        TelegramAccount.objects.create(telegram_user_id=2, username="alice", updated_at=now)

    assert list(TelegramAccount.objects.values_list("telegram_user_id", flat=True)) == [1]
