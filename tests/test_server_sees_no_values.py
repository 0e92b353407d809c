"""
PostgreSQL sees statements with placeholders and the values apart (server-side binding),
so a failed statement that the server logs never carries a code or a ciphertext.
"""

import threading
import time

import pytest
from django.db import connection, connections

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_server_sees_placeholders_not_values():
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only")
    canary = "7654321"

    def slow_statement() -> None:
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_sleep(1), %s", [canary])
        finally:
            connection.close()

    worker = threading.Thread(target=slow_statement)
    worker.start()
    seen: list[str] = []
    try:
        with connections["default"].cursor() as cursor:
            deadline = time.monotonic() + 5
            while not seen and time.monotonic() < deadline:
                cursor.execute(
                    "SELECT query FROM pg_stat_activity"
                    " WHERE query LIKE %s AND pid <> pg_backend_pid()",
                    ["SELECT pg_sleep(1)%"],
                )
                seen = [row[0] for row in cursor.fetchall()]
    finally:
        worker.join()

    assert seen, "the statement was not seen running"
    assert "$1" in seen[0]
    assert canary not in seen[0]
