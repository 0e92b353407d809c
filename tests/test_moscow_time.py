"""
The bot tells the expiry in Moscow time (PRODUCT.md §3.1): Europe/Moscow from zoneinfo, not a
fixed offset, as HH:MM, in a reply of exactly two lines.
"""

from datetime import UTC, datetime

import pytest

from onetime.bot.handlers import moscow_time, reply_to
from onetime.codes.models import UserCode
from tests.conftest import code_message
from tests.fake_telegram import make_update

pytestmark = [pytest.mark.django_db, pytest.mark.sqlite]


def label(value: object) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if isinstance(value, datetime) else str(value)


USER_ID = 8_800_555


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        # Today's Moscow: UTC+3 all year round since October 2014.
        (datetime(2026, 3, 1, 12, 0, tzinfo=UTC), "15:00"),
        (datetime(2026, 7, 1, 12, 0, tzinfo=UTC), "15:00"),
        (datetime(2026, 3, 1, 21, 3, tzinfo=UTC), "00:03"),
        (datetime(2026, 3, 2, 3, 4, tzinfo=UTC), "06:04"),
        # History that a fixed offset would get wrong: UTC+3 in winter 2011, then UTC+4
        # from March 2011 to October 2014.
        (datetime(2011, 1, 15, 12, 0, tzinfo=UTC), "15:00"),
        (datetime(2012, 7, 1, 12, 0, tzinfo=UTC), "16:00"),
        (datetime(2013, 12, 31, 20, 30, tzinfo=UTC), "00:30"),
    ],
    ids=label,
)
def test_it_tells_moscow_time_by_the_zoneinfo_rules(moment, expected):
    assert moscow_time(moment) == expected


@pytest.mark.parametrize(
    ("now", "minutes", "until"),
    [
        (datetime(2026, 3, 1, 12, 0, tzinfo=UTC), 5, "15:05"),
        # Across midnight in Moscow while it is still the previous day in UTC.
        (datetime(2026, 3, 1, 20, 58, tzinfo=UTC), 5, "00:03"),
        (datetime(2026, 3, 1, 23, 59, tzinfo=UTC), 5, "03:04"),
        # Across midnight in UTC too.
        (datetime(2026, 12, 31, 23, 58, 30, tzinfo=UTC), 5, "03:03"),
        (datetime(2026, 3, 1, 20, 30, tzinfo=UTC), 45, "00:15"),
    ],
    ids=label,
)
def test_it_replies_to_code_with_the_expiry_in_moscow_time(
    settings, time_machine, now, minutes, until
):
    settings.TELEGRAM_CODE_EXPIRATION_MINUTES = minutes
    time_machine.move_to(now, tick=False)

    reply = reply_to(make_update(user_id=USER_ID))

    assert reply is not None
    assert reply.chat_id == USER_ID
    code, shown_until = code_message(reply.text)
    assert shown_until == until
    assert code == UserCode.objects.get(telegram_user_id=USER_ID).code
    assert reply.protect_content


def test_it_repeats_the_original_expiry_when_the_code_is_asked_for_again(time_machine):
    time_machine.move_to(datetime(2026, 3, 1, 20, 58, tzinfo=UTC), tick=False)
    first = reply_to(make_update(user_id=USER_ID))

    time_machine.move_to(datetime(2026, 3, 1, 21, 2, 59, tzinfo=UTC), tick=False)
    again = reply_to(make_update(user_id=USER_ID))

    assert first is not None
    assert again is not None
    assert again.text == first.text
    assert code_message(again.text)[1] == "00:03"
