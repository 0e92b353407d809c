"""
At most once (PRODUCT.md §2.2): however many requests race for one secret, exactly one
gets the plaintext.

Every request runs in its own thread, so on its own database connection (Django keeps one
per thread), and a barrier releases them all at once after each has connected. The races go
through the whole HTTP stack (middleware, views, services), the way clients meet them.
"""

import secrets
import uuid
from collections import Counter
from typing import Any

import pytest
from django.utils.html import escape

from onetime.codes.models import UserCode
from onetime.core import envelope as zk
from onetime.vault import crypto
from onetime.vault.models import Secret
from tests.concurrency import RACERS, Request, assert_no_failures
from tests.conftest import issue_code, make_client_secret, make_secret, post_json

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.sqlite,
    pytest.mark.usefixtures("no_rate_limits"),
]

API_TRIALS = 50
WEB_TRIALS = 10
PASSPHRASE_TRIALS = 5
BURN_TRIALS = 50
DECRYPT_TRIALS = 20
BURN_RACERS = 8
TELEGRAM_TRIALS = 10


def api_reveal(secret_id: object, body: Any = None) -> Request:
    return lambda client: post_json(client, f"/api/v1/secrets/{secret_id}/reveal", body)


def web_reveal(secret_id: object) -> Request:
    return lambda client: client.post(f"/s/{secret_id}", {"passphrase": ""})


def api_burn(token: str) -> Request:
    return lambda client: post_json(client, f"/api/v1/receipts/{token}/burn")


def unique_plaintext(trial: int) -> str:
    return f"trial {trial}\n  {secrets.token_urlsafe(12)} ✓\n"


def test_it_gives_the_plaintext_to_exactly_one_of_32_concurrent_api_reveals(racers):
    for trial in range(API_TRIALS):
        plaintext = unique_plaintext(trial)
        secret_id = make_secret(plaintext).secret.id

        answers = racers.race([api_reveal(secret_id)] * RACERS)

        assert_no_failures(answers)
        statuses = Counter(answer.status for answer in answers)
        assert statuses == {200: 1, 410: RACERS - 1}, f"trial {trial}: {dict(statuses)}"
        (winner,) = (answer for answer in answers if answer.status == 200)
        assert winner.json() == {"secret": plaintext}
        assert {a.json()["status"] for a in answers if a.status == 410} == {"destroyed"}
        row = Secret.objects.get(pk=secret_id)
        assert (row.state, row.ciphertext) == (Secret.State.REVEALED, None)


def test_only_the_reveal_that_won_the_claim_decrypts(racers, monkeypatch):
    # PRODUCT.md §2.2: the plaintext is decrypted only by the request that won the claim.
    decrypted: list[uuid.UUID] = []
    unseal = crypto.unseal

    def counted(blob: bytes, **kwargs: Any) -> bytes:
        decrypted.append(kwargs["secret_id"])
        return unseal(blob, **kwargs)

    monkeypatch.setattr(crypto, "unseal", counted)
    for trial in range(DECRYPT_TRIALS):
        decrypted.clear()
        secret_id = make_secret(unique_plaintext(trial)).secret.id

        answers = racers.race([api_reveal(secret_id)] * RACERS)

        assert_no_failures(answers)
        assert Counter(answer.status for answer in answers) == {200: 1, 410: RACERS - 1}
        assert decrypted == [secret_id], f"trial {trial}: {len(decrypted)} decryptions"


def test_a_secret_that_cannot_be_decrypted_stays_revealable_under_concurrent_reveals(
    racers, settings
):
    keys = settings.ONETIME_ENCRYPTION_KEYS
    plaintext = unique_plaintext(0)
    secret_id = make_secret(plaintext).secret.id
    settings.ONETIME_ENCRYPTION_KEYS = [b"a key that did not seal it".ljust(32, b".")]

    answers = racers.race([api_reveal(secret_id)] * RACERS)

    # Each claim was rolled back: every racer got "try again later", none a 410.
    assert {answer.status for answer in answers} == {503}
    row = Secret.objects.get(pk=secret_id)
    assert (row.state, row.ended_at) == (Secret.State.ACTIVE, None)

    settings.ONETIME_ENCRYPTION_KEYS = keys  # repaired
    answers = racers.race([api_reveal(secret_id)] * RACERS)

    assert_no_failures(answers)
    assert Counter(answer.status for answer in answers) == {200: 1, 410: RACERS - 1}
    (winner,) = (answer for answer in answers if answer.status == 200)
    assert winner.json() == {"secret": plaintext}


def test_it_shows_the_plaintext_to_exactly_one_of_32_concurrent_web_reveals(racers):
    for trial in range(WEB_TRIALS):
        plaintext = unique_plaintext(trial)
        secret_id = make_secret(plaintext).secret.id

        answers = racers.race([web_reveal(secret_id)] * RACERS)

        assert_no_failures(answers)
        statuses = Counter(answer.status for answer in answers)
        assert statuses == {200: 1, 410: RACERS - 1}, f"trial {trial}: {dict(statuses)}"
        showing = [a for a in answers if escape(plaintext).encode() in a.content]
        assert [a.status for a in showing] == [200]
        row = Secret.objects.get(pk=secret_id)
        assert (row.state, row.ciphertext) == (Secret.State.REVEALED, None)


def test_it_counts_concurrent_wrong_passphrases_exactly_and_destroys_at_the_limit(racers, settings):
    settings.ONETIME_PASSPHRASE_ATTEMPTS = 5
    for trial in range(PASSPHRASE_TRIALS):
        secret_id = make_secret(unique_plaintext(trial), passphrase="open sesame").secret.id

        answers = racers.race(
            [api_reveal(secret_id, {"passphrase": f"guess {i}"}) for i in range(32)]
        )

        assert_no_failures(answers)
        statuses = Counter(answer.status for answer in answers)
        assert statuses == {403: 4, 410: 28}, f"trial {trial}: {dict(statuses)}"
        refused = [a.json() for a in answers if a.status == 403]
        assert {body["status"] for body in refused} == {"wrong_passphrase"}
        # Each attempt was counted once, under the lock: 4, 3, 2, 1 left, then destroyed.
        assert sorted(body["attempts_left"] for body in refused) == [1, 2, 3, 4]
        assert {a.json()["status"] for a in answers if a.status == 410} == {"destroyed"}
        row = Secret.objects.get(pk=secret_id)
        assert row.failed_attempts == 5
        assert (row.state, row.ciphertext) == (Secret.State.LOCKED, None)


ZERO_KNOWLEDGE_TRIALS = 5


def test_it_gives_a_client_encrypted_envelope_to_exactly_one_of_32_reveals(racers):
    for trial in range(ZERO_KNOWLEDGE_TRIALS):
        plaintext = unique_plaintext(trial)
        passphrase = "open sesame" if trial % 2 else None
        secret = make_client_secret(plaintext, passphrase=passphrase)
        body = {"passphrase_proof": secret.proof()} if passphrase else None

        answers = racers.race([api_reveal(secret.id, body)] * RACERS)

        assert_no_failures(answers)
        statuses = Counter(answer.status for answer in answers)
        assert statuses == {200: 1, 410: RACERS - 1}, f"trial {trial}: {dict(statuses)}"
        (winner,) = (answer for answer in answers if answer.status == 200)
        assert secret.open(winner.json()["ciphertext"]) == plaintext
        row = Secret.objects.get(pk=secret.id)
        assert (row.state, row.ciphertext) == (Secret.State.REVEALED, None)


def test_it_counts_concurrent_wrong_passphrase_proofs_exactly(racers, settings):
    settings.ONETIME_PASSPHRASE_ATTEMPTS = 5
    secret = make_client_secret("counted", passphrase="open sesame")
    # 32 distinct wrong proofs, each checked against the Argon2id hash under the row lock.
    wrong = [{"passphrase_proof": zk.b64encode(bytes([i]) * 32)} for i in range(RACERS)]

    answers = racers.race([api_reveal(secret.id, body) for body in wrong])

    assert_no_failures(answers)
    statuses = Counter(answer.status for answer in answers)
    assert statuses == {403: 4, 410: 28}, dict(statuses)
    refused = [a.json() for a in answers if a.status == 403]
    assert sorted(body["attempts_left"] for body in refused) == [1, 2, 3, 4]
    row = Secret.objects.get(pk=secret.id)
    assert (row.state, row.failed_attempts, row.ciphertext) == (Secret.State.LOCKED, 5, None)


def test_it_gives_a_telegram_bound_secret_to_exactly_one_of_32_reveals_with_the_code(
    racers, telegram_bot
):
    for trial in range(TELEGRAM_TRIALS):
        plaintext = unique_plaintext(trial)
        secret_id = make_secret(plaintext, telegram_recipient="@alice").secret.id
        code = issue_code(4242, "alice")

        answers = racers.race([api_reveal(secret_id, {"telegram_code": code})] * RACERS)

        assert_no_failures(answers)
        statuses = Counter(answer.status for answer in answers)
        assert statuses == {200: 1, 410: RACERS - 1}, f"trial {trial}: {dict(statuses)}"
        (winner,) = (answer for answer in answers if answer.status == 200)
        assert winner.json() == {"secret": plaintext}
        row = Secret.objects.get(pk=secret_id)
        assert (row.state, row.ciphertext, row.failed_codes) == (Secret.State.REVEALED, None, 0)
        assert not UserCode.objects.filter(telegram_user_id=4242).exists()


def test_it_lets_either_the_burn_or_one_reveal_win_never_both(racers):
    outcomes: Counter[str] = Counter()
    for trial in range(BURN_TRIALS):
        plaintext = unique_plaintext(trial)
        created = make_secret(plaintext)
        secret_id = created.secret.id

        burn, *reveals = racers.race(
            [api_burn(created.receipt_token)] + [api_reveal(secret_id)] * (BURN_RACERS - 1)
        )

        assert_no_failures([burn, *reveals])
        assert burn.status == 200
        statuses = Counter(answer.status for answer in reveals)
        row = Secret.objects.get(pk=secret_id)
        assert row.ciphertext is None
        if burn.json()["state"] == "revealed":
            # A reveal got there first: the burn found it read and changed nothing.
            assert statuses == {200: 1, 410: BURN_RACERS - 2}, f"trial {trial}: {dict(statuses)}"
            (winner,) = (answer for answer in reveals if answer.status == 200)
            assert winner.json() == {"secret": plaintext}
            assert row.state == Secret.State.REVEALED
            outcomes["reveal"] += 1
        else:
            assert burn.json()["state"] == "burned", f"trial {trial}: {burn.json()['state']}"
            assert statuses == {410: BURN_RACERS - 1}, f"trial {trial}: {dict(statuses)}"
            assert row.state == Secret.State.BURNED
            outcomes["burn"] += 1
        assert {a.json()["status"] for a in reveals if a.status == 410} == {"destroyed"}
    assert sum(outcomes.values()) == BURN_TRIALS
