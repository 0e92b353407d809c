"""
Passphrase-protected secrets (PRODUCT.md §2.2): the passphrase is part of the encryption,
wrong guesses are counted per secret, and the last allowed wrong guess destroys it.
"""

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.db import connection

from onetime.vault import crypto
from onetime.vault.models import Secret
from tests.conftest import make_secret, post_json, reveal

pytestmark = [pytest.mark.django_db, pytest.mark.sqlite]

PASSPHRASE = "correct horse"
PLAINTEXT = "the launch code is 0000"


def stored_row(secret_id):
    """Return (state, ciphertext, failed_attempts) as the database holds them."""
    return Secret.objects.values_list("state", "ciphertext", "failed_attempts").get(pk=secret_id)


def test_the_right_passphrase_reveals_once(client):
    secret_id = make_secret(PLAINTEXT, passphrase=PASSPHRASE).secret.id

    first = reveal(client, secret_id, PASSPHRASE)
    second = reveal(client, secret_id, PASSPHRASE)

    assert first.status_code == 200
    assert first.json() == {"secret": PLAINTEXT}
    assert second.status_code == 410
    assert second.json()["status"] == "destroyed"


def test_the_metadata_says_a_passphrase_is_needed(client):
    with_passphrase = make_secret(passphrase=PASSPHRASE).secret.id
    without = make_secret().secret.id

    assert client.get(f"/api/v1/secrets/{with_passphrase}").json()["passphrase_required"] is True
    assert client.get(f"/api/v1/secrets/{without}").json()["passphrase_required"] is False


@pytest.mark.parametrize(
    "missing", [None, "", {"passphrase": None}], ids=["absent", "empty", "null"]
)
def test_a_missing_passphrase_is_refused_and_not_counted(client, missing):
    secret_id = make_secret(PLAINTEXT, passphrase=PASSPHRASE).secret.id
    path = f"/api/v1/secrets/{secret_id}/reveal"

    # More tries than the limit allows wrong guesses: none of them may count as one.
    for _ in range(settings.ONETIME_PASSPHRASE_ATTEMPTS + 1):
        if isinstance(missing, dict):
            response = post_json(client, path, missing)
        else:
            response = reveal(client, secret_id, missing)
        assert response.status_code == 403
        assert response.json()["status"] == "passphrase_required"
        assert "attempts_left" not in response.json()

    assert stored_row(secret_id)[0] == Secret.State.ACTIVE
    assert stored_row(secret_id)[2] == 0
    assert reveal(client, secret_id, PASSPHRASE).json() == {"secret": PLAINTEXT}


def test_wrong_passphrases_count_down_then_destroy_the_secret(client):
    assert settings.ONETIME_PASSPHRASE_ATTEMPTS == 5
    secret_id = make_secret(PLAINTEXT, passphrase=PASSPHRASE).secret.id

    answers = [reveal(client, secret_id, f"guess {n}") for n in range(4)]

    assert [a.status_code for a in answers] == [403] * 4
    assert {a.json()["status"] for a in answers} == {"wrong_passphrase"}
    assert [a.json()["attempts_left"] for a in answers] == [4, 3, 2, 1]
    state, ciphertext, attempts = stored_row(secret_id)
    assert (state, ciphertext is None, attempts) == (Secret.State.ACTIVE, False, 4)

    fifth = reveal(client, secret_id, "guess 4")

    assert fifth.status_code == 410
    assert fifth.json()["status"] == "destroyed"
    state, ciphertext, attempts = stored_row(secret_id)
    assert state == Secret.State.LOCKED
    assert ciphertext is None
    assert attempts == 5

    afterwards = reveal(client, secret_id, PASSPHRASE)

    assert afterwards.status_code == 410
    assert afterwards.json()["status"] == "destroyed"


def test_the_page_tells_who_typed_the_last_wrong_passphrase_why_it_is_gone(client):
    secret_id = make_secret(PLAINTEXT, passphrase=PASSPHRASE).secret.id
    path = f"/s/{secret_id}"
    en = {"accept-language": "en"}

    answers = [client.post(path, {"passphrase": f"guess {n}"}, headers=en) for n in range(5)]
    later = client.post(path, {"passphrase": PASSPHRASE}, headers=en)

    assert [a.status_code for a in answers] == [403] * 4 + [410]
    assert "too many wrong passphrases destroyed the secret" in answers[-1].content.decode()
    assert later.status_code == 410
    assert "too many wrong" not in later.content.decode()


def test_the_number_of_attempts_comes_from_the_settings(client, settings):
    settings.ONETIME_PASSPHRASE_ATTEMPTS = 2
    secret_id = make_secret(PLAINTEXT, passphrase=PASSPHRASE).secret.id

    first = reveal(client, secret_id, "guess 1")
    second = reveal(client, secret_id, "guess 2")

    assert first.status_code == 403
    assert first.json()["attempts_left"] == 1
    assert second.status_code == 410
    assert second.json()["status"] == "destroyed"
    assert stored_row(secret_id)[:2] == (Secret.State.LOCKED, None)
    assert reveal(client, secret_id, PASSPHRASE).status_code == 410


def test_a_right_passphrase_after_wrong_ones_still_reveals(client):
    secret_id = make_secret(PLAINTEXT, passphrase=PASSPHRASE).secret.id
    for n in range(settings.ONETIME_PASSPHRASE_ATTEMPTS - 1):
        assert reveal(client, secret_id, f"guess {n}").status_code == 403

    response = reveal(client, secret_id, PASSPHRASE)

    assert response.status_code == 200
    assert response.json() == {"secret": PLAINTEXT}


def test_the_receipt_shows_the_wrong_guesses(client):
    created = make_secret(PLAINTEXT, passphrase=PASSPHRASE)
    reveal(client, created.secret.id, "guess")

    receipt = client.get(f"/api/v1/receipts/{created.receipt_token}").json()

    assert receipt["passphrase_required"] is True
    assert receipt["failed_attempts"] == 1
    assert receipt["state"] == "active"


def test_the_server_keys_alone_cannot_decrypt_a_secret_with_a_passphrase():
    canary = "CANARY-passphrase-layer-0123456789"
    secret_id = make_secret(canary, passphrase=PASSPHRASE).secret.id
    with connection.cursor() as cursor:
        cursor.execute("SELECT ciphertext FROM secrets")
        (blob,) = cursor.fetchone()
    blob = bytes(blob)

    with pytest.raises(crypto.PassphraseRequired):
        crypto.unseal(
            blob, secret_id=secret_id, keys=settings.ONETIME_ENCRYPTION_KEYS, passphrase=None
        )

    # Peel the outer layer by hand, as an operator holding the server keys could
    # (layout in crypto.py): version(1) | key_id(4) | nonce(12) | AES-GCM(...).
    header, nonce, sealed = blob[:5], blob[5:17], blob[17:]
    aad = b"onetime secret\x00" + secret_id.bytes + header
    inner = AESGCM(settings.ONETIME_ENCRYPTION_KEYS[0]).decrypt(nonce, sealed, aad)
    assert inner[:1] == b"\x01"  # the passphrase layer
    assert canary.encode() not in inner
    assert b"CANARY" not in inner
    assert (
        crypto.unseal(
            blob, secret_id=secret_id, keys=settings.ONETIME_ENCRYPTION_KEYS, passphrase=PASSPHRASE
        )
        == canary.encode()
    )


def test_the_passphrase_itself_is_not_stored(client):
    passphrase = "PASSPHRASE-CANARY-42"
    secret_id = make_secret(PLAINTEXT, passphrase=passphrase).secret.id

    row = Secret.objects.filter(pk=secret_id).values().get()

    for value in row.values():
        stored = bytes(value) if isinstance(value, bytes | memoryview) else str(value).encode()
        assert passphrase.encode() not in stored
