"""
Client-encrypted secrets through the JSON API (PRODUCT.md §2.7): the server stores an
envelope it cannot open, checks a passphrase proof against its Argon2id hash, counts wrong
proofs like wrong passphrases, and refuses what does not fit, changing nothing.
"""

import json
from pathlib import Path

import pytest

from onetime.core import envelope as zk
from onetime.vault.models import Secret
from tests.conftest import make_client_secret, make_secret, post_json, reveal
from tests.processes import ROOT

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.sqlite]

VECTORS = json.loads(Path(ROOT / "docs" / "zero-knowledge-vectors.json").read_text())


def reveal_proof(client, secret_id, proof):
    return post_json(client, f"/api/v1/secrets/{secret_id}/reveal", {"passphrase_proof": proof})


@pytest.mark.parametrize("vector", VECTORS["vectors"], ids=lambda v: v["name"])
def test_the_python_envelope_gives_the_vectors_bytes(vector):
    key = zk.b64decode(vector["key"])
    envelope, proof = zk.seal(
        vector["plaintext"].encode(),
        key=key,
        passphrase=vector["passphrase"],
        seed=bytes.fromhex(vector["seed"]),
        nonce=bytes.fromhex(vector["nonce"]),
    )
    sid = zk.parse(envelope).secret_id
    assert str(sid) == vector["id"]
    assert zk.b64encode(envelope) == vector["ciphertext"]
    assert zk.b64encode(zk.key_check(key, sid)) == vector["key_check"]
    assert (zk.b64encode(proof) if proof else None) == vector["passphrase_proof"]
    stretched = bytes.fromhex(vector["stretched"]) if vector["stretched"] else None
    opened = zk.open_envelope(envelope, key=key, sid=sid, stretched=stretched)
    assert opened.decode() == vector["plaintext"]


def test_an_envelope_opens_only_with_its_key_and_its_id():
    vector = VECTORS["vectors"][0]
    envelope = zk.b64decode(vector["ciphertext"])
    key = zk.b64decode(vector["key"])
    sid = zk.parse(envelope).secret_id
    other = zk.parse(zk.seal(b"x", key=key)[0]).secret_id
    with pytest.raises(zk.EnvelopeError, match="another secret"):
        zk.open_envelope(envelope, key=key, sid=other)
    with pytest.raises(zk.EnvelopeError, match="does not open"):
        zk.open_envelope(envelope, key=zk.new_key(), sid=sid)
    tampered = envelope[:-1] + bytes([envelope[-1] ^ 1])
    with pytest.raises(zk.EnvelopeError, match="does not open"):
        zk.open_envelope(tampered, key=key, sid=sid)


@pytest.mark.parametrize("text", ["=", "AA==", "A", "ABCDE", "a+b/", "AAAA AAAA", "Ä", "AB\n"])
def test_base64url_is_read_strictly(text):
    with pytest.raises(zk.EnvelopeError):
        zk.b64decode(text)
    assert zk.b64decode("") == b""
    assert zk.b64decode("_-8") == b"\xff\xef"


def test_a_client_secret_round_trips_through_the_api(client):
    key = zk.new_key()
    plaintext = "Пароль: p@ss🔑\r\n  "
    envelope, _ = zk.seal(plaintext.encode(), key=key)
    created = post_json(client, "/api/v1/secrets", {"ciphertext": zk.b64encode(envelope)})
    assert created.status_code == 201, created.json()
    body = created.json()
    sid = zk.parse(envelope).secret_id
    assert body["id"] == str(sid)
    assert body["url"].endswith(f"/s/{sid}")
    assert body["encryption"] == "client"

    meta = client.get(f"/api/v1/secrets/{sid}").json()
    assert meta["encryption"] == "client"
    assert meta["key_check"] == zk.b64encode(zk.key_check(key, sid))
    assert meta["passphrase_required"] is False

    answer = reveal(client, sid)
    assert answer.status_code == 200
    assert set(answer.json()) == {"ciphertext"}
    assert zk.b64decode(answer.json()["ciphertext"]) == envelope
    assert zk.open_envelope(envelope, key=key, sid=sid).decode() == plaintext
    assert reveal(client, sid).status_code == 410
    receipt = client.get(body["receipt_url"].replace("/r/", "/api/v1/receipts/"))
    assert receipt.json()["encryption"] == "client"


def test_the_server_stores_the_envelope_only_under_its_own_key():
    secret = make_client_secret("canary-6f1e0b", passphrase="pass")
    row = Secret.objects.get(pk=secret.id)
    assert row.ciphertext is not None
    stored = bytes(row.ciphertext)
    proof = zk.b64decode(secret.proof())  # the proof is not stored either
    assert proof not in stored
    assert b"canary-6f1e0b" not in stored


def test_a_passphrase_needs_its_proof_and_wrong_proofs_count(client):
    secret = make_client_secret("behind a passphrase", passphrase="open sesame")
    assert client.get(f"/api/v1/secrets/{secret.id}").json()["passphrase_required"] is True

    missing = reveal(client, secret.id)
    assert (missing.status_code, missing.json()["status"]) == (403, "passphrase_required")
    wrong = reveal_proof(client, secret.id, secret.proof("open sesame!"))
    assert (wrong.status_code, wrong.json()["attempts_left"]) == (403, 4)
    assert Secret.objects.get(pk=secret.id).failed_attempts == 1

    right = reveal_proof(client, secret.id, secret.proof())
    assert right.status_code == 200
    assert secret.open(right.json()["ciphertext"]) == "behind a passphrase"


def test_five_wrong_proofs_destroy_it(client):
    secret = make_client_secret("five strikes", passphrase="right")
    wrong = zk.b64encode(bytes(32))
    answers = [reveal_proof(client, secret.id, wrong) for _ in range(5)]
    assert [a.status_code for a in answers] == [403, 403, 403, 403, 410]
    assert reveal_proof(client, secret.id, secret.proof()).status_code == 410
    row = Secret.objects.get(pk=secret.id)
    assert (row.state, row.ciphertext) == (Secret.State.LOCKED, None)


def test_a_passphrase_itself_is_refused_for_a_client_secret_and_counts_nothing(client):
    secret = make_client_secret("no passphrase to the server", passphrase="right")
    answer = reveal(client, secret.id, passphrase="right")
    assert (answer.status_code, answer.json()["status"]) == (400, "wrong_encryption_mode")
    row = Secret.objects.get(pk=secret.id)
    assert (row.state, row.failed_attempts) == (Secret.State.ACTIVE, 0)


def test_a_proof_is_refused_for_a_server_secret(client):
    created = make_secret("server encrypted", passphrase="right")
    answer = reveal_proof(client, created.secret.id, zk.b64encode(bytes(32)))
    assert (answer.status_code, answer.json()["status"]) == (400, "wrong_encryption_mode")
    assert Secret.objects.get(pk=created.secret.id).failed_attempts == 0


def _create(client, **body):
    return post_json(client, "/api/v1/secrets", body)


def test_what_does_not_fit_is_refused_and_nothing_is_stored(client, settings):
    key = zk.new_key()
    plain, _ = zk.seal(b"x", key=key)
    with_passphrase, proof = zk.seal(b"x", key=key, passphrase="p")
    assert proof is not None
    cases = [
        ({"ciphertext": "not base64!"}, 400, "invalid"),
        ({"ciphertext": zk.b64encode(b"\x02" + plain[1:])}, 400, "invalid_ciphertext"),
        ({"ciphertext": zk.b64encode(plain[:50])}, 400, "invalid"),  # below minLength
        ({"ciphertext": zk.b64encode(bytes([1, 2]) + plain[2:])}, 400, "invalid_ciphertext"),
        ({"ciphertext": zk.b64encode(plain), "secret": "x"}, 400, "invalid"),
        ({"ciphertext": zk.b64encode(plain), "passphrase": "p"}, 400, "wrong_encryption_mode"),
        (
            {"ciphertext": zk.b64encode(plain), "passphrase_proof": zk.b64encode(proof)},
            400,
            "wrong_encryption_mode",
        ),
        ({"ciphertext": zk.b64encode(with_passphrase)}, 400, "wrong_encryption_mode"),
        ({"secret": "x", "passphrase_proof": zk.b64encode(proof)}, 400, "wrong_encryption_mode"),
        ({"ciphertext": zk.b64encode(with_passphrase), "passphrase_proof": "AAAA"}, 400, "invalid"),
    ]
    for body, status, code in cases:
        answer = _create(client, **body)
        assert (answer.status_code, answer.json()["status"]) == (status, code), body
    settings.ONETIME_MAX_SECRET_BYTES = 10
    big, _ = zk.seal(b"x" * 11, key=key)
    assert _create(client, ciphertext=zk.b64encode(big)).status_code == 413
    assert not Secret.objects.exists()


def test_the_same_envelope_sent_twice_is_stored_once(client):
    envelope, _ = zk.seal(b"sent twice", key=zk.new_key())
    first = _create(client, ciphertext=zk.b64encode(envelope))
    again = _create(client, ciphertext=zk.b64encode(envelope))
    assert first.status_code == 201
    assert (again.status_code, again.json()["status"]) == (409, "already_created")
    assert Secret.objects.count() == 1
