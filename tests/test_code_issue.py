"""
Issuing a code (PRODUCT.md §3.1, §3.2): seven digits from a CSPRNG, one active code per user
that comes back unchanged until it expires, a lifetime from the settings, and the user's
current name and username on record.
"""

import ast
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from onetime.codes import services
from onetime.codes.models import TelegramAccount, UserCode
from tests.conftest import SEVEN_DIGITS

pytestmark = [pytest.mark.django_db, pytest.mark.sqlite]

NOON = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def issue(
    user_id: int = 5550001, username: str | None = "alice", first_name: str = "Alice"
) -> services.IssuedCode:
    return services.code_issue(telegram_user_id=user_id, username=username, first_name=first_name)


def test_it_issues_seven_digits_between_1000000_and_9999999():
    issued = [issue(user_id=5550000 + i, username=None) for i in range(50)]

    for item in issued:
        assert SEVEN_DIGITS.fullmatch(item.code), item.code
        assert 1_000_000 <= int(item.code) <= 9_999_999
        assert item.created
    assert len({item.code for item in issued}) == 50


def test_it_draws_from_the_whole_range_of_seven_digit_codes():
    draws = [services._draw_code() for _ in range(5000)]

    assert all(SEVEN_DIGITS.fullmatch(code) for code in draws)
    # Every leading digit shows up (a narrower range would miss some; with the full range
    # the odds of missing one are 9 * (8/9)^5000, nil).
    assert {code[0] for code in draws} == set("123456789")


def test_it_returns_the_same_code_and_expiry_while_the_code_is_active(time_machine):
    time_machine.move_to(NOON, tick=False)
    first = issue()

    time_machine.shift(timedelta(minutes=4, seconds=59))
    again = issue()

    assert (again.code, again.expires_at) == (first.code, first.expires_at)
    assert (first.created, again.created) == (True, False)
    assert UserCode.objects.filter(telegram_user_id=5550001).count() == 1


def test_it_issues_a_new_code_once_the_old_one_has_expired(time_machine):
    time_machine.move_to(NOON, tick=False)
    first = issue()

    time_machine.shift(timedelta(minutes=5, seconds=1))
    second = issue()

    assert second.created
    assert second.code != first.code
    assert second.expires_at == NOON + timedelta(minutes=10, seconds=1)
    row = UserCode.objects.get(telegram_user_id=5550001)
    assert (row.code, row.expires_at) == (second.code, second.expires_at)


def test_it_treats_a_code_as_expired_at_its_expiry_instant(time_machine):
    # The same boundary as verification and cleanup: active means expires_at > now.
    time_machine.move_to(NOON, tick=False)
    first = issue()

    time_machine.move_to(first.expires_at, tick=False)
    second = issue()

    assert second.created
    assert second.expires_at == first.expires_at + timedelta(minutes=5)


def test_it_takes_the_lifetime_from_telegram_code_expiration_minutes(settings, time_machine):
    settings.TELEGRAM_CODE_EXPIRATION_MINUTES = 17
    time_machine.move_to(NOON, tick=False)

    issued = issue()

    assert issued.expires_at == NOON + timedelta(minutes=17)
    assert UserCode.objects.get(telegram_user_id=5550001).expires_at == issued.expires_at

    time_machine.shift(timedelta(minutes=16, seconds=59))
    assert issue().code == issued.code
    time_machine.shift(timedelta(seconds=1))
    assert issue().created


def test_it_stores_the_first_name_and_the_username_lower_cased_without_the_at_sign():
    issue(user_id=5550001, username="@Alice_Smith", first_name="Алиса")

    account = TelegramAccount.objects.get(pk=5550001)
    assert (account.username, account.first_name) == ("alice_smith", "Алиса")


def test_it_keeps_the_name_and_username_up_to_date():
    issue(user_id=5550001, username="alice", first_name="Alice")
    issue(user_id=5550001, username=None, first_name="Alice B.")

    account = TelegramAccount.objects.get(pk=5550001)
    assert (account.username, account.first_name) == (None, "Alice B.")


def test_it_clears_a_username_from_its_previous_owner():
    issue(user_id=5550001, username="alice")
    issue(user_id=5550002, username="Alice")

    assert TelegramAccount.objects.get(pk=5550001).username is None
    assert TelegramAccount.objects.get(pk=5550002).username == "alice"


@pytest.mark.parametrize("user_id", [0, -1])
def test_it_issues_nothing_to_an_id_telegram_never_gives_a_user(user_id):
    # Ids below 1 belong to verification's stand-ins for unknown accounts (see code_verify).
    with pytest.raises(ValueError, match="positive"):
        issue(user_id=user_id)

    assert not TelegramAccount.objects.exists()
    assert not UserCode.objects.exists()


def test_it_draws_codes_from_secrets_never_from_random():
    source = Path(services.__file__).read_text()
    imported: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            imported.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])

    assert "secrets" in imported
    assert "random" not in imported
    assert "secrets.randbelow" in source
