"""
What a reveal sends to the database (PRODUCT.md §2.2): one unlocked read answers every
request for a secret that is not live; a live secret is claimed in a transaction, and only
the claim's winner decrypts.

The interleavings that the concurrency tests hit by chance are forced here: another reveal,
or the secret's expiry, landing between the read and the claim; a decryption that fails
after the claim.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any
from unittest import mock

import pytest
from django.db import DEFAULT_DB_ALIAS, connection, connections

from onetime.vault import crypto, services
from onetime.vault.models import Secret
from tests.conftest import make_secret, reveal

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.sqlite]

READ = (
    'SELECT "secrets"."id", "secrets"."state", "secrets"."passphrase_required", '
    '"secrets"."telegram_recipient", "secrets"."notify_chat_id", "secrets"."key_check", '
    '"secrets"."expires_at", '
    '"secrets"."ended_at" FROM "secrets" '
    'WHERE "secrets"."id" = %s ORDER BY "secrets"."id" ASC LIMIT 1'
)
# One statement locks, claims and returns the old ciphertext.
CLAIM_ON_POSTGRESQL = [
    "BEGIN",
    "UPDATE secrets SET state = 'revealed', ciphertext = NULL, ended_at = %s "
    "FROM ( SELECT id, ciphertext, notify_chat_id FROM secrets "
    "WHERE id = %s AND state = 'active' AND expires_at > %s FOR UPDATE ) AS claimed "
    "WHERE secrets.id = claimed.id RETURNING claimed.ciphertext, claimed.notify_chat_id",
    "COMMIT",
]
# BEGIN IMMEDIATE holds the database's write lock from the start (SQLite has no row locks).
CLAIM_ON_SQLITE = [
    "BEGIN",
    'SELECT "secrets"."ciphertext" AS "ciphertext", "secrets"."notify_chat_id" AS '
    '"notify_chat_id" FROM "secrets" WHERE '
    '("secrets"."expires_at" > %s AND "secrets"."id" = %s AND "secrets"."state" = %s) '
    'ORDER BY "secrets"."id" ASC LIMIT 1',
    'UPDATE "secrets" SET "state" = %s, "ciphertext" = NULL, "ended_at" = %s '
    'WHERE "secrets"."id" = %s',
    "COMMIT",
]


@contextmanager
def sent_to_the_database() -> Iterator[list[str]]:
    """
    Record what the connection sends while the block runs: each statement (its SQL with
    placeholders, whitespace collapsed) and BEGIN, COMMIT, ROLLBACK.
    """
    db = connections[DEFAULT_DB_ALIAS]
    sent: list[str] = []
    set_autocommit, commit, rollback = db.set_autocommit, db.commit, db.rollback

    def statement(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        if not sql.startswith("BEGIN"):  # SQLite's BEGIN IMMEDIATE: recorded as BEGIN below
            sent.append(" ".join(sql.split()))
        return execute(sql, params, many, context)

    def begin(autocommit: bool, *args: Any, **kwargs: Any) -> None:
        if not autocommit:
            sent.append("BEGIN")
        set_autocommit(autocommit, *args, **kwargs)

    def end(word: str, method: Any) -> Any:
        def record_then_end() -> None:
            sent.append(word)
            method()

        return record_then_end

    with (
        mock.patch.object(db, "set_autocommit", begin),
        mock.patch.object(db, "commit", end("COMMIT", commit)),
        mock.patch.object(db, "rollback", end("ROLLBACK", rollback)),
        db.execute_wrapper(statement),
    ):
        yield sent


def claim() -> list[str]:
    return CLAIM_ON_POSTGRESQL if connection.vendor == "postgresql" else CLAIM_ON_SQLITE


@pytest.fixture
def decryptions(monkeypatch) -> list[bytes]:
    """Count the calls of crypto.unseal (each call's blob), passing them through."""
    calls: list[bytes] = []
    unseal = crypto.unseal

    def counted(blob: bytes, **kwargs: Any) -> bytes:
        calls.append(blob)
        return unseal(blob, **kwargs)

    monkeypatch.setattr(crypto, "unseal", counted)
    return calls


def after_the_read(monkeypatch, then: Any) -> None:
    """Run ``then()`` once, right after the reveal's first read and before its claim."""
    read = services._read_active
    done = False

    def read_then(secret_id: Any) -> Secret:
        nonlocal done
        secret = read(secret_id)
        if not done:
            done = True
            then()
        return secret

    monkeypatch.setattr(services, "_read_active", read_then)


def test_the_winner_reads_then_claims_in_one_transaction(client, decryptions):
    created = make_secret("claimed")

    with sent_to_the_database() as sent:
        response = reveal(client, created.secret.id)

    assert response.json() == {"secret": "claimed"}
    assert sent == [READ, *claim()]
    assert len(decryptions) == 1


def test_a_reload_is_answered_by_one_read_without_a_lock(client, decryptions):
    created = make_secret("read once")
    assert reveal(client, created.secret.id).status_code == 200

    with sent_to_the_database() as sent:
        response = reveal(client, created.secret.id)

    assert response.status_code == 410
    assert response.json()["status"] == "destroyed"
    assert sent == [READ]
    assert len(decryptions) == 1  # the first reveal's


def test_an_unknown_id_is_answered_by_one_read_without_a_lock(client):
    with sent_to_the_database() as sent:
        response = reveal(client, "00000000-0000-4000-8000-000000000000")

    assert response.status_code == 404
    assert sent == [READ]


def test_a_burned_secret_is_answered_by_one_read_without_a_lock(client):
    created = make_secret("burned")
    services.receipt_burn(token=created.receipt_token, client_ip="192.0.2.1")

    with sent_to_the_database() as sent:
        response = reveal(client, created.secret.id)

    assert (response.status_code, response.json()["status"]) == (410, "destroyed")
    assert sent == [READ]


WIPE_EXPIRED = (
    'UPDATE "secrets" SET "state" = %s, "ciphertext" = NULL, "ended_at" = "secrets"."expires_at" '
    'WHERE ("secrets"."expires_at" <= %s AND "secrets"."id" = %s AND "secrets"."state" = %s)'
)


def test_an_expired_secret_is_answered_by_one_read_then_wiped_without_a_lock(client, time_machine):
    created = make_secret("expired", ttl=60)
    time_machine.move_to(created.secret.expires_at + timedelta(seconds=1), tick=False)

    with sent_to_the_database() as sent:
        response = reveal(client, created.secret.id)
        again = reveal(client, created.secret.id)

    assert (response.status_code, response.json()["status"]) == (410, "expired")
    assert (again.status_code, again.json()["status"]) == (410, "expired")
    # Gone means gone at once, not at the next cleanup pass: one compare-and-set UPDATE in
    # autocommit; the second reveal reads a tombstone and writes nothing.
    assert sent == [READ, WIPE_EXPIRED, READ]
    row = Secret.objects.get(pk=created.secret.id)
    assert (row.state, row.ciphertext, row.ended_at) == (
        Secret.State.EXPIRED,
        None,
        created.secret.expires_at,
    )


def test_a_missing_passphrase_is_answered_by_one_read_without_a_lock(client, decryptions):
    created = make_secret("guarded", passphrase="open sesame")

    with sent_to_the_database() as sent:
        response = reveal(client, created.secret.id)

    assert (response.status_code, response.json()["status"]) == (403, "passphrase_required")
    assert sent == [READ]
    assert decryptions == []


def test_a_passphrase_is_checked_under_the_row_lock(client):
    created = make_secret("guarded", passphrase="open sesame")

    with sent_to_the_database() as sent:
        response = reveal(client, created.secret.id, "open sesame")

    assert response.json() == {"secret": "guarded"}
    read, begin, locked, *rest = sent
    assert (read, begin) == (READ, "BEGIN")
    assert locked.startswith("SELECT")
    if connection.vendor == "postgresql":
        assert locked.endswith("FOR UPDATE")
    assert rest[-1] == "COMMIT"


def test_a_reveal_that_loses_the_claim_answers_destroyed(client, monkeypatch, decryptions):
    created = make_secret("claimed by the other caller")
    other: list[str | None] = []
    after_the_read(
        monkeypatch,
        lambda: other.append(
            services.secret_reveal(
                secret_id=created.secret.id, passphrase=None, client_ip="192.0.2.2"
            ).plaintext
        ),
    )

    response = reveal(client, created.secret.id)

    assert other == ["claimed by the other caller"]
    assert (response.status_code, response.json()["status"]) == (410, "destroyed")
    assert "claimed by the other caller" not in response.content.decode()
    assert len(decryptions) == 1  # the winner's only


def test_a_secret_that_expires_between_read_and_claim_is_not_decrypted(
    client, monkeypatch, time_machine, decryptions
):
    created = make_secret("expires mid-reveal", ttl=60)
    time_machine.move_to(created.secret.expires_at - timedelta(seconds=1), tick=False)
    after_the_read(monkeypatch, lambda: time_machine.shift(timedelta(seconds=2)))

    response = reveal(client, created.secret.id)

    assert (response.status_code, response.json()["status"]) == (410, "expired")
    assert decryptions == []
    stored = Secret.objects.get(pk=created.secret.id)
    assert (stored.state, stored.ciphertext) == (Secret.State.EXPIRED, None)


def test_a_decryption_that_fails_after_the_claim_rolls_the_claim_back(client, monkeypatch):
    created = make_secret("revealable once repaired")
    seen_while_decrypting: list[str] = []

    def claimed_then_failing(blob: bytes, **kwargs: Any) -> bytes:
        # The claim came first: on this connection the row is already revealed and wiped.
        seen_while_decrypting.append(Secret.objects.get(pk=created.secret.id).state)
        raise crypto.DecryptionError("no configured key matches the blob's key id")

    monkeypatch.setattr(crypto, "unseal", claimed_then_failing)
    with sent_to_the_database() as sent:
        response = reveal(client, created.secret.id)

    assert response.status_code == 503
    assert int(response["Retry-After"]) >= 1
    assert seen_while_decrypting == [Secret.State.REVEALED]
    assert sent[-1] == "ROLLBACK"
    stored = Secret.objects.get(pk=created.secret.id)
    assert (stored.state, stored.ended_at) == (Secret.State.ACTIVE, None)
    assert stored.ciphertext is not None

    monkeypatch.undo()  # the keys are repaired
    assert reveal(client, created.secret.id).json() == {"secret": "revealable once repaired"}
