"""
Rate-limit counters cost no fsync and no long row lock: on PostgreSQL the table is UNLOGGED
(its counters need no durability), and each bump is a statement of its own (autocommit),
never part of the request's transaction, so its row lock ends with the statement.
"""

from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client

from onetime.core.models import RateLimitHit
from onetime.vault import crypto
from tests.conftest import make_secret, post_json

pytestmark = pytest.mark.django_db(transaction=True)

TABLE = RateLimitHit._meta.db_table


def persistence() -> dict[str, str]:
    """Return relpersistence ('p' logged, 'u' unlogged) of the table, its indexes and sequence."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname, relpersistence FROM pg_class WHERE oid = %s::regclass"
            " OR oid IN (SELECT indexrelid FROM pg_index WHERE indrelid = %s::regclass)"
            " OR oid = pg_get_serial_sequence(%s, 'id')::regclass",
            [TABLE, TABLE, TABLE],
        )
        return dict(cursor.fetchall())


@pytest.fixture
def postgresql() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("a PostgreSQL catalog")


@pytest.mark.usefixtures("postgresql")
def test_the_counters_table_is_unlogged_on_postgresql():
    relations = persistence()

    assert relations[TABLE] == "u"
    assert len(relations) >= 4  # the table, its primary key, unique key, expiry index…
    if connection.pg_version >= 150000:  # type: ignore[attr-defined]
        assert set(relations.values()) == {"u"}, relations  # …and its identity sequence


@pytest.mark.usefixtures("postgresql")
def test_the_unlogged_migration_can_be_reversed():
    try:
        call_command("migrate", "core", "0001", verbosity=0)
        assert persistence()[TABLE] == "p"
    finally:
        call_command("migrate", "core", verbosity=0)
    assert persistence()[TABLE] == "u"


@pytest.mark.sqlite
def test_the_counter_is_bumped_outside_the_requests_transaction(settings):
    settings.ONETIME_RATE_REVEAL = (1000, 60)
    created = make_secret("counted")
    bumps: list[bool] = []

    def record(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        if TABLE in sql:
            bumps.append(context["connection"].in_atomic_block)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        response = post_json(Client(), f"/api/v1/secrets/{created.secret.id}/reveal")

    assert response.status_code == 200
    assert bumps == [False]  # one statement, in autocommit
    assert RateLimitHit.objects.get().hits == 1


@pytest.mark.usefixtures("postgresql")
def test_no_lock_on_the_counter_is_held_while_the_reveal_claims(settings, monkeypatch):
    settings.ONETIME_RATE_REVEAL = (1000, 60)
    created = make_secret("counted")
    held: list[set[str]] = []
    unseal = crypto.unseal

    def unseal_and_look_at_locks(blob: bytes, **kwargs: Any) -> bytes:
        # Runs inside the claim's transaction, which holds its lock on secrets.
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT DISTINCT c.relname FROM pg_locks l JOIN pg_class c ON c.oid = l.relation"
                " WHERE l.pid = pg_backend_pid() AND c.relname = ANY(%s)",
                [[TABLE, "secrets"]],
            )
            held.append({name for (name,) in cursor.fetchall()})
        return unseal(blob, **kwargs)

    monkeypatch.setattr(crypto, "unseal", unseal_and_look_at_locks)
    response = post_json(Client(), f"/api/v1/secrets/{created.secret.id}/reveal")

    assert response.status_code == 200
    assert held == [{"secrets"}]
    assert RateLimitHit.objects.get().hits == 1
