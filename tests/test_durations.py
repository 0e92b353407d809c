"""How long until a secret is destroyed, said as a person would (issue 13, item 5)."""

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.utils import translation

from onetime.core.durations import in_phrase, until_phrase

pytestmark = pytest.mark.sqlite

MINUTE, HOUR, DAY = 60, 3600, 86400

# (seconds, Russian, English): the boundaries of each rounding, then the plural forms.
PHRASES = [
    (0, "меньше чем через минуту", "in less than a minute"),
    (59, "меньше чем через минуту", "in less than a minute"),
    (60, "1 минуту", "1 minute"),
    (89, "1 минуту", "1 minute"),
    (90, "2 минуты", "2 minutes"),
    (5 * MINUTE, "5 минут", "5 minutes"),
    (21 * MINUTE, "21 минуту", "21 minutes"),
    (59 * MINUTE + 29, "59 минут", "59 minutes"),
    (59 * MINUTE + 59, "1 час", "1 hour"),
    (HOUR, "1 час", "1 hour"),
    (HOUR + MINUTE, "1 час 1 минуту", "1 hour 1 minute"),
    (2 * HOUR + 22 * MINUTE, "2 часа 22 минуты", "2 hours 22 minutes"),
    (11 * HOUR + 14 * MINUTE, "11 часов 14 минут", "11 hours 14 minutes"),
    (23 * HOUR + 59 * MINUTE, "23 часа 59 минут", "23 hours 59 minutes"),
    (DAY - 1, "1 день", "1 day"),
    (DAY, "1 день", "1 day"),
    (DAY + 20 * MINUTE, "1 день", "1 day"),
    (DAY + 3 * HOUR, "1 день 3 часа", "1 day 3 hours"),
    (2 * DAY, "2 дня", "2 days"),
    (5 * DAY + 21 * HOUR, "5 дней 21 час", "5 days 21 hours"),
    (7 * DAY - 1, "7 дней", "7 days"),
    (7 * DAY, "7 дней", "7 days"),
    (21 * DAY, "21 день", "21 days"),
]


@pytest.mark.parametrize(("seconds", "ru", "en"), PHRASES, ids=[str(p[0]) for p in PHRASES])
def test_it_rounds_and_inflects_as_a_person_would(seconds, ru, en):
    if seconds >= 60:
        ru, en = f"через {ru}", f"in {en}"
    with translation.override("ru"):
        assert in_phrase(timedelta(seconds=seconds)) == ru
    with translation.override("en"):
        assert in_phrase(timedelta(seconds=seconds)) == en


def test_a_moment_already_past_is_less_than_a_minute_away():
    with translation.override("en"):
        assert in_phrase(timedelta(seconds=-30)) == "in less than a minute"


def test_it_counts_from_the_given_moment():
    now = datetime(2030, 5, 17, 12, 0, 0, 400_000, tzinfo=UTC)
    with translation.override("ru"):
        # A page drawn 0.4 s after a one-hour secret was created.
        assert until_phrase(now + timedelta(seconds=3599.6), now) == "через 1 час"


T0 = datetime(2030, 5, 17, 12, 0, tzinfo=UTC)
EXPIRY = '<time class="local-time" datetime="2030-05-17T13:00:00Z">2030-05-17 13:00 UTC</time>'


@pytest.mark.django_db
def test_every_page_says_how_long_and_when_in_utc_for_local_time(client):
    with time_machine.travel(T0, tick=False) as traveller:
        created = client.post("/", {"secret": "x", "ttl": "3600"}, HTTP_ACCEPT_LANGUAGE="ru")
        page = created.content.decode()
        secret_path = re.search(r"/s/[0-9a-f-]{36}", page)
        receipt_path = re.search(r"/r/[A-Za-z0-9_-]{16,}", page)
        assert secret_path
        assert receipt_path
        traveller.move_to(T0 + timedelta(minutes=58, seconds=45))
        offer = client.get(secret_path.group(), HTTP_ACCEPT_LANGUAGE="ru").content.decode()
        receipt = client.get(receipt_path.group(), HTTP_ACCEPT_LANGUAGE="en").content.decode()

    assert f"Если секрет никто не откроет, он будет уничтожен через 1 час ({EXPIRY})." in page
    assert f"он будет уничтожен через 1 минуту ({EXPIRY})." in offer
    assert f'{EXPIRY} <span class="until">(in 1 minute)</span>' in receipt
    assert '<time class="local-time" datetime="2030-05-17T12:00:00Z">' in receipt
