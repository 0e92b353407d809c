"""
Encrypted at rest (PRODUCT.md §2.2): the database never holds plaintext, a dump alone
discloses nothing, keys rotate, and a blob the keys cannot open is never consumed.
"""

import base64
import os
import subprocess
import uuid

import pytest
from django.conf import settings
from django.db import connection

from onetime.vault import crypto
from onetime.vault.models import Secret
from tests.conftest import make_secret, post_json, reveal

KEY_A = settings.ONETIME_ENCRYPTION_KEYS[0]
KEY_B = b"key B, for the rotation tests".ljust(32, b".")


def new_canary() -> str:
    return f"CANARY-{uuid.uuid4().hex}"


def raw_rows() -> list[tuple[bytes, ...]]:
    """Return every row of the secrets table, each column as the bytes the database gave."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM secrets")
        rows = cursor.fetchall()
    return [
        tuple(bytes(v) if isinstance(v, bytes | memoryview) else str(v).encode() for v in row)
        for row in rows
    ]


def stored_ciphertext(secret_id: uuid.UUID) -> bytes | None:
    value = Secret.objects.values_list("ciphertext", flat=True).get(pk=secret_id)
    return None if value is None else bytes(value)


def store_ciphertext(secret_id: uuid.UUID, blob: bytes) -> None:
    assert Secret.objects.filter(pk=secret_id).update(ciphertext=blob) == 1


def encodings(text: str) -> list[bytes]:
    """Return the plaintext and the ways a dump could spell it: hex, base64 at any offset."""
    data = text.encode()
    forms = [data, data.hex().encode(), data.hex().upper().encode()]
    for shift in range(3):
        for encode in (base64.b64encode, base64.urlsafe_b64encode):
            # Drop the edges, which depend on the bytes around the plaintext.
            forms.append(encode(b"\x00" * shift + data)[4:-4])
    return forms


def assert_unavailable(response) -> None:
    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"
    assert int(response["Retry-After"]) >= 1


@pytest.mark.django_db
@pytest.mark.sqlite
def test_the_row_does_not_hold_the_plaintext():
    canary = new_canary()
    created = make_secret(canary)

    (row,) = raw_rows()

    assert str(created.secret.id).encode() in row or created.secret.id.hex.encode() in row
    for column in row:
        for form in encodings(canary):
            assert form not in column
        assert created.receipt_token.encode() not in column


@pytest.mark.django_db(transaction=True)
def test_a_database_dump_discloses_nothing(client):
    if connection.vendor != "postgresql":
        pytest.skip("pg_dump needs PostgreSQL")
    canary, passphrase = new_canary(), f"PASSPHRASE-{uuid.uuid4().hex}"
    plain = post_json(client, "/api/v1/secrets", {"secret": canary}).json()
    guarded = post_json(
        client, "/api/v1/secrets", {"secret": canary, "passphrase": passphrase}
    ).json()

    db = connection.settings_dict
    command = ["/usr/bin/pg_dump", "--data-only", "-t", "secrets", "--dbname", db["NAME"]]
    for option, key in (("--host", "HOST"), ("--port", "PORT"), ("--username", "USER")):
        if db.get(key):
            command += [option, str(db[key])]
    env = {**os.environ, "PGPASSWORD": str(db.get("PASSWORD") or "")}
    dump = subprocess.run(command, capture_output=True, check=True, env=env).stdout

    # The dump holds both rows (so the test looks at the right data)…
    assert plain["id"].encode() in dump
    assert guarded["id"].encode() in dump
    # …and none of what the sender typed, nor the receipt tokens.
    for form in encodings(canary) + encodings(passphrase):
        assert form not in dump
    for body in (plain, guarded):
        token = body["receipt_url"].rsplit("/", 1)[1]
        assert token.encode() not in dump


@pytest.mark.django_db
@pytest.mark.sqlite
def test_after_the_reveal_only_a_tombstone_remains(client):
    created = make_secret(new_canary())

    assert reveal(client, created.secret.id).status_code == 200

    with connection.cursor() as cursor:
        cursor.execute("SELECT ciphertext IS NULL, state, ended_at FROM secrets")
        ((wiped, state, ended_at),) = cursor.fetchall()
    assert wiped
    assert state == "revealed"
    assert ended_at is not None


@pytest.mark.django_db
@pytest.mark.sqlite
def test_a_ciphertext_copied_onto_another_row_does_not_decrypt(client):
    source = make_secret(new_canary()).secret.id
    target = make_secret("the target's own secret").secret.id
    source_blob = stored_ciphertext(source)
    assert source_blob is not None
    store_ciphertext(target, source_blob)

    response = reveal(client, target)

    assert_unavailable(response)
    assert Secret.objects.filter(state=Secret.State.ACTIVE).count() == 2
    assert stored_ciphertext(target) == source_blob
    assert reveal(client, source).status_code == 200


@pytest.mark.django_db
@pytest.mark.sqlite
def test_a_secret_sealed_under_an_old_key_reveals_after_rotation(client, settings):
    old = make_secret("sealed under key A")
    settings.ONETIME_ENCRYPTION_KEYS = [KEY_B, KEY_A]

    response = reveal(client, old.secret.id)

    assert response.status_code == 200
    assert response.json() == {"secret": "sealed under key A"}


@pytest.mark.django_db
@pytest.mark.sqlite
def test_after_rotation_new_secrets_are_sealed_under_the_first_key(client, settings):
    settings.ONETIME_ENCRYPTION_KEYS = [KEY_B, KEY_A]

    created = post_json(client, "/api/v1/secrets", {"secret": "sealed under key B"}).json()
    blob = stored_ciphertext(uuid.UUID(created["id"]))

    assert blob is not None
    assert blob[1:5] == crypto.key_id(KEY_B)
    assert crypto.key_id(KEY_B) != crypto.key_id(KEY_A)
    settings.ONETIME_ENCRYPTION_KEYS = [KEY_B]
    assert reveal(client, created["id"]).json() == {"secret": "sealed under key B"}


@pytest.mark.django_db
@pytest.mark.sqlite
def test_a_secret_whose_key_was_removed_is_unavailable_not_consumed(client, settings):
    created = make_secret("sealed under key A")
    blob = stored_ciphertext(created.secret.id)
    settings.ONETIME_ENCRYPTION_KEYS = [KEY_B]

    response = reveal(client, created.secret.id)

    assert_unavailable(response)
    assert Secret.objects.get(pk=created.secret.id).state == Secret.State.ACTIVE
    assert stored_ciphertext(created.secret.id) == blob

    settings.ONETIME_ENCRYPTION_KEYS = [KEY_B, KEY_A]
    assert reveal(client, created.secret.id).status_code == 200


# Positions: version byte, key id, nonce, the sealed body, the GCM tag's last byte.
@pytest.mark.django_db
@pytest.mark.sqlite
@pytest.mark.parametrize("position", [0, 1, 4, 5, 16, 17, 30, -1])
@pytest.mark.parametrize("passphrase", [None, "correct horse"], ids=["plain", "passphrase"])
def test_a_tampered_ciphertext_is_unavailable_and_not_consumed(client, position, passphrase):
    created = make_secret("tamper with me", passphrase=passphrase)
    secret_id = created.secret.id
    original = stored_ciphertext(secret_id)
    assert original is not None
    tampered = bytearray(original)
    tampered[position] ^= 0x01
    store_ciphertext(secret_id, bytes(tampered))
    body = {} if passphrase is None else {"passphrase": passphrase}

    response = post_json(client, f"/api/v1/secrets/{secret_id}/reveal", body)

    assert_unavailable(response)
    secret = Secret.objects.get(pk=secret_id)
    assert secret.state == Secret.State.ACTIVE
    assert secret.failed_attempts == 0
    assert stored_ciphertext(secret_id) == bytes(tampered)

    store_ciphertext(secret_id, original)
    repaired = post_json(client, f"/api/v1/secrets/{secret_id}/reveal", body)
    again = post_json(client, f"/api/v1/secrets/{secret_id}/reveal", body)

    assert repaired.status_code == 200
    assert repaired.json() == {"secret": "tamper with me"}
    assert again.status_code == 410


@pytest.mark.django_db
@pytest.mark.sqlite
def test_a_tampered_ciphertext_also_shows_unavailable_on_the_web_page(client):
    created = make_secret("tamper with me")
    original = stored_ciphertext(created.secret.id)
    assert original is not None
    store_ciphertext(created.secret.id, original[:-1] + bytes([original[-1] ^ 0x80]))

    response = client.post(f"/s/{created.secret.id}")

    assert response.status_code == 503
    assert int(response["Retry-After"]) >= 1
    assert Secret.objects.get(pk=created.secret.id).state == Secret.State.ACTIVE
