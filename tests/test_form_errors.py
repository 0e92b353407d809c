"""
The web forms show each error under the field it is about, and link them for screen
readers: every aria-describedby names an element that exists on the page.
"""

import re
from html.parser import HTMLParser

import pytest
from django.test import Client

from onetime.vault.models import Secret
from tests.conftest import make_secret

pytestmark = [pytest.mark.django_db, pytest.mark.sqlite]

EN = {"accept_language": "en"}
TOO_LONG = "The passphrase is longer than 1024 characters."


class _Page(HTMLParser):
    """Collect the ids on a page, who refers to which by aria-describedby, and the order."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: list[str] = []
        self.described_by: dict[str, list[str]] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if attributes.get("id"):
            self.ids.append(str(attributes["id"]))
        if attributes.get("aria-describedby"):
            self.described_by[str(attributes.get("id"))] = str(
                attributes["aria-describedby"]
            ).split()


def parse(response) -> _Page:
    page = _Page()
    page.feed(response.content.decode())
    page.close()
    return page


def error_text(response, element_id: str) -> str:
    match = re.search(
        rf'<(\w+)[^>]*\bid="{element_id}"[^>]*>(.*?)</\1>', response.content.decode(), re.S
    )
    assert match, f"no element #{element_id}"
    return re.sub(r"<[^>]+>", "", match.group(2)).strip()


def test_a_passphrase_error_is_shown_under_the_passphrase_field(client):
    response = client.post(
        "/", {"secret": "hunter2", "ttl": "3600", "passphrase": "p" * 1025}, headers=EN
    )

    assert response.status_code == 400
    page = parse(response)
    assert "id_secret_error" not in page.ids
    assert error_text(response, "id_passphrase_error") == TOO_LONG
    # Right after the field and its hint, before the next field or the button.
    assert page.ids.index("id_passphrase") < page.ids.index("id_passphrase_error")
    assert "id_passphrase_error" in page.described_by["id_passphrase"]


def test_the_recipient_page_shows_an_unusable_passphrase_under_its_field(client):
    created = make_secret("hunter2", passphrase="open sesame")

    response = client.post(f"/s/{created.secret.id}", {"passphrase": "p" * 1025}, headers=EN)

    assert response.status_code == 400
    assert error_text(response, "id_passphrase_error") == TOO_LONG
    assert "id_passphrase_error" in parse(response).described_by["id_passphrase"]
    assert Secret.objects.get().state == Secret.State.ACTIVE
    assert Secret.objects.get().failed_attempts == 0


def test_a_secret_error_stays_under_the_secret_field(client, settings):
    settings.ONETIME_MAX_SECRET_BYTES = 4

    response = client.post("/", {"secret": "hunter2", "ttl": "3600"}, headers=EN)

    assert response.status_code == 413
    assert "limit is 4 bytes" in error_text(response, "id_secret_error")
    assert "id_secret_error" in parse(response).described_by["id_secret"]


@pytest.mark.parametrize(
    "send",
    [
        lambda c: c.get("/"),
        lambda c: c.post("/", {"secret": "", "ttl": "3600"}),
        lambda c: c.post("/", {"secret": "x", "ttl": "3600", "passphrase": "p" * 1025}),
        lambda c: c.post(
            f"/s/{make_secret(passphrase='open sesame').secret.id}", {"passphrase": "nope"}
        ),
    ],
    ids=["create form", "empty secret", "long passphrase", "wrong passphrase"],
)
def test_every_aria_describedby_names_an_element_of_the_page(send):
    page = parse(send(Client()))

    assert page.described_by, "the page describes no field: is this the right page?"
    for element, references in page.described_by.items():
        for reference in references:
            assert reference in page.ids, f"#{element} refers to missing #{reference}"
