"""
One cleanup pass: what the scheduler runs every CLEANUP_INTERVAL_SECONDS.

The pass orchestrates use cases of the vault and of codes, so it lives in an app of its own
above both, not in core, the floor that every app stands on.
"""

import logging
from dataclasses import dataclass

from django.utils import timezone

from onetime.codes.services import codes_delete_expired
from onetime.core.locks import try_exclusive
from onetime.core.ratelimit import rate_limits_purge
from onetime.vault.services import secrets_expire, tombstones_purge

logger = logging.getLogger("onetime.cleanup")

LOCK_NAME = "onetime.cleanup"


@dataclass(frozen=True)
class CleanupCounts:
    expired_codes: int
    expired_secrets: int
    purged_tombstones: int
    purged_rate_limits: int


def cleanup_run(*, batch_size: int = 10_000, dry_run: bool = False) -> CleanupCounts | None:
    """
    Delete expired codes, wipe expired secrets to tombstones, purge old tombstones and
    rate-limit counters; return the counts, or None when another process is cleaning up.
    With ``dry_run`` only count what would go.
    """
    now = timezone.now()
    with try_exclusive(LOCK_NAME) as acquired:
        if not acquired:
            logger.info("cleanup: skipped, another process holds the lock")
            return None
        counts = CleanupCounts(
            expired_codes=codes_delete_expired(now=now, batch_size=batch_size, dry_run=dry_run),
            expired_secrets=secrets_expire(now=now, batch_size=batch_size, dry_run=dry_run),
            purged_tombstones=tombstones_purge(now=now, batch_size=batch_size, dry_run=dry_run),
            purged_rate_limits=rate_limits_purge(now=now, batch_size=batch_size, dry_run=dry_run),
        )
    logger.info(
        "cleanup%s: %d expired codes deleted, %d expired secrets wiped, %d tombstones purged, "
        "%d rate-limit counters purged",
        " (dry run)" if dry_run else "",
        counts.expired_codes,
        counts.expired_secrets,
        counts.purged_tombstones,
        counts.purged_rate_limits,
    )
    return counts
