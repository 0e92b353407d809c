"""Bulk changes in bounded batches, so that no statement holds many row locks for long."""

from typing import Any

from django.db.models import QuerySet


def delete_in_batches(queryset: QuerySet[Any], *, batch_size: int) -> int:
    """
    Delete the rows of ``queryset``, at most ``batch_size`` per DELETE; return the count.

    Each batch is one statement, ``DELETE … WHERE id IN (SELECT id … LIMIT n) AND <filter>``:
    the outer filter is re-checked on rows that changed while the statement waited for them.
    """
    total = 0
    while True:
        batch = queryset.values("pk")[:batch_size]
        deleted, _ = queryset.filter(pk__in=batch).delete()
        total += deleted
        if deleted < batch_size:
            return total


def update_in_batches(queryset: QuerySet[Any], *, batch_size: int, **changes: Any) -> int:
    """Apply ``changes`` to the rows of ``queryset`` in batches, like delete_in_batches."""
    total = 0
    while True:
        batch = queryset.values("pk")[:batch_size]
        updated = queryset.filter(pk__in=batch).update(**changes)
        total += updated
        if updated < batch_size:
            return total
