"""
Password Pusher's JSON documents over OneTime's secrets (docs/compatibility.md): how its
parameters are read (Rails-style nested keys and casts), how its days map onto a TTL, and the
push document in its key order. Pure: no request, no services.
"""

import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from onetime.core.parsers import to_i
from onetime.vault.models import Secret

DAY = 86400

# Password Pusher's own bounds for expire_after_days (settings.yml pw.expire_after_days_*):
# a value outside them is replaced by the default, not clamped (Push#set_expire_limits).
PWP_MIN_DAYS, PWP_MAX_DAYS = 1, 90

# pwpush-cli on the v2 profile sends expire_after_duration, an index into Password Pusher
# Pro's durations, for these day counts (pwpush/api/endpoints.py#_DURATION_BY_DAYS).
DAYS_BY_DURATION = {
    6: 1,
    7: 2,
    8: 3,
    9: 4,
    10: 5,
    11: 6,
    12: 7,
    13: 14,
    14: 21,
    15: 30,
    16: 60,
    17: 90,
}

# Password Pusher's answer for a token, or an /api/v2/ address, it does not know.
NOT_FOUND = {"error": "not-found"}

# Rails' truth set for Password Pusher's boolean parameters (set_push_attributes.rb).
TRUE_VALUES = frozenset({"on", "yes", "checked", "true", "1"})

_KEY = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")
_PART = re.compile(r"\[([^\[\]]*)\]")


def nested_params(flat: dict[str, Any]) -> dict[str, Any]:
    """
    Return ``flat`` parameters with Rails-style keys unfolded: ``password[payload]`` becomes
    ``{"password": {"payload": …}}``; ``files[]`` a list. A key that conflicts with a value
    already there (``a=1`` and ``a[b]=2``) keeps the later one, as Rack does.
    """
    result: dict[str, Any] = {}
    for key, value in flat.items():
        match = _KEY.match(key)
        parts = [match.group(1), *_PART.findall(match.group(2))] if match else [key]
        *parents, last = parts
        appends = last == "" and bool(parents)
        if appends:
            *parents, last = parents
        if not parents or "" in parents:
            # A plain key, or a list in the middle (a[][b]), which Password Pusher never reads.
            result[key] = value
            continue
        node = result
        for part in parents:
            child = node.get(part)
            if not isinstance(child, dict):
                child = node[part] = {}
            node = child
        if appends:
            items = node.get(last)
            node[last] = [*items, value] if isinstance(items, list) else [value]
        else:
            node[last] = value
    return result


def is_true(value: Any) -> bool:
    """Return Password Pusher's reading of a boolean parameter (Rails: ``to_s.downcase``)."""
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in TRUE_VALUES if value is not None else False


def rails_integer(value: Any) -> int | None:
    """
    Return ``value`` cast as Rails casts an integer attribute: None or "" → None, true → 1,
    false → 0, a number truncated, a string by its leading digits ("abc" → 0, like to_i).
    """
    if value is None:
        return None
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if math.isfinite(value) else None
    if isinstance(value, str):
        if not value.strip():
            return None
        return to_i(value)
    return None


@dataclass(frozen=True)
class Lifetime:
    days: int  # reported in expire_after_days
    ttl: int  # seconds, for secret_create


def lifetime(
    *, expire_after_days: Any, expire_after_duration: Any, default_ttl: int, max_ttl: int
) -> Lifetime:
    """
    Return the days to report and the TTL to use for a push's expiry parameters: a known
    ``expire_after_duration`` (pwpush-cli) first, then ``expire_after_days``; absent, or
    outside Password Pusher's [1, 90], OneTime's default; then within ONETIME_MAX_TTL.
    """
    max_days = max(1, max_ttl // DAY)
    default = min(max(1, round(default_ttl / DAY)), max_days)
    days = DAYS_BY_DURATION.get(rails_integer(expire_after_duration) or -1)
    if days is None:
        days = rails_integer(expire_after_days)
    if days is None or not PWP_MIN_DAYS <= days <= PWP_MAX_DAYS:
        days = default
    days = min(days, max_days)
    return Lifetime(days=days, ttl=min(days * DAY, max_ttl))


def pwp_time(moment: datetime | None) -> str | None:
    """Return ``moment`` as Password Pusher writes times: UTC, milliseconds, ``Z``."""
    if moment is None:
        return None
    utc = moment.astimezone(UTC)
    return f"{utc:%Y-%m-%dT%H:%M:%S}.{utc.microsecond // 1000:03d}Z"


def lifetime_days(secret: Secret) -> int:
    """Return a secret's lifetime in whole days, rounded up (at least 1)."""
    seconds = (secret.expires_at - secret.created_at).total_seconds()
    return max(1, math.ceil(seconds / DAY))


# The actions whose documents Password Pusher's _push.json.jbuilder shapes.
CREATE, SHOW, DESTROY = "create", "show", "destroy"


def push_document(
    secret: Secret,
    *,
    action: str,
    now: datetime,
    html_url: str,
    json_url: str,
    live: bool,
    passphrase: str | None = None,
    payload: str | None = None,
    note: str = "",
    name: str = "",
) -> dict[str, Any]:
    """
    Return the push document of ``secret`` in Password Pusher's key order. ``live``: the
    secret was still live for this request (created, or revealed by it); otherwise the
    document is the expired one (no payload, no passphrase). ``passphrase`` is echoed as the
    request gave it: OneTime stores none in plaintext.
    """
    days = lifetime_days(secret)
    days_old = int((now - secret.created_at).total_seconds() // DAY)
    ended = None if live else (secret.ended_at or secret.expires_at)
    document: dict[str, Any] = {
        "expire_after_views": 1,
        "expired": not live,
        "url_token": str(secret.id),
        "deletable_by_viewer": secret.deletable_by_viewer,
        "retrieval_step": True,
        "expired_on": pwp_time(ended),
        "passphrase": (passphrase or "") if live else None,
        "created_at": pwp_time(secret.created_at),
        "updated_at": pwp_time(secret.ended_at or secret.created_at),
        "expire_after_days": days,
        "days_remaining": max(days - days_old, 0),
        "views_remaining": 1 if action == CREATE else 0,
        "deleted": secret.state == Secret.State.BURNED,
        "json_url": json_url,
        "html_url": html_url,
    }
    if action == CREATE:
        document["note"] = note
        document["name"] = name
    if action == SHOW:
        document["payload"] = payload if live else None
        document["files"] = []
    return document


def version_document(*, application_version: str, api_version: str) -> dict[str, Any]:
    """Return the /api/v1/version or /api/v2/version document (v2: with the feature map)."""
    document: dict[str, Any] = {
        "application_version": application_version,
        "api_version": api_version,
        "edition": "oss",
    }
    if api_version.startswith("2"):
        document["features"] = {
            "anonymous_access": True,
            "api_token_authentication": False,
            "accounts": {"enabled": False},
            "pushes": {
                "enabled": True,
                "email_auto_dispatch": False,
                "file_attachments": {"enabled": False, "requires_authentication": True},
                "url_pushes": {"enabled": False},
                "qr_code_pushes": {"enabled": False},
            },
            "requests": {"enabled": False},
        }
    return document
