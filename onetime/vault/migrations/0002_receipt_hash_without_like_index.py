"""
The receipt hash stays unique without PostgreSQL's LIKE index.

unique=True on a CharField gives PostgreSQL two indexes: the unique one, and one with
varchar_pattern_ops for LIKE queries, which no query runs and every insert updates (the
same change as codes.0003). The model now declares a UniqueConstraint named like the
constraint that PostgreSQL already has (secrets_receipt_hash_key), so only the LIKE index
is dropped: the unique index is kept, not rebuilt under a lock on the secrets table. SQLite
keeps its column's UNIQUE, which is the same guarantee.
"""

from django.db import migrations, models

# The name Django gave the index (table and column hashed), the same in every database.
LIKE_INDEX = "secrets_receipt_hash_b9d4168b_like"


def drop_like_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {LIKE_INDEX}")


def create_like_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {LIKE_INDEX} ON secrets (receipt_hash varchar_pattern_ops)"
        )


class Migration(migrations.Migration):
    dependencies = [
        ("vault", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="secret",
                    name="receipt_hash",
                    field=models.CharField(max_length=64),
                ),
                migrations.AddConstraint(
                    model_name="secret",
                    constraint=models.UniqueConstraint(
                        fields=("receipt_hash",), name="secrets_receipt_hash_key"
                    ),
                ),
            ],
            database_operations=[
                migrations.RunPython(drop_like_index, create_like_index, elidable=False),
            ],
        ),
    ]
