"""Shared fixtures. Tests run against the database in DATABASE_URL (PostgreSQL in make test)."""

import json
from collections.abc import Iterator
from typing import Any
from wsgiref.types import WSGIApplication

import pytest
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import Client

from onetime.vault import services
from onetime.wsgi import application


def make_secret(
    plaintext: str = "correct horse battery staple",
    *,
    ttl: int | None = None,
    passphrase: str | None = None,
) -> services.CreatedSecret:
    return services.secret_create(
        plaintext=plaintext, ttl=ttl, passphrase=passphrase, client_ip="192.0.2.1"
    )


def post_json(client: Client, path: str, body: Any = None, **headers: str) -> Any:
    data = "" if body is None else json.dumps(body)
    return client.post(path, data=data, content_type="application/json", headers=headers)


@pytest.fixture
def wsgi_application() -> Iterator[WSGIApplication]:
    """
    The application as a WSGI server runs it (onetime/wsgi.py), inside the test's database
    transaction: at the end of each request Django would close the test's connection,
    which the test client prevents in the same way.
    """
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield application
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
