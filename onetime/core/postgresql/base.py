"""
Django's PostgreSQL backend, with a cheaper connection health check.

With CONN_HEALTH_CHECKS, Django checks a persistent connection before its first use in
each request by sending ``SELECT 1``: one extra round trip per request, 12 % of a worker's
time in the create+reveal benchmark (docs/performance.md). An idle connection has nothing
to read, though: when the server ends it (restart, ``pg_terminate_backend``, an idle
timeout) it sends a FATAL message and closes the socket, which makes the socket readable.
So an idle connection whose socket has nothing to read is taken as healthy without asking
the server; anything else (bytes waiting, hang-up, a transaction left open) falls back to
Django's ``SELECT 1``, which closes a dead connection so that the next query reconnects.

A server that vanished without closing the socket (a cut network) is not detected here,
and was not detected by ``SELECT 1`` either before its TCP timeout.
"""

import select

from django.db.backends.postgresql import base
from psycopg import pq


class DatabaseWrapper(base.DatabaseWrapper):
    def is_usable(self) -> bool:
        connection = self.connection
        if connection is None or connection.closed:
            return False
        if connection.info.transaction_status == pq.TransactionStatus.IDLE:
            poller = select.poll()
            poller.register(connection.fileno(), select.POLLIN)
            if not poller.poll(0):
                return True
        return bool(super().is_usable())
