"""
Receipt hashes are unique, enforced by the database, without the LIKE index that unique=True
adds on PostgreSQL (varchar_pattern_ops): no query uses it, and every insert would update it.
"""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction

from onetime.vault.models import Secret
from tests.conftest import make_secret

pytestmark = pytest.mark.django_db(transaction=True)


def indexes() -> dict[str, str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'secrets'")
        return dict(cursor.fetchall())


@pytest.fixture
def postgresql() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("a PostgreSQL catalog")


@pytest.mark.sqlite
def test_two_secrets_cannot_share_a_receipt_hash():
    first = make_secret("first").secret
    twin = Secret(
        ciphertext=b"\x01",
        receipt_hash=first.receipt_hash,
        created_at=first.created_at,
        expires_at=first.created_at + timedelta(hours=1),
    )

    with pytest.raises(IntegrityError, match="receipt_hash"), transaction.atomic():
        twin.save(force_insert=True)


@pytest.mark.usefixtures("postgresql")
def test_the_receipt_hash_has_its_unique_index_and_no_like_index():
    found = indexes()

    assert not [name for name in found if name.endswith("_like")], found
    assert not [d for d in found.values() if "pattern_ops" in d], found
    assert found["secrets_receipt_hash_key"].startswith("CREATE UNIQUE INDEX")
    assert found["secrets_receipt_hash_key"].endswith("(receipt_hash)")


@pytest.mark.usefixtures("postgresql")
def test_the_like_index_migration_can_be_reversed():
    try:
        call_command("migrate", "vault", "0001", verbosity=0)
        assert [name for name in indexes() if name.endswith("_like")] == [
            "secrets_receipt_hash_b9d4168b_like"
        ]
    finally:
        call_command("migrate", "vault", verbosity=0)
    assert not [name for name in indexes() if name.endswith("_like")]
