import hashlib
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection


@contextmanager
def try_exclusive(name: str) -> Iterator[bool]:
    """
    Yield True while this process holds the cluster-wide lock ``name``, False when another
    process holds it. On PostgreSQL it is a session advisory lock, released when the block
    ends or the connection dies. On SQLite (one host, writers serialized by the database)
    it is always granted.
    """
    if connection.vendor != "postgresql":
        yield True
        return
    key = int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [key])
        acquired = bool(cursor.fetchone()[0])
    try:
        yield acquired
    finally:
        if acquired:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [key])
