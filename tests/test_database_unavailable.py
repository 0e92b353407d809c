"""While the database cannot be reached, every route answers 503 with Retry-After, never 500."""

import socket

import pytest
from django.db import connection

from tests.conftest import post_json


@pytest.fixture
def database_down():
    """Point the connection at a port where nothing listens, then restore it."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]
    original = dict(connection.settings_dict)
    connection.close()
    connection.settings_dict.update(
        ENGINE="django.db.backends.postgresql",
        HOST="127.0.0.1",
        PORT=closed_port,
        NAME="onetime",
    )

    def restore():
        connection.close()
        connection.settings_dict.clear()
        connection.settings_dict.update(original)

    yield restore
    restore()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("method", "path", "json_expected"),
    [
        ("post", "/api/v1/secrets", True),
        ("get", "/api/v1/secrets/6f1c43a8-3a35-4a39-9a68-1e1a39b8f2a1", True),
        ("post", "/api/v1/secrets/6f1c43a8-3a35-4a39-9a68-1e1a39b8f2a1/reveal", True),
        ("get", "/api/v1/receipts/abcdefghijklmnopqrstuvwxyz012345", True),
        ("get", "/s/6f1c43a8-3a35-4a39-9a68-1e1a39b8f2a1", False),
        ("get", "/r/abcdefghijklmnopqrstuvwxyz012345", False),
        ("get", "/readyz", True),
    ],
)
def test_it_answers_503_with_retry_after(client, database_down, method, path, json_expected):
    if method == "post":
        response = post_json(client, path, {"secret": "x"})
    else:
        response = client.get(path)

    assert response.status_code == 503
    assert int(response["Retry-After"]) >= 1
    if json_expected:
        assert response.json()["status"] == "unavailable"
    else:
        assert "text/html" in response["Content-Type"]


@pytest.mark.django_db(transaction=True)
def test_liveness_does_not_need_the_database(client, database_down):
    assert client.get("/healthz").status_code == 200


@pytest.mark.django_db(transaction=True)
def test_it_recovers_by_itself_when_the_database_is_back(client, database_down):
    assert client.get("/readyz").status_code == 503
    assert post_json(client, "/api/v1/secrets", {"secret": "x"}).status_code == 503

    database_down()  # the server is reachable again; nothing else is restarted

    assert client.get("/readyz").status_code == 200
    assert post_json(client, "/api/v1/secrets", {"secret": "x"}).status_code == 201
