"""How long until a moment, said as a person would: "1 hour", not "59 minutes"."""

from datetime import datetime, timedelta

from django.utils import timezone
from django.utils.translation import npgettext, pgettext

# The units follow "in" («через»), which in Russian takes the accusative: «через 1 минуту»,
# where a label on its own says «1 минута». Hence a context of their own ("after in"), written
# out in each call because makemessages reads only literal strings.


def _minutes(n: int) -> str:
    return npgettext("after in", "%(n)d minute", "%(n)d minutes", n) % {"n": n}


def _hours(n: int) -> str:
    return npgettext("after in", "%(n)d hour", "%(n)d hours", n) % {"n": n}


def _days(n: int) -> str:
    return npgettext("after in", "%(n)d day", "%(n)d days", n) % {"n": n}


def _in(duration: str) -> str:
    return pgettext("after in", "in %(duration)s") % {"duration": duration}


def _half_up(value: int, unit: int) -> int:
    return (value + unit // 2) // unit


def in_phrase(delta: timedelta) -> str:
    """
    Return "in …" for how long ``delta`` is: under a minute "in less than a minute", then to
    the nearest minute below a day ("in 23 hours 59 minutes"), to the nearest hour above.

    Rounded, not truncated: a page drawn a moment after a one-hour secret was created says
    "1 hour", where truncating said "59 minutes" and, in the last minute, "0 minutes".
    """
    seconds = max(0, int(delta.total_seconds()))
    if seconds < 60:
        return pgettext("after in", "in less than a minute")
    minutes = _half_up(seconds, 60)
    if minutes < 60:
        return _in(_minutes(minutes))
    if minutes < 24 * 60:
        hours, minutes = divmod(minutes, 60)
        # No comma between the parts: "23 часа 59 минут", as it is said.
        return _in(f"{_hours(hours)} {_minutes(minutes)}" if minutes else _hours(hours))
    days, hours = divmod(_half_up(seconds, 3600), 24)
    return _in(f"{_days(days)} {_hours(hours)}" if hours else _days(days))


def until_phrase(moment: datetime, now: datetime | None = None) -> str:
    """Return "in …" from now (or ``now``) until ``moment``, as in_phrase says it."""
    return in_phrase(moment - (now or timezone.now()))
