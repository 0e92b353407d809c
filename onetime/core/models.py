from django.db import models


class RateLimitHit(models.Model):
    """
    Hits of one client in one fixed time window, for one policy (see ratelimit.py).

    The counter is bumped by a single INSERT … ON CONFLICT DO UPDATE … RETURNING, so every
    worker process shares it and concurrent hits are never lost.
    """

    key = models.CharField(max_length=80)
    bucket = models.BigIntegerField()
    hits = models.PositiveIntegerField(default=1)
    # Purged by cleanup after this moment.
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        db_table = "rate_limit_hits"
        constraints = [
            models.UniqueConstraint(fields=["key", "bucket"], name="rate_limit_key_bucket"),
        ]

    def __str__(self) -> str:
        return f"{self.key}@{self.bucket}: {self.hits}"
