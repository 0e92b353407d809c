"""Shared fixtures. Tests run against the database in DATABASE_URL (PostgreSQL in make test)."""

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client

from onetime.vault import services


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
def console() -> Iterator[io.StringIO]:
    """Return what the console handler configured by settings.LOGGING writes (redacted)."""
    [handler] = [h for h in logging.getLogger().handlers if h.name == "console"]
    assert isinstance(handler, logging.StreamHandler)
    buffer = io.StringIO()
    original = handler.setStream(buffer)
    try:
        yield buffer
    finally:
        handler.setStream(original)
