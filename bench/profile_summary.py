"""
Summarize a py-spy raw (collapsed stacks) profile of the server's workers: granian's
(production, `python -m onetime.serve`) or gunicorn's.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any

_FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^():]+)(?::\d+)?\)$")

# Where a sample's time goes, by the innermost frame that matches (first match wins, from
# the leaf up). Patterns are (label, substring of "file function").
CATEGORIES = [
    ("PostgreSQL: waiting for the server", ("psycopg/", "wait")),
    ("psycopg (client side)", ("psycopg", "")),
    ("logging (app INFO lines + access log)", ("logging/", "")),
    ("prometheus_client (metrics)", ("prometheus_client", "")),
    ("cryptography (AES-GCM)", ("cryptography", "")),
    ("DRF (views, serializers, renderer, parser)", ("rest_framework", "")),
    ("Django ORM (query building, model init)", ("django/db", "")),
    ("Django templates", ("django/template", "")),
    ("Django i18n / locale", ("django/utils/translation", "")),
    ("Django URL resolving", ("django/urls", "")),
    ("Django middleware + request/response", ("django/", "")),
    ("server: ASGI front (onetime/asgi.py)", ("onetime/asgi.py", "")),
    ("OneTime code", ("onetime/", "")),
    ("server: asyncio event loop", ("asyncio/", "")),
    ("server: granian", ("granian", "")),
    ("gunicorn (HTTP parsing, socket I/O)", ("gunicorn", "")),
]

# A sample is request time when its stack holds one of these ("function (file" pieces):
# the server calling the app (gunicorn; granian's per-request wrapper, access log
# included), or the app's entry in a WSGI thread. A worker idling is not.
REQUEST_FRAMES = (
    "handle_request (",
    "granian/asgi.py",
    "granian/wsgi.py",
    "onetime/asgi.py",
    "django/core/handlers/wsgi.py",
)


def _parse(line: str) -> tuple[list[tuple[str, str]], int] | None:
    stack, _, count = line.rpartition(" ")
    if not count.isdigit():
        return None
    frames = []
    for raw in stack.split(";"):
        m = _FRAME.match(raw)
        frames.append((m["func"], m["file"]) if m else (raw, ""))
    return frames, int(count)


def _category(frames: list[tuple[str, str]]) -> str:
    for func, file in reversed(frames):
        for label, (path_part, func_part) in CATEGORIES:
            if path_part in file and func_part in func:
                return label
    return "other (stdlib, interpreter)"


# Inclusive time of a few frames that the levers in issue 5 would remove or change.
MARKERS = {
    "connection health check (SELECT 1 before the first query)": "is_usable",
    "transaction.atomic enter/exit (BEGIN/COMMIT)": "__exit__ (django/db/transaction.py",
    "secret_create": "secret_create (",
    "secret_reveal": "secret_reveal (",
    "MetricsMiddleware": "__call__ (onetime/core/metrics.py",
    "granian access log line (through the redacting handler)": "log_request (",
    "gunicorn access log line": "access (gunicorn/glogging.py",
    "app log lines (logger.info)": "info (logging/__init__.py",
    "JSON renderer": "render (rest_framework/renderers.py",
    "DRF serializers (input validation + output)": "data (rest_framework/serializers.py",
}


def summarize(path: Path) -> dict[str, Any]:
    """Return the share of request time per category and marker, with a text table."""
    categories: Counter[str] = Counter()
    markers: Counter[str] = Counter()
    total = 0
    for line in path.read_text().splitlines():
        parsed = _parse(line)
        if parsed is None:
            continue
        frames, count = parsed
        joined = ";".join(f"{func} ({file}" for func, file in frames)
        # Only time spent serving a request: a worker idling in select() is not.
        if not any(frame in joined for frame in REQUEST_FRAMES):
            continue
        total += count
        categories[_category(frames)] += count
        for label, needle in MARKERS.items():
            if needle in joined:
                markers[label] += count
    lines = [f"py-spy: {total} samples while serving a request (wall clock, --idle)"]
    lines.append("Where the time goes (innermost matching frame):")
    for label, count in categories.most_common():
        lines.append(f"  {100 * count / max(total, 1):5.1f}%  {label}")
    lines.append("Inclusive time of selected frames:")
    for label, count in markers.most_common():
        lines.append(f"  {100 * count / max(total, 1):5.1f}%  {label}")
    return {
        "samples": total,
        "categories": {k: round(100 * v / max(total, 1), 1) for k, v in categories.items()},
        "markers": {k: round(100 * v / max(total, 1), 1) for k, v in markers.items()},
        "text": "\n".join(lines) + "\n",
    }
