"""
Rate-limit counters skip PostgreSQL's write-ahead log (an UNLOGGED table).

Every create and reveal bumps a counter, and a commit that wrote to a logged table waits
for the WAL to reach the disk (an fsync), with the counter's row locked meanwhile, so the
requests of one address queued on one row. The counters need no durability: after a crash
PostgreSQL empties an unlogged table, which only restarts the current windows. Nor are they
replicated to standbys (docs/design.md, "Abuse limits"). From PostgreSQL 15 on, the table's
indexes and identity sequence become unlogged with it.

SQLite has no such thing and is left as it is.
"""

from django.db import migrations

TABLE = "rate_limit_hits"


def set_unlogged(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"ALTER TABLE {TABLE} SET UNLOGGED")


def set_logged(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"ALTER TABLE {TABLE} SET LOGGED")


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0001_initial"),
    ]

    operations = [migrations.RunPython(set_unlogged, set_logged, elidable=False)]
