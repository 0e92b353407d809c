"""
The production web server (`python -m onetime.serve`) stops gracefully: on SIGTERM a request
in flight still gets its answer, and the server exits well before compose's 35 s.
"""

import json
import signal
import threading
import time
import urllib.request

import psycopg
import pytest
from django.db import connection

from tests.conftest import make_secret
from tests.processes import database_url, start_web

pytestmark = pytest.mark.django_db(transaction=True)


def test_sigterm_lets_a_request_in_flight_finish(tmp_path):
    if connection.vendor != "postgresql":
        pytest.skip("holds a PostgreSQL table lock")
    url = database_url(connection.settings_dict)
    created = make_secret("in flight at shutdown")
    web = start_web(url, tmp_path / "web.log")
    answers: list[tuple[int, bytes]] = []

    def reveal() -> None:
        request = urllib.request.Request(  # noqa: S310 - a URL of the test's own
            f"{web.url}/api/v1/secrets/{created.secret.id}/reveal", data=b"{}", method="POST"
        )
        request.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310
            answers.append((answer.status, answer.read()))

    with psycopg.connect(url, autocommit=True) as other:
        # The reveal queues behind this lock (well within the 5 s statement timeout)…
        other.execute("BEGIN")
        other.execute("LOCK TABLE secrets IN ACCESS EXCLUSIVE MODE")
        client = threading.Thread(target=reveal)
        client.start()
        waited = time.monotonic()
        while not other.execute(
            "SELECT 1 FROM pg_locks WHERE relation = 'secrets'::regclass AND NOT granted"
        ).fetchone():
            assert time.monotonic() - waited < 10, "the reveal never reached the database"
            time.sleep(0.05)
        # …and is in flight when the server is told to stop.
        web.process.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        other.execute("COMMIT")
    client.join(timeout=30)
    stopping = time.monotonic()
    web.process.wait(timeout=25)

    assert [(status, json.loads(body)) for status, body in answers] == [
        (200, {"secret": "in flight at shutdown"})
    ]
    assert time.monotonic() - stopping < 10
