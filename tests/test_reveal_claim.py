"""
How a reveal claims a secret without a passphrase: a read, then one compare-and-set UPDATE.

The interleavings that the concurrency tests hit by chance are forced here: another reveal,
or the secret's expiry, landing between the read and the claim.
"""

from datetime import timedelta

import pytest

from onetime.vault import crypto, services
from onetime.vault.models import Secret
from tests.conftest import make_secret, reveal

pytestmark = [pytest.mark.django_db, pytest.mark.sqlite]


def test_a_plain_reveal_is_one_read_and_one_conditional_update(client, django_assert_num_queries):
    created = make_secret("two statements")

    with django_assert_num_queries(2) as captured:
        response = reveal(client, created.secret.id)

    assert response.json() == {"secret": "two statements"}
    select, update = (q["sql"] for q in captured.captured_queries)
    assert select.startswith("SELECT")
    assert update.startswith("UPDATE")
    assert "active" in update or "%s" in update  # the claim is conditional on the state
    assert "expires_at" in update


def test_a_reveal_that_loses_the_claim_answers_destroyed(client, monkeypatch):
    created = make_secret("claimed by the other caller")
    unseal = crypto.unseal
    other: list[str] = []
    calls = 0

    def unseal_then_let_another_reveal_win(*args, **kwargs):
        nonlocal calls
        calls += 1
        result = unseal(*args, **kwargs)
        if calls == 1:  # the first caller, after decrypting, lets a second one run first
            other.append(
                services.secret_reveal(
                    secret_id=created.secret.id, passphrase=None, client_ip="192.0.2.2"
                )
            )
        return result

    monkeypatch.setattr(crypto, "unseal", unseal_then_let_another_reveal_win)
    response = reveal(client, created.secret.id)

    assert other == ["claimed by the other caller"]
    assert response.status_code == 410
    assert response.json()["status"] == "destroyed"
    assert "claimed by the other caller" not in response.content.decode()


def test_a_secret_that_expires_during_the_reveal_is_not_revealed(client, monkeypatch, time_machine):
    created = make_secret("expires mid-reveal", ttl=60)
    time_machine.move_to(created.secret.expires_at - timedelta(seconds=1), tick=False)
    unseal = crypto.unseal

    def unseal_slowly(*args, **kwargs):
        result = unseal(*args, **kwargs)
        time_machine.shift(timedelta(seconds=2))  # past expires_at before the claim
        return result

    monkeypatch.setattr(crypto, "unseal", unseal_slowly)
    response = reveal(client, created.secret.id)

    assert response.status_code == 410
    assert response.json()["status"] == "expired"
    stored = Secret.objects.get(pk=created.secret.id)
    assert stored.state == Secret.State.EXPIRED
    assert stored.ciphertext is None
