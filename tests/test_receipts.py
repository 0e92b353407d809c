"""
The sender's receipt (PRODUCT.md §2.3): a private link that shows the state for the life of
the tombstone and can burn the secret, and never gives the share link away.
"""

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.conf import settings
from django.utils.dateparse import parse_datetime

from onetime.vault.models import Secret
from tests.conftest import make_secret, post_json, reveal

pytestmark = [pytest.mark.django_db, pytest.mark.sqlite]

T0 = datetime(2030, 5, 17, 12, 0, tzinfo=UTC)


@pytest.fixture
def frozen():
    """Freeze the clock at T0; move it with frozen.move_to(...)."""
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


def receipt(client, token):
    return client.get(f"/api/v1/receipts/{token}")


def burn(client, token):
    return post_json(client, f"/api/v1/receipts/{token}/burn")


def at(value: str | None) -> datetime | None:
    return None if value is None else parse_datetime(value)


def test_it_shows_an_unopened_secret_as_active(client, frozen):
    created = make_secret(ttl=3600)

    response = receipt(client, created.receipt_token)

    assert response.status_code == 200
    body = response.json()
    assert body["state"] == "active"
    assert at(body["created_at"]) == T0
    assert at(body["expires_at"]) == T0 + timedelta(hours=1)
    assert body["revealed_at"] is None
    assert body["ended_at"] is None


def test_it_shows_when_the_secret_was_revealed(client, frozen):
    created = make_secret(ttl=3600)
    frozen.move_to(T0 + timedelta(minutes=7))
    assert reveal(client, created.secret.id).status_code == 200
    frozen.move_to(T0 + timedelta(minutes=30))

    body = receipt(client, created.receipt_token).json()

    assert body["state"] == "revealed"
    assert at(body["revealed_at"]) == T0 + timedelta(minutes=7)
    assert at(body["ended_at"]) == T0 + timedelta(minutes=7)


def test_it_shows_expired_after_the_ttl_without_any_job(client, frozen):
    created = make_secret(ttl=60)
    frozen.move_to(T0 + timedelta(seconds=59))
    assert receipt(client, created.receipt_token).json()["state"] == "active"
    frozen.move_to(T0 + timedelta(seconds=60))

    body = receipt(client, created.receipt_token).json()

    assert body["state"] == "expired"
    assert at(body["ended_at"]) == T0 + timedelta(seconds=60)
    assert body["revealed_at"] is None
    # A GET never writes: the row is wiped by reveal, burn or cleanup, not by looking.
    assert Secret.objects.get(pk=created.secret.id).state == Secret.State.ACTIVE


def test_burn_destroys_the_secret(client, frozen):
    created = make_secret(ttl=3600)
    frozen.move_to(T0 + timedelta(minutes=5))

    response = burn(client, created.receipt_token)

    assert response.status_code == 200
    assert response.json()["state"] == "burned"
    assert at(response.json()["ended_at"]) == T0 + timedelta(minutes=5)
    assert response.json()["revealed_at"] is None
    gone = reveal(client, created.secret.id)
    assert gone.status_code == 410
    assert gone.json()["status"] == "destroyed"
    assert client.get(f"/api/v1/secrets/{created.secret.id}").status_code == 410
    row = Secret.objects.get(pk=created.secret.id)
    assert (row.state, row.ciphertext) == (Secret.State.BURNED, None)


def test_burn_is_idempotent(client, frozen):
    created = make_secret(ttl=3600)
    first = burn(client, created.receipt_token)
    frozen.move_to(T0 + timedelta(minutes=10))

    second = burn(client, created.receipt_token)

    assert second.status_code == 200
    assert second.json() == first.json()
    assert receipt(client, created.receipt_token).json() == first.json()


def test_burn_after_the_reveal_keeps_it_revealed(client, frozen):
    created = make_secret(ttl=3600)
    assert reveal(client, created.secret.id).status_code == 200
    revealed = receipt(client, created.receipt_token).json()
    frozen.move_to(T0 + timedelta(minutes=10))

    response = burn(client, created.receipt_token)

    assert response.status_code == 200
    assert response.json() == revealed
    assert response.json()["state"] == "revealed"


def test_burn_after_the_ttl_keeps_it_expired(client, frozen):
    created = make_secret(ttl=60)
    frozen.move_to(T0 + timedelta(minutes=10))

    response = burn(client, created.receipt_token)

    assert response.status_code == 200
    assert response.json()["state"] == "expired"
    assert at(response.json()["ended_at"]) == T0 + timedelta(seconds=60)
    assert reveal(client, created.secret.id).json()["status"] == "expired"


@pytest.mark.parametrize(
    "token",
    [
        "A" * 32,
        "abcdefghijklmnopqrstuvwxyz012345",
        # A real token with one character changed.
        None,
    ],
)
def test_an_unknown_token_is_a_json_404(client, token):
    created = make_secret()
    if token is None:
        real = created.receipt_token
        token = real[:-1] + ("A" if real[-1] != "A" else "B")

    for response in (receipt(client, token), burn(client, token)):
        assert response.status_code == 404
        assert response["Content-Type"] == "application/json"
        assert response.json()["status"] == "not_found"
        assert response.json()["detail"]
    assert Secret.objects.get(pk=created.secret.id).state == Secret.State.ACTIVE


def test_the_receipt_never_gives_the_share_link_away(client):
    created = make_secret()
    secret_id = created.secret.id
    token = created.receipt_token

    answers = [
        receipt(client, token),
        client.get(f"/r/{token}"),
        burn(client, token),
        client.post(f"/r/{token}/burn"),
        client.post(f"/r/{token}/burn", {"confirm": "yes"}),
        receipt(client, token),
        client.get(f"/r/{token}"),
    ]

    for response in answers:
        assert response.status_code == 200
        content = response.content.decode()
        assert str(secret_id) not in content
        assert secret_id.hex not in content
        assert "/s/" not in content
    assert set(answers[0].json()) == {
        "state",
        "created_at",
        "expires_at",
        "revealed_at",
        "ended_at",
        "passphrase_required",
        "encryption",
        "failed_attempts",
        "telegram_recipient",
        "failed_codes",
        "notify",
    }


def test_tombstones_are_purged_after_the_retention_period(client, frozen):
    created = make_secret(ttl=3600)
    secret_id, token = created.secret.id, created.receipt_token
    frozen.move_to(T0 + timedelta(minutes=1))
    assert reveal(client, secret_id).status_code == 200
    retention = timedelta(days=settings.ONETIME_TOMBSTONE_DAYS)

    frozen.move_to(T0 + timedelta(minutes=1) + retention)
    assert client.get(f"/api/v1/secrets/{secret_id}").status_code == 410
    assert receipt(client, token).json()["state"] == "revealed"

    frozen.move_to(T0 + timedelta(minutes=1) + retention + timedelta(seconds=1))
    assert client.get(f"/api/v1/secrets/{secret_id}").status_code == 404
    assert reveal(client, secret_id).status_code == 404
    assert client.get(f"/s/{secret_id}").status_code == 404
    assert receipt(client, token).status_code == 404
    assert burn(client, token).status_code == 404
    assert client.get(f"/r/{token}").status_code == 404


def test_an_expired_secret_is_purged_counting_from_its_expiry(client, frozen, settings):
    settings.ONETIME_TOMBSTONE_DAYS = 2
    created = make_secret(ttl=3600)
    expiry = T0 + timedelta(hours=1)

    frozen.move_to(expiry + timedelta(days=2))
    assert receipt(client, created.receipt_token).json()["state"] == "expired"
    assert reveal(client, created.secret.id).json()["status"] == "expired"

    frozen.move_to(expiry + timedelta(days=2, seconds=1))
    assert receipt(client, created.receipt_token).status_code == 404
    assert reveal(client, created.secret.id).status_code == 404


# --- The web page -------------------------------------------------------------------------------


def test_the_receipt_page_shows_the_state(client, frozen):
    created = make_secret(ttl=3600)
    token = created.receipt_token

    waiting = client.get(f"/r/{token}")
    assert reveal(client, created.secret.id).status_code == 200
    read = client.get(f"/r/{token}")

    assert waiting.status_code == 200
    assert "state-active" in waiting.content.decode()
    assert f'action="/r/{token}/burn"' in waiting.content.decode()
    assert read.status_code == 200
    assert "state-revealed" in read.content.decode()
    assert "/burn" not in read.content.decode()


def test_the_receipt_page_shows_an_expired_secret(client, frozen):
    created = make_secret(ttl=60)
    frozen.move_to(T0 + timedelta(minutes=2))

    page = client.get(f"/r/{created.receipt_token}")

    assert page.status_code == 200
    assert "state-expired" in page.content.decode()


def test_the_page_asks_once_then_burns_with_a_second_post(client):
    created = make_secret()
    token = created.receipt_token

    looked = client.get(f"/r/{token}/burn")
    assert looked.status_code == 405
    assert Secret.objects.get(pk=created.secret.id).state == Secret.State.ACTIVE

    asked = client.post(f"/r/{token}/burn")

    assert asked.status_code == 200
    page = asked.content.decode()
    assert "state-active" in page
    assert 'name="confirm" value="yes"' in page
    assert f'href="/r/{token}"' in page  # cancel: back to the receipt, by GET
    assert Secret.objects.get(pk=created.secret.id).state == Secret.State.ACTIVE

    burned = client.post(f"/r/{token}/burn", {"confirm": "yes"})

    assert burned.status_code == 200
    assert "state-burned" in burned.content.decode()
    assert 'name="confirm"' not in burned.content.decode()
    assert Secret.objects.get(pk=created.secret.id).state == Secret.State.BURNED
    assert reveal(client, created.secret.id).json()["status"] == "destroyed"


@pytest.mark.parametrize("confirm", ["", "no", "YES", "1"])
def test_anything_but_confirm_yes_only_asks(client, confirm):
    created = make_secret()

    asked = client.post(f"/r/{created.receipt_token}/burn", {"confirm": confirm})

    assert asked.status_code == 200
    assert 'name="confirm" value="yes"' in asked.content.decode()
    assert Secret.objects.get(pk=created.secret.id).state == Secret.State.ACTIVE


def test_the_question_is_not_asked_for_a_secret_that_is_no_longer_active(client):
    created = make_secret()
    assert reveal(client, created.secret.id).status_code == 200

    asked = client.post(f"/r/{created.receipt_token}/burn")

    assert asked.status_code == 200
    assert "state-revealed" in asked.content.decode()
    assert 'name="confirm"' not in asked.content.decode()
    assert "/burn" not in asked.content.decode()


def test_the_receipt_says_why_it_has_no_share_link_and_offers_another(client):
    page = client.get(f"/r/{make_secret().receipt_token}", HTTP_ACCEPT_LANGUAGE="en")

    content = page.content.decode()
    assert "never shows the link to the secret" in content
    assert '<a class="button" href="/">Create another secret</a>' in content


def test_the_page_after_a_burn_offers_no_language_link(client):
    # Rendered for a POST, a ?lang= link would GET the burn URL (405).
    token = make_secret().receipt_token

    assert "?lang=" in client.get(f"/r/{token}").content.decode()
    assert "?lang=" not in client.post(f"/r/{token}/burn").content.decode()
    assert "?lang=" not in client.post(f"/r/{token}/burn", {"confirm": "yes"}).content.decode()


def test_the_page_answers_404_for_an_unknown_token(client):
    response = client.get("/r/abcdefghijklmnopqrstuvwxyz012345")

    assert response.status_code == 404
    assert "text/html" in response["Content-Type"]
    assert client.post("/r/abcdefghijklmnopqrstuvwxyz012345/burn").status_code == 404
    unknown = client.post("/r/abcdefghijklmnopqrstuvwxyz012345/burn", {"confirm": "yes"})
    assert unknown.status_code == 404


def test_a_receipt_token_is_32_letters_and_digits():
    # Never a leading "-", which a command-line tool would read as an option.
    tokens = {make_secret().receipt_token for _ in range(50)}

    assert len(tokens) == 50
    assert all(re.fullmatch(r"[A-Za-z0-9]{32}", token) for token in tokens)
