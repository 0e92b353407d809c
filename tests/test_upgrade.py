"""
An upgrade runs the migrations first, while processes of the previous release still serve:
their statements must keep working against the new schema.
"""

import uuid

import pytest
from django.db import connection
from django.utils import timezone

from onetime.vault.models import Secret
from tests.conftest import make_secret, reveal

pytestmark = [pytest.mark.django_db, pytest.mark.sqlite]


def test_the_previous_releases_insert_of_a_secret_still_works():
    secret_id = uuid.uuid4()
    now = timezone.now()
    with connection.cursor() as cursor:
        # The column list of the release before Telegram-bound secrets (issue 12).
        cursor.execute(
            "INSERT INTO secrets (id, state, ciphertext, passphrase_required, failed_attempts,"
            " receipt_hash, created_at, expires_at, ended_at)"
            " VALUES (%s, 'active', %s, false, 0, %s, %s, %s, NULL)",
            [
                Secret._meta.pk.get_db_prep_value(secret_id, connection),
                b"\x01",
                "0" * 64,
                connection.ops.adapt_datetimefield_value(now),
                connection.ops.adapt_datetimefield_value(now),
            ],
        )

    secret = Secret.objects.get(pk=secret_id)
    assert (secret.telegram_recipient, secret.failed_codes) == ("", 0)
    assert (secret.recipient_id, secret.notify_chat_id) == (None, None)


@pytest.mark.usefixtures("no_rate_limits", "telegram_bot")
def test_a_release_that_knows_no_telegram_recipient_cannot_open_a_bound_secret(client):
    secret = make_secret("only for alice", telegram_recipient="@alice").secret
    # How the previous release sees the row, during an upgrade or after a rollback: the
    # column is not there, so the secret is for anyone with the link. This release then
    # takes the same path, the claim and an unseal that knows of no recipient.
    Secret.objects.filter(pk=secret.id).update(telegram_recipient="")

    response = reveal(client, secret.id)

    assert response.status_code == 503
    assert Secret.objects.get(pk=secret.id).state == Secret.State.ACTIVE
