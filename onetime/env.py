"""
Typed readers for settings that come from the environment.

Every reader raises ImproperlyConfigured with the variable's name when a value is
malformed, so a bad deployment stops at start-up instead of misbehaving later.
``NAME_FILE`` (a path, as Docker secrets provide) is read when ``NAME`` is unset.
"""

import os
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured


def env_str(name: str, default: str = "") -> str:
    """Return the variable, or the contents of the file named by ``NAME_FILE``."""
    value = os.environ.get(name)
    if value is not None:
        return value
    path = os.environ.get(f"{name}_FILE")
    if path:
        try:
            return Path(path).read_text().strip()
        except OSError as exc:
            raise ImproperlyConfigured(f"{name}_FILE: cannot read {path!r}: {exc}") from exc
    return default


def env_bool(name: str, default: bool) -> bool:
    raw = env_str(name).strip().lower()
    if not raw:
        return default
    if raw in {"1", "true", "yes", "on"}:
        return True
    if raw in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false), got {raw!r}")


def env_int(
    name: str, default: int, *, min_value: int | None = None, max_value: int | None = None
) -> int:
    raw = env_str(name).strip()
    if not raw:
        value = default
    else:
        try:
            value = int(raw)
        except ValueError:
            raise ImproperlyConfigured(f"{name} must be an integer, got {raw!r}") from None
    if min_value is not None and value < min_value:
        raise ImproperlyConfigured(f"{name} must be at least {min_value}, got {value}")
    if max_value is not None and value > max_value:
        raise ImproperlyConfigured(f"{name} must be at most {max_value}, got {value}")
    return value


def env_list(name: str, default: list[str] | None = None) -> list[str]:
    """Return a comma-separated list with blanks removed."""
    raw = env_str(name)
    if not raw.strip():
        return list(default or [])
    return [item.strip() for item in raw.split(",") if item.strip()]


_RATE_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def env_rate(name: str, default: str) -> tuple[int, int] | None:
    """
    Return ``(count, period_seconds)`` from a value such as ``60/m``, or None for ``off``.

    The period is one of s, m, h, d, optionally with a multiplier (``10/5m``).
    """
    raw = (env_str(name) or default).strip().lower()
    if raw in {"off", "0", "none"}:
        return None
    try:
        count_str, period_str = raw.split("/", 1)
        count = int(count_str)
        multiplier = int(period_str[:-1] or 1)
        period = multiplier * _RATE_PERIODS[period_str[-1]]
    except (ValueError, KeyError, IndexError):
        raise ImproperlyConfigured(
            f"{name} must look like 60/m (count per s, m, h or d) or 'off', got {raw!r}"
        ) from None
    if count < 1 or period < 1:
        raise ImproperlyConfigured(f"{name} must have a positive count and period, got {raw!r}")
    return count, period
