"""Template filters for moments: how long until one, and the moment for the reader's clock."""

from datetime import UTC, datetime

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString

from onetime.core.durations import until_phrase

register = template.Library()


@register.filter
def until(moment: datetime) -> str:
    """Return "in …" until ``moment``, rounded as a person would say it."""
    return until_phrase(moment)


@register.filter
def moment(value: datetime) -> SafeString:
    """
    Return ``value`` as a <time> in UTC, which localtime.js rewrites into the reader's own
    time zone; without JavaScript the UTC text stays.
    """
    utc = value.astimezone(UTC)
    return format_html(
        '<time class="local-time" datetime="{}">{} UTC</time>',
        utc.strftime("%Y-%m-%dT%H:%M:%SZ"),
        utc.strftime("%Y-%m-%d %H:%M"),
    )
