"""
A persistent PostgreSQL connection prepares the statements it repeats (psycopg's threshold,
5 runs), so PostgreSQL stops parsing and planning the hot ones; DATABASE_PREPARED_STATEMENTS
turns that off for poolers that cannot keep prepared statements.
"""

import sys

import pytest
from django.db import connection

from tests.conftest import make_secret, post_json
from tests.processes import run, service_env

CANARY = "canary-4f1d-prepared"

pytestmark = pytest.mark.django_db


def prepared() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return [row[0] for row in cursor.fetchall()]


def reveal_new_secrets(client, count: int) -> None:
    for _ in range(count):
        secret = make_secret(CANARY)
        response = post_json(client, f"/api/v1/secrets/{secret.secret.id}/reveal", {})
        assert response.json() == {"secret": CANARY}


def is_claim(statement: str) -> bool:
    return "RETURNING claimed.ciphertext" in statement


def test_it_prepares_the_create_and_the_claim_once_they_ran_five_times(client):
    reveal_new_secrets(client, 4)
    assert not [s for s in prepared() if is_claim(s)]

    reveal_new_secrets(client, 2)

    statements = prepared()
    assert [s for s in statements if s.startswith('INSERT INTO "secrets"')], statements
    assert [s for s in statements if is_claim(s)], statements
    # Values travel apart from the statement: the server's copy has placeholders only.
    assert not [s for s in statements if CANARY in s]


@pytest.mark.parametrize(("value", "prepared_count"), [("on", "1"), ("off", "0")])
def test_the_setting_turns_preparing_on_and_off(value, prepared_count):
    # Its own process: the setting is read once, when the settings load.
    script = (
        "import django; django.setup()\n"
        "from django.db import connection\n"
        "with connection.cursor() as cursor:\n"
        "    for _ in range(6): cursor.execute('SELECT %s::int', [1])\n"
        "    cursor.execute('SELECT count(*) FROM pg_prepared_statements')\n"
        "    print(cursor.fetchone()[0])\n"
    )
    env = service_env(DJANGO_SETTINGS_MODULE="onetime.settings", DATABASE_PREPARED_STATEMENTS=value)
    result = run([sys.executable, "-c", script], env)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == prepared_count
