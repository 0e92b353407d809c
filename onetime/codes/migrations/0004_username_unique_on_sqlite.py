"""
Usernames stay unique on SQLite too.

On PostgreSQL the username's unique constraint is checked at commit (DEFERRABLE
INITIALLY DEFERRED, see TelegramAccount.Meta). SQLite has no deferrable unique
constraints, so Django skips that constraint there and leaves the column unguarded. SQLite
runs one write transaction at a time (transaction_mode IMMEDIATE), so the race the deferral
solves cannot happen on it, and a plain unique index does the job.

Django does not know about this index: a future migration that rebuilds the
telegram_accounts table on SQLite drops it, and must create it again.
tests/test_code_uniqueness.py fails if it is missing.
"""

from django.db import migrations

INDEX = "telegram_accounts_username_sqlite_key"


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        # A name two accounts came to share while nothing guarded it belongs to neither:
        # each gets its current one back with its next /code.
        schema_editor.execute(
            "UPDATE telegram_accounts SET username = NULL WHERE username IN"
            " (SELECT username FROM telegram_accounts WHERE username IS NOT NULL"
            " GROUP BY username HAVING count(*) > 1)"
        )
        schema_editor.execute(
            f"CREATE UNIQUE INDEX IF NOT EXISTS {INDEX} ON telegram_accounts (username)"
        )


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    dependencies = [
        ("codes", "0003_unique_without_like_index"),
    ]

    operations = [migrations.RunPython(create_index, drop_index, elidable=False)]
