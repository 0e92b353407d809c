"""
Verifying a code (PRODUCT.md §3.3) through POST /api/v1/codes/verify: the caller names the
account and presents the code; success consumes it; every failure is one and the same
answer; wrong codes are counted per account, destroy the code at 5 and pause the account
for longer and longer.
"""

import logging
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from onetime.codes import services
from onetime.codes.models import TelegramAccount, UserCode
from tests.concurrency import race
from tests.conftest import SEVEN_DIGITS, post_json
from tests.conftest import wrong_code as wrong

pytestmark = [pytest.mark.django_db, pytest.mark.sqlite]

PATH = "/api/v1/codes/verify"
TOKEN = "verify-token-for-tests-only"
USER_ID = 31337
NOON = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _verify_token(settings):
    settings.CODES_VERIFY_TOKEN = TOKEN


def issue(user_id: int = USER_ID, username: str | None = "alice", first_name: str = "Alice") -> str:
    return services.code_issue(
        telegram_user_id=user_id, username=username, first_name=first_name
    ).code


def verify(client: Client, body: dict[str, Any], token: str | None = TOKEN) -> Any:
    headers = {} if token is None else {"Authorization": f"Bearer {token}"}
    return post_json(client, PATH, body, **headers)


def verify_id(client: Client, code: str, user_id: int = USER_ID) -> Any:
    return verify(client, {"telegram_user_id": user_id, "code": code})


def fail_times(client: Client, count: int, code: str, user_id: int = USER_ID) -> None:
    for _ in range(count):
        response = verify_id(client, wrong(code), user_id)
        assert response.status_code == 400
        assert response.json()["status"] == "invalid_code"


def account(user_id: int = USER_ID) -> TelegramAccount:
    return TelegramAccount.objects.get(pk=user_id)


# --- Access --------------------------------------------------------------------------------


def test_it_answers_404_when_no_token_is_configured(client, settings):
    settings.CODES_VERIFY_TOKEN = ""
    code = issue()

    response = verify_id(client, code)
    response_with_empty_bearer = verify(client, {"telegram_user_id": USER_ID, "code": code}, "")

    assert response.status_code == 404
    assert response.json()["status"] == "not_found"
    assert response_with_empty_bearer.status_code == 404
    assert UserCode.objects.filter(code=code).exists()


@pytest.mark.parametrize(
    "authorization",
    [None, "", f"Bearer {TOKEN}x", f"Bearer {TOKEN[:-1]}", f"Basic {TOKEN}", TOKEN, "Bearer "],
)
def test_it_answers_401_without_the_right_bearer_token(client, authorization):
    code = issue()
    headers = {} if authorization is None else {"Authorization": authorization}

    response = post_json(client, PATH, {"telegram_user_id": USER_ID, "code": code}, **headers)

    assert response.status_code == 401
    assert response.json()["status"] == "unauthorized"
    assert response["WWW-Authenticate"].startswith("Bearer")
    # Nothing was looked at: the code is intact and no failure was counted.
    assert UserCode.objects.filter(code=code).exists()
    assert account().failed_attempts == 0


@pytest.mark.parametrize(
    "body",
    [
        {"code": "1234567"},
        {"telegram_user_id": USER_ID, "username": "alice", "code": "1234567"},
    ],
)
def test_it_answers_400_invalid_unless_exactly_one_of_id_and_username_names_the_account(
    client, body
):
    issue()

    response = verify(client, body)

    assert response.status_code == 400
    assert response.json()["status"] == "invalid"
    assert account().failed_attempts == 0


# --- Success -------------------------------------------------------------------------------


def test_it_verifies_by_telegram_user_id_and_consumes_the_code(client):
    code = issue(first_name="Алиса")

    first = verify_id(client, code)
    again = verify_id(client, code)

    assert first.status_code == 200
    assert first.json() == {"telegram_user_id": USER_ID, "username": "alice", "first_name": "Алиса"}
    assert not UserCode.objects.filter(telegram_user_id=USER_ID).exists()
    assert again.status_code == 400
    assert again.json()["status"] == "invalid_code"


@pytest.mark.parametrize("username", ["alice", "Alice", "ALICE", "@alice", "@Alice"])
def test_it_verifies_by_username_in_any_case_with_or_without_the_at_sign(client, username):
    code = issue(username="Alice")

    first = verify(client, {"username": username, "code": code})
    again = verify(client, {"username": username, "code": code})

    assert first.status_code == 200
    assert first.json() == {"telegram_user_id": USER_ID, "username": "alice", "first_name": "Alice"}
    assert again.status_code == 400
    assert again.json()["status"] == "invalid_code"


def test_it_finds_the_account_by_its_current_username_only(client):
    old_owner_code = issue(user_id=1001, username="alice")
    issue(user_id=1002, username="alice")

    response = verify(client, {"username": "alice", "code": old_owner_code})

    assert response.status_code == 400
    assert UserCode.objects.filter(code=old_owner_code).exists()


# --- One answer for every failure ----------------------------------------------------------


def test_it_gives_the_same_answer_to_every_kind_of_failure(client, time_machine):
    time_machine.move_to(NOON, tick=False)
    answers: dict[str, Any] = {}

    code = issue(user_id=2001, username="wrong")
    answers["wrong code"] = verify_id(client, wrong(code), 2001)

    code = issue(user_id=2002, username="used")
    assert verify_id(client, code, 2002).status_code == 200
    answers["used code"] = verify_id(client, code, 2002)

    answers["unknown id"] = verify_id(client, "1234567", 2999)
    answers["id beyond bigint"] = verify_id(client, "1234567", 2**63)
    answers["unknown username"] = verify(client, {"username": "nobody", "code": "1234567"})

    for i, malformed in enumerate(["12a4567", "１２３４５６７", "123456", "12345678", "0123456"]):
        issue(user_id=2100 + i, username=f"malformed{i}")
        answers[f"malformed {malformed!r}"] = verify_id(client, malformed, 2100 + i)

    code = issue(user_id=2004, username="paused")
    fail_times(client, 5, code, 2004)
    paused_code = issue(user_id=2004, username="paused")
    answers["paused account"] = verify_id(client, paused_code, 2004)

    code = issue(user_id=2005, username="expired")
    time_machine.shift(timedelta(minutes=5))
    answers["expired code"] = verify_id(client, code, 2005)
    answers["expired code by username"] = verify(client, {"username": "expired", "code": code})

    reference = answers["wrong code"]
    assert reference.status_code == 400
    assert reference.json()["status"] == "invalid_code"
    for kind, response in answers.items():
        assert (response.status_code, response.content) == (400, reference.content), kind


# --- Brute force ---------------------------------------------------------------------------


def test_it_accepts_the_right_code_after_4_wrong_ones_and_resets_the_count(client):
    code = issue()
    fail_times(client, 4, code)
    assert account().failed_attempts == 4

    response = verify_id(client, code)

    assert response.status_code == 200
    assert (account().failed_attempts, account().locked_until) == (0, None)


def test_it_destroys_the_code_and_pauses_the_account_after_5_wrong_codes(client, time_machine):
    time_machine.move_to(NOON, tick=False)
    code = issue()

    fail_times(client, 5, code)

    assert not UserCode.objects.filter(telegram_user_id=USER_ID).exists()
    assert account().failed_attempts == 5
    assert account().locked_until == NOON + timedelta(minutes=1)
    assert verify_id(client, code).status_code == 400
    # Still refused once the pause is over and while the code would still be within its
    # lifetime: it is gone, not just paused.
    time_machine.shift(timedelta(minutes=1, seconds=1))
    assert verify_id(client, code).status_code == 400


def test_it_keeps_counting_when_the_same_code_is_sent_again(client):
    code = issue()
    fail_times(client, 3, code)

    assert issue() == code
    fail_times(client, 2, code)

    assert not UserCode.objects.filter(telegram_user_id=USER_ID).exists()
    assert account().locked_until is not None


def test_it_keeps_counting_across_a_new_code(client, time_machine):
    time_machine.move_to(NOON, tick=False)
    old = issue()
    fail_times(client, 3, old)
    time_machine.shift(timedelta(minutes=5, seconds=1))
    new = issue()
    assert new != old

    fail_times(client, 2, new)

    assert account().failed_attempts == 5
    assert not UserCode.objects.filter(telegram_user_id=USER_ID).exists()
    assert verify_id(client, new).status_code == 400


def test_it_refuses_even_the_right_code_while_paused_and_accepts_it_afterwards(
    client, time_machine
):
    time_machine.move_to(NOON, tick=False)
    fail_times(client, 5, issue())
    code = issue()

    time_machine.shift(timedelta(seconds=59))
    during = verify_id(client, code)
    assert during.status_code == 400
    assert UserCode.objects.filter(code=code).exists(), "a refused code must not be consumed"

    time_machine.shift(timedelta(seconds=1))
    after = verify_id(client, code)
    assert after.status_code == 200
    assert (account().failed_attempts, account().locked_until) == (0, None)


def test_it_doubles_the_pause_with_every_5_further_failures(client, time_machine):
    time_machine.move_to(NOON, tick=False)
    code = issue()
    pauses = []

    for _ in range(4):
        fail_times(client, 5, code)
        locked_until = account().locked_until
        assert locked_until is not None
        pauses.append(locked_until - datetime.now(UTC))
        time_machine.move_to(locked_until, tick=False)

    assert pauses == [timedelta(minutes=m) for m in (1, 2, 4, 8)]
    assert account().failed_attempts == 20


def test_it_makes_100_consecutive_failures_take_more_than_a_week(time_machine):
    # NIST SP 800-63B: at most 100 consecutive failed attempts on one account. Here the
    # pause doubles up to a day, so an attacker needs over a week for 100 guesses.
    time_machine.move_to(NOON, tick=False)
    issue()
    pauses = []
    while True:
        with pytest.raises(services.InvalidCode):
            services.code_verify(code="1000000", telegram_user_id=USER_ID)
        if account().failed_attempts == 100:
            break
        locked_until = account().locked_until
        if locked_until is not None and locked_until > datetime.now(UTC):
            pauses.append(locked_until - datetime.now(UTC))
            time_machine.move_to(locked_until, tick=False)

    assert len(pauses) == 19
    assert pauses[:3] == [timedelta(minutes=1), timedelta(minutes=2), timedelta(minutes=4)]
    assert max(pauses) == pauses[-1] == timedelta(days=1)
    assert datetime.now(UTC) - NOON > timedelta(days=7)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("failures_per_code", "counted"),
    [
        # The real policy: the 5th failure pauses the account, and the 15 requests that
        # get the lock after it are refused without being counted.
        (services.FAILURES_PER_CODE, 5),
        # No pause within reach: every one of the 20 failures is counted, none lost.
        (1000, 20),
    ],
)
def test_it_counts_20_concurrent_wrong_codes_exactly(monkeypatch, failures_per_code, counted):
    monkeypatch.setattr(services, "FAILURES_PER_CODE", failures_per_code)
    code = issue()
    racers = 20

    outcomes = race(lambda: verify_id(Client(), wrong(code)).status_code, racers=racers)
    statuses = [o.value if o.error is None else repr(o.error) for o in outcomes]

    assert statuses == [400] * racers
    assert account().failed_attempts == counted
    code_left = UserCode.objects.filter(telegram_user_id=USER_ID).exists()
    assert code_left == (counted < failures_per_code)
    assert (account().locked_until is not None) == (counted == failures_per_code)


# --- An unknown account looks like a known one ---------------------------------------------


def shape(sql: str) -> str:
    """The statement with its values (NULL too) and savepoint names replaced by "?"."""
    sql = re.sub(r'"?\bs\d+_x\d+\b"?', "?", sql)
    sql = re.sub(r"'[^']*'(::\w+)?|= NULL\b", lambda m: "= ?" if m[0][0] == "=" else "?", sql)
    sql = re.sub(r"(?<![\w.])-?\d+(\.\d+)?\b", "?", sql)
    return re.sub(r"\s+", " ", sql)


def create_every_stand_in() -> None:
    """
    Verify unknown accounts until every stand-in row exists: the first unknown name that
    maps to one creates it (once per database), and the tests compare the steady state.
    """
    for attempt in range(1000):
        if TelegramAccount.objects.filter(pk__lt=0).count() == services.STAND_INS:
            return
        with pytest.raises(services.InvalidCode):
            services.code_verify(code="1234567", username=f"warm-up-{attempt}")
    raise AssertionError("the stand-ins were not all created")


def statements(client: Client, body: dict[str, Any]) -> list[str]:
    """Return the shapes of the statements one failed verification sends."""
    with CaptureQueriesContext(connection) as captured:
        response = verify(client, body)
    assert response.status_code == 400
    assert response.json()["status"] == "invalid_code"
    return [shape(query["sql"]) for query in captured.captured_queries]


@pytest.mark.parametrize("named_by", ["telegram_user_id", "username"])
def test_an_unknown_or_paused_account_costs_what_a_wrong_code_costs(client, named_by):
    # Timing must not tell a guesser which accounts exist (or are paused): every failure
    # sends the same statements, a locked read, the code's read and the counter's write,
    # and commits (the test's transaction shows that as RELEASE, not ROLLBACK TO, SAVEPOINT).
    names = {"telegram_user_id": (USER_ID, USER_ID + 1, 900), "username": ("alice", "p", "bob")}
    known, paused, unknown = names[named_by]
    code = issue()
    fail_times(client, 5, issue(user_id=USER_ID + 1, username="p"), USER_ID + 1)
    create_every_stand_in()

    kinds = {
        "known, wrong code": statements(client, {named_by: known, "code": wrong(code)}),
        "paused": statements(client, {named_by: paused, "code": "1234567"}),
        "unknown": statements(client, {named_by: unknown, "code": "1234567"}),
    }

    reference = kinds["known, wrong code"]
    assert any(s.startswith("UPDATE") and "telegram_accounts" in s for s in reference)
    assert reference[-1].startswith("RELEASE SAVEPOINT"), reference
    differing = {kind: sequence for kind, sequence in kinds.items() if sequence != reference}
    assert not differing, f"reference: {reference}"


def test_unknown_accounts_leave_no_row_of_their_own(client):
    # A row per unknown name would let a guesser fill the database.
    create_every_stand_in()

    for i in range(50):
        verify(client, {"telegram_user_id": 10_000 + i, "code": "1234567"})
        verify(client, {"username": f"nobody{i}", "code": "1234567"})

    assert not TelegramAccount.objects.filter(pk__gt=0).exists()
    assert TelegramAccount.objects.count() == services.STAND_INS
    stand_ins = TelegramAccount.objects.all()
    assert {(a.username, a.first_name) for a in stand_ins} == {(None, "")}
    assert sum(a.failed_attempts for a in stand_ins) > 0  # they count like accounts


@pytest.mark.django_db(transaction=True)
def test_concurrent_verifications_of_one_unknown_account_count_like_a_known_one():
    # All of them need the same stand-in, which does not exist yet: one creates it, the
    # others wait for it, and it counts 5 failures and pauses, as an account would.
    outcomes = race(lambda: verify(Client(), {"username": "nobody", "code": "1234567"}))

    statuses = [o.value.status_code if o.error is None else repr(o.error) for o in outcomes]
    assert statuses == [400] * len(outcomes)
    [stand_in] = TelegramAccount.objects.all()
    assert stand_in.pk < 0
    assert stand_in.failed_attempts == services.FAILURES_PER_CODE
    assert stand_in.locked_until is not None


# --- Never logged --------------------------------------------------------------------------


def test_it_never_logs_the_code(client, caplog, time_machine):
    caplog.set_level(logging.DEBUG)
    time_machine.move_to(NOON, tick=False)
    code = issue()
    issue()
    verify_id(client, wrong(code))
    verify(client, {"username": "alice", "code": wrong(code)})
    verify_id(client, code)
    verify_id(client, code)
    time_machine.shift(timedelta(minutes=10))
    stale = issue()
    fail_times(client, 5, stale)
    verify_id(client, stale)

    assert caplog.records, "nothing was logged: the test proves nothing"
    for record in caplog.records:
        text = f"{record.getMessage()} {record.args} {record.exc_text}"
        for canary in (code, wrong(code), stale, wrong(stale)):
            assert canary not in text, record.getMessage()
        assert not SEVEN_DIGITS.search(record.getMessage()), record.getMessage()
