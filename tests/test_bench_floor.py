"""
The benchmark's floor (bench/sql, driven by pgbench) must send the statements the app
sends, or "OneTime / floor" compares against something else. Values differ (pgbench makes
its own ids and clock); the statements must not.
"""

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import pytest
from django.db import connection

from tests.conftest import make_secret, post_json
from tests.processes import ROOT

SQL = ROOT / "bench" / "sql"

pytestmark = pytest.mark.django_db


def normalized(statement: str) -> str:
    """The statement with its values replaced by what they stand for."""
    statement = " ".join(statement.split()).rstrip(";")
    statement = re.sub(r"md5\(:idx::text\)::uuid|'[0-9a-f]{32}'::uuid", ":id", statement)
    return re.sub(r"now\(\)|'[^']+'::timestamptz", ":now", statement)


@contextmanager
def statements_sent() -> Iterator[list[str]]:
    """Record the SQL the app sends while the block runs, placeholders as :id and :now."""
    sent: list[str] = []

    def record(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        values = iter(params or ())
        sent.append(
            normalized(
                re.sub("%s", lambda _: ":now" if isinstance(next(values), datetime) else ":id", sql)
            )
        )
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        yield sent


def floor_statements(name: str) -> list[str]:
    """The floor's statements; BEGIN and COMMIT, which Django sends without a query, aside."""
    lines = (SQL / name).read_text().splitlines()
    skip = ("--", "\\", "BEGIN;", "COMMIT;")
    return [normalized(line) for line in lines if line and not line.startswith(skip)]


@pytest.mark.django_db(transaction=True)  # the claim's transaction, not a savepoint
def test_the_floor_reveal_is_the_apps_reveal(client):
    created = make_secret("floor")

    with statements_sent() as app:
        answer = post_json(client, f"/api/v1/secrets/{created.secret.id}/reveal")

    assert answer.status_code == 200
    assert len(app) == 2
    assert floor_statements("floor_claim.sql") == app
    assert floor_statements("floor_cycle.sql")[1:] == app
    for name in ("floor_claim.sql", "floor_cycle.sql"):
        text = (SQL / name).read_text()
        assert text.index("BEGIN;") < text.index("UPDATE secrets") < text.index("COMMIT;")


def test_the_floor_insert_is_the_apps_insert(client, django_assert_num_queries):
    with django_assert_num_queries(1) as captured:
        post_json(client, "/api/v1/secrets", {"secret": "correct horse battery staple"})

    app_insert = captured.captured_queries[0]["sql"]
    for name in ("floor_insert.sql", "floor_cycle.sql"):
        floor_insert = floor_statements(name)[0]
        # The same table, columns and order; the values are pgbench's own.
        assert floor_insert.split(" VALUES ")[0] == app_insert.split(" VALUES ")[0]
