"""
Prometheus metrics.

With several processes (web workers, the bot, the scheduler) set
PROMETHEUS_MULTIPROC_DIR to a directory they all share: every process then writes its
samples there and /metrics sums them. Without it, /metrics shows this process only.
"""

import os
import socket
import time
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
    values,
)

if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    # Each process writes its own file, named by process id; containers sharing the
    # directory each have their own PID namespace (every one is PID 1), so add the host.
    values.ValueClass = values.MultiProcessValue(  # type: ignore[no-untyped-call]
        process_identifier=lambda: f"{socket.gethostname()}_{os.getpid()}"
    )

CODES_CREATED = Counter("onetime_codes_created", "Temporary codes issued (not re-sent ones).")
CODE_GENERATION_SECONDS = Histogram(
    "onetime_code_generation_seconds",
    "Time to issue a new code, collision retries included.",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0),
)
CODES_EXPIRED_DELETED = Counter(
    "onetime_codes_expired_deleted", "Expired codes deleted by cleanup."
)

SECRETS_CREATED = Counter("onetime_secrets_created", "Secrets created.")
SECRETS_REVEALED = Counter("onetime_secrets_revealed", "Secrets revealed (and destroyed).")
SECRETS_EXPIRED = Counter("onetime_secrets_expired", "Secrets wiped because their TTL ran out.")
SECRETS_BURNED = Counter(
    "onetime_secrets_burned", "Secrets destroyed by their sender or by wrong passphrases."
)

NOTIFICATIONS_QUEUED = Counter(
    "onetime_notifications_queued", "Notifications to senders written to the outbox."
)
NOTIFICATIONS_SENT = Counter("onetime_notifications_sent", "Notifications delivered to Telegram.")
NOTIFICATIONS_FAILED = Counter(
    "onetime_notifications_failed", "Notification deliveries that failed (each try counts)."
)
NOTIFICATIONS_DROPPED = Counter(
    "onetime_notifications_dropped",
    "Notifications given up: refused by the chat or failing after every retry.",
)
NOTIFICATIONS_RATE_LIMITED = Counter(
    "onetime_notifications_rate_limited",
    "Bot API 429 answers to notifications: sending paused for the retry_after they named.",
)
NOTIFICATION_DELAY_SECONDS = Histogram(
    "onetime_notification_delay_seconds",
    "From queueing (in the state change's transaction) to Telegram's acceptance.",
    buckets=(0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 3600.0),
)

HTTP_REQUESTS = Counter(
    "onetime_http_requests",
    "HTTP requests by route pattern, method and status.",
    ["route", "method", "status"],
)
HTTP_LATENCY = Histogram(
    "onetime_http_request_duration_seconds",
    "HTTP request latency by route pattern.",
    ["route"],
    buckets=(0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
)


def exposition() -> tuple[bytes, str]:
    """Return the metrics of every process (multiprocess mode) or of this one, as text."""
    registry = REGISTRY
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    return generate_latest(registry), CONTENT_TYPE_LATEST


# Label values must not come from the client unchecked: every new one is a new series.
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class MetricsMiddleware:
    """Count requests and their latency by route pattern (never by path: paths carry ids)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        match = request.resolver_match
        route = f"/{match.route}" if match is not None else "unmatched"
        method = request.method if request.method in _METHODS else "other"
        HTTP_REQUESTS.labels(route, method, str(response.status_code)).inc()
        HTTP_LATENCY.labels(route).observe(time.perf_counter() - started)
        return response
