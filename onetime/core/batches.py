"""Bulk changes in bounded batches, so that no statement holds many row locks for long."""

from typing import Any

from django.db import connections
from django.db.models import BooleanField, F, Func, QuerySet


def _next_batch(queryset: QuerySet[Any], *, batch_size: int) -> QuerySet[Any]:
    """
    Return the rows of ``queryset`` that the next batch changes, the first ``batch_size``
    in the queryset's order. Callers order by the column their index serves, so that the
    batch is read from that index rather than by scanning the table.
    """
    batch = queryset.values("pk")[:batch_size]
    if connections[queryset.db].vendor != "postgresql":
        return queryset.filter(pk__in=batch)
    from django.contrib.postgres.expressions import ArraySubquery

    # "id = ANY(ARRAY(<batch>))", not "id IN (<batch>)": for the latter PostgreSQL expects
    # batch_size rows and hash-joins them against a scan of the whole table, once per batch
    # (1 M expired codes: 14 s, against 3.4 s with primary-key probes). Written as one
    # expression because a lookup would wrap its right side in parentheses: "= (ANY(…))".
    in_batch = Func(
        F("pk"),
        ArraySubquery(batch),
        template="%(expressions)s)",
        arg_joiner=" = ANY(",
        output_field=BooleanField(),
    )
    return queryset.filter(in_batch)


def delete_in_batches(queryset: QuerySet[Any], *, batch_size: int) -> int:
    """
    Delete the rows of ``queryset``, at most ``batch_size`` per DELETE; return the count.

    Each batch is one statement, ``DELETE … WHERE <filter> AND id = ANY(ARRAY(SELECT id …
    LIMIT n))``: the outer filter is re-checked on rows that changed while the statement
    waited for them.
    """
    total = 0
    while True:
        deleted, _ = _next_batch(queryset, batch_size=batch_size).delete()
        total += deleted
        if deleted < batch_size:
            return total


def update_in_batches(queryset: QuerySet[Any], *, batch_size: int, **changes: Any) -> int:
    """Apply ``changes`` to the rows of ``queryset`` in batches, like delete_in_batches."""
    total = 0
    while True:
        updated = _next_batch(queryset, batch_size=batch_size).update(**changes)
        total += updated
        if updated < batch_size:
            return total
