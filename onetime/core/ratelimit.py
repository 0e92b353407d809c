"""
Per-client abuse limits, counted in the database so that every worker shares them.

A policy allows ``count`` hits per fixed window of ``period`` seconds (settings
ONETIME_RATE_*, e.g. ``30/m``). A fixed window lets a client burst to twice the rate
across a window boundary; that is accepted for its one-statement simplicity.
Clients are keyed by a hash of their IP (IPv6 by its /64, which one host usually owns), or
of any other key a caller passes instead (the bot: ``telegram:<user id>``), which no IP
address can equal.
"""

import hashlib
import ipaddress
import math
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection
from django.http import HttpRequest
from django.utils import timezone

from onetime.core.batches import delete_in_batches
from onetime.core.errors import RateLimited
from onetime.core.models import RateLimitHit

# Named policies: the setting holding (count, period) for each.
CREATE = "ONETIME_RATE_CREATE"
REVEAL = "ONETIME_RATE_REVEAL"
LOOKUP = "ONETIME_RATE_LOOKUP"

_BUMP_SQL = f"""
    INSERT INTO {RateLimitHit._meta.db_table} (key, bucket, hits, expires_at)
    VALUES (%s, %s, 1, %s)
    ON CONFLICT (key, bucket) DO UPDATE SET hits = {RateLimitHit._meta.db_table}.hits + 1
    RETURNING hits
"""  # noqa: S608 - the table name is ours, the values are bound parameters


def client_ip(request: HttpRequest) -> str:
    """
    Return the client's address: REMOTE_ADDR, or, behind ONETIME_PROXY_COUNT proxies,
    the address the outermost trusted proxy saw (counted from the right of X-Forwarded-For).
    """
    remote = str(request.META.get("REMOTE_ADDR") or "unknown")
    proxies: int = settings.ONETIME_PROXY_COUNT
    if not proxies:
        return remote
    header = str(request.META.get("HTTP_X_FORWARDED_FOR", ""))
    forwarded = [p.strip() for p in header.split(",")]
    forwarded = [p for p in forwarded if p]
    if len(forwarded) < proxies:
        return remote
    candidate = forwarded[-proxies]
    try:
        ipaddress.ip_address(candidate)
    except ValueError:
        return remote
    return candidate


def _client_key(policy: str, ip: str) -> str:
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        group = ip
    else:
        # A dual-stack socket reports IPv4 clients as ::ffff:a.b.c.d; all of those lie in
        # one /64, so key them by their IPv4 address instead.
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
            address = address.ipv4_mapped
        prefix = 64 if address.version == 6 else 32
        group = str(ipaddress.ip_network(f"{address}/{prefix}", strict=False))
    digest = hashlib.sha256(f"{settings.SECRET_KEY}\x00{group}".encode()).hexdigest()[:32]
    return f"{policy.removeprefix('ONETIME_RATE_').lower()}:{digest}"


def rate_limit_hit(policy: str, ip: str) -> None:
    """Count one hit of ``ip`` against ``policy``; raise RateLimited when over the limit."""
    limit: tuple[int, int] | None = getattr(settings, policy)
    if limit is None:
        return
    count, period = limit
    now = timezone.now()
    epoch = now.timestamp()
    bucket = int(epoch // period)
    window_end = (bucket + 1) * period
    expires_at = now + timedelta(seconds=window_end - epoch)
    with connection.cursor() as cursor:
        cursor.execute(_BUMP_SQL, [_client_key(policy, ip), bucket, expires_at])
        (hits,) = cursor.fetchone()
    if hits > count:
        raise RateLimited(retry_after=max(1, math.ceil(window_end - epoch)))


def rate_limits_purge(*, now: datetime, batch_size: int, dry_run: bool = False) -> int:
    """Delete counters of windows that have ended, in batches; return how many."""
    ended = RateLimitHit.objects.filter(expires_at__lte=now).order_by("expires_at")
    if dry_run:
        return ended.count()
    return delete_in_batches(ended, batch_size=batch_size)
