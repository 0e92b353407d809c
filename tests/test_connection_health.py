"""
The health check of persistent PostgreSQL connections (onetime/core/postgresql) costs no
round trip while the connection is fine, and still finds a connection the server ended.
"""

import time

import psycopg
import pytest
from django.db import connection
from django.db.backends.postgresql.base import DatabaseWrapper as StockWrapper

pytestmark = pytest.mark.django_db(transaction=True)


def server_side(sql: str, *params: object) -> object:
    """Run a query on a connection of its own, not Django's."""
    dsn = StockWrapper(connection.settings_dict).get_connection_params()
    with psycopg.connect(**dsn, autocommit=True) as other:
        row = other.execute(sql, params).fetchone()
    return row[0] if row else None


def test_a_healthy_idle_connection_is_usable_without_a_query():
    with connection.cursor() as cursor:
        cursor.execute("SELECT 'health check marker'")
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]

    assert connection.is_usable()
    # The server's record of this connection's last statement: is_usable sent nothing.
    last = server_side("SELECT query FROM pg_stat_activity WHERE pid = %s", pid)
    assert last == "SELECT pg_backend_pid()"


def test_a_connection_the_server_ended_is_replaced_before_the_next_query():
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    assert server_side("SELECT pg_terminate_backend(%s)", pid) is True
    deadline = time.monotonic() + 5
    while connection.is_usable() and time.monotonic() < deadline:
        time.sleep(0.01)  # the FATAL message reaches the socket asynchronously

    assert not connection.is_usable()
    # What Django does at the start of a request with CONN_HEALTH_CHECKS (in
    # close_if_health_check_failed): close an unusable connection; the next query reconnects.
    connection.close()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        assert cursor.fetchone()[0] != pid
