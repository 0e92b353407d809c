"""
Chat apps and mail scanners fetch every pasted link to draw a preview (PRODUCT.md §2.1):
opening the link without clicking reveal must leave the secret intact and not show it.
"""

import pytest

from onetime.vault.models import Secret
from tests.conftest import make_client_secret, make_secret, post_json

pytestmark = [pytest.mark.django_db, pytest.mark.sqlite, pytest.mark.usefixtures("no_rate_limits")]

PREVIEW_ROBOTS = {
    "telegram": "TelegramBot (like TwitterBot)",
    "slack": "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
    "whatsapp": "WhatsApp/2.23.20.0",
    "facebook": "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
    "discord": "Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)",
    "twitter": "Twitterbot/1.0",
    "teams": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) SkypeUriPreview Preview/0.5",
    "outlook scanner": "Mozilla/4.0 (compatible; ms-office; MSOffice 16)",
}

PLAINTEXT = "the vault code is 0451"


def assert_still_revealable(client, secret_id) -> None:
    row = Secret.objects.get(pk=secret_id)
    assert row.state == Secret.State.ACTIVE
    assert row.ciphertext is not None
    reveal = post_json(client, f"/api/v1/secrets/{secret_id}/reveal")
    assert reveal.status_code == 200
    assert reveal.json() == {"secret": PLAINTEXT}


@pytest.mark.parametrize("user_agent", PREVIEW_ROBOTS.values(), ids=PREVIEW_ROBOTS.keys())
def test_it_leaves_the_secret_intact_when_a_preview_robot_fetches_the_link(client, user_agent):
    secret_id = make_secret(PLAINTEXT).secret.id

    previews = [client.get(f"/s/{secret_id}", headers={"user-agent": user_agent}) for _ in range(3)]

    for preview in previews:
        assert preview.status_code == 200
        assert PLAINTEXT not in preview.content.decode()
    assert_still_revealable(client, secret_id)


def test_it_leaves_the_secret_intact_on_a_head_request(client):
    secret_id = make_secret(PLAINTEXT).secret.id

    head = client.head(f"/s/{secret_id}", headers={"user-agent": PREVIEW_ROBOTS["slack"]})

    assert head.status_code == 200
    assert head.content == b""
    assert_still_revealable(client, secret_id)


def test_it_leaves_the_secret_intact_when_a_prefetch_follows_the_language_links(client):
    # Some scanners follow every link on the page too; the language switch is a plain link.
    secret_id = make_secret(PLAINTEXT).secret.id

    for lang in ("en", "ru"):
        page = client.get(f"/s/{secret_id}?lang={lang}", headers={"purpose": "prefetch"})
        assert page.status_code == 200
        assert PLAINTEXT not in page.content.decode()

    assert_still_revealable(client, secret_id)


def test_it_leaves_a_passphrase_secret_intact_on_preview(client):
    secret_id = make_secret(PLAINTEXT, passphrase="open sesame").secret.id

    preview = client.get(f"/s/{secret_id}", headers={"user-agent": PREVIEW_ROBOTS["telegram"]})

    assert preview.status_code == 200
    assert Secret.objects.get(pk=secret_id).failed_attempts == 0
    reveal = post_json(client, f"/api/v1/secrets/{secret_id}/reveal", {"passphrase": "open sesame"})
    assert reveal.json() == {"secret": PLAINTEXT}


@pytest.mark.parametrize("user_agent", PREVIEW_ROBOTS.values(), ids=PREVIEW_ROBOTS.keys())
def test_it_leaves_a_client_encrypted_secret_intact_on_preview(client, user_agent):
    # A robot fetches the link without its fragment, and runs no script: the page offers,
    # and neither the envelope nor anything else of the secret is in it.
    secret = make_client_secret(PLAINTEXT)
    ciphertext = Secret.objects.get(pk=secret.id).ciphertext

    previews = [client.get(f"/s/{secret.id}", headers={"user-agent": user_agent}) for _ in range(3)]

    for preview in previews:
        assert preview.status_code == 200
        assert PLAINTEXT not in preview.content.decode()
    row = Secret.objects.get(pk=secret.id)
    assert (row.state, row.ciphertext) == (Secret.State.ACTIVE, ciphertext)
    reveal = post_json(client, f"/api/v1/secrets/{secret.id}/reveal")
    assert secret.open(reveal.json()["ciphertext"]) == PLAINTEXT
