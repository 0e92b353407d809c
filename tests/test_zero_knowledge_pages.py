"""
The web pages' server side of secrets encrypted in the browser (PRODUCT.md §2.7): the
create form takes the page script's ciphertext (and passphrase proof) in place of the
secret, the pages carry what the script needs (the key check, the envelope) and say which
mode a secret uses, and a reveal without the script is refused before anything is consumed.
"""

import re
from typing import Any

import pytest
from django.test import Client

from onetime.core import envelope as zk
from onetime.vault.models import Secret
from tests.conftest import issue_code, make_client_secret, make_secret, text

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.sqlite,
    pytest.mark.usefixtures("no_rate_limits"),
]


@pytest.fixture
def en() -> Client:
    return Client(headers={"accept-language": "en"})


def attribute(response: Any, name: str) -> str:
    match = re.search(rf'\b{name}="([^"]*)"', text(response))
    assert match, f"the page has no {name}"
    return match.group(1)


def test_the_form_stores_the_ciphertext_the_page_sent(en):
    key = zk.new_key()
    envelope, proof = zk.seal(b"sealed in the browser", key=key, passphrase="open sesame")
    assert proof is not None
    sid = zk.parse(envelope).secret_id

    created = en.post(
        "/",
        {
            "ciphertext": zk.b64encode(envelope),
            "passphrase_proof": zk.b64encode(proof),
            "ttl": "3600",
        },
    )

    assert created.status_code == 200
    secret = Secret.objects.get()
    assert (secret.id, secret.passphrase_required) == (sid, True)
    assert secret.key_check == zk.b64encode(zk.key_check(key, sid))
    assert attribute(created, "data-zk-secret") == str(sid)
    assert attribute(created, "data-zk-key-check") == secret.key_check
    assert "Encrypted in your browser" in text(created)
    # The server's QR code would have no key: the page draws its own.
    assert "<svg" not in text(created)


def test_the_telegram_fields_and_the_lifetime_work_with_a_ciphertext(en, telegram_bot):
    envelope, _ = zk.seal(b"for alice", key=zk.new_key())
    code = issue_code(1001, "bobby")

    created = en.post(
        "/",
        {
            "ciphertext": zk.b64encode(envelope),
            "ttl": "300",
            "telegram_recipient": "@alice",
            "notify_telegram": "@bobby",
            "notify_code": code,
        },
    )

    assert created.status_code == 200
    secret = Secret.objects.get()
    assert (secret.telegram_recipient, secret.notify_chat_id) == ("@alice", 1001)
    assert (secret.expires_at - secret.created_at).total_seconds() == 300
    assert secret.client_encrypted


def test_the_form_sent_back_with_an_error_asks_for_the_secret_again(en, telegram_bot):
    envelope, _ = zk.seal(b"x", key=zk.new_key())

    answer = en.post(
        "/",
        {"ciphertext": zk.b64encode(envelope), "ttl": "3600", "telegram_recipient": "@a"},
    )

    assert answer.status_code == 400
    assert "never sent, so it cannot be filled in again" in text(answer)
    assert "Enter a Telegram @username" in text(answer)
    assert not Secret.objects.exists()


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"ttl": "3600"}, "This field is required."),
        ({"ciphertext": "not base64!", "ttl": "3600"}, "not URL-safe base64"),
        ({"ciphertext": zk.b64encode(b"\x02" * 70), "ttl": "3600"}, "not a version-1 envelope"),
    ],
)
def test_what_is_not_a_secret_or_an_envelope_is_refused(en, fields, error):
    answer = en.post("/", fields)

    assert answer.status_code == 400
    assert error in text(answer)
    assert not Secret.objects.exists()


def test_the_recipient_page_carries_the_key_check_and_says_the_mode(en):
    secret = make_client_secret()
    page = en.get(f"/s/{secret.id}")

    assert page.status_code == 200
    assert attribute(page, "data-zk-key-check") == zk.b64encode(zk.key_check(secret.key, secret.id))
    assert "Encrypted on the sender's device" in text(page)
    assert "<noscript>" in text(page)
    # The form waits for the script, which checks the key first.
    assert re.search(r'<div data-zk-state="ready" hidden>', text(page))

    plain = en.get(f"/s/{make_secret().secret.id}")
    assert "Encrypted on the server" in text(plain)
    assert "data-zk" not in text(plain)


def test_a_reveal_without_the_script_is_refused_and_consumes_nothing(en):
    secret = make_client_secret()

    refused = en.post(f"/s/{secret.id}", {"passphrase": "", "telegram_code": ""})

    assert refused.status_code == 409
    assert "This secret needs JavaScript" in text(refused)
    assert "Nothing was consumed" in text(refused)
    row = Secret.objects.get(pk=secret.id)
    assert (row.state, row.ciphertext is not None) == (Secret.State.ACTIVE, True)


def test_the_revealed_page_carries_the_envelope_for_the_script(en):
    secret = make_client_secret("in the envelope", passphrase="open sesame")

    wrong = en.post(
        f"/s/{secret.id}", {"decrypt": "browser", "passphrase_proof": secret.proof("nope")}
    )
    assert wrong.status_code == 403
    assert "4 attempts left" in text(wrong)
    opened = en.post(f"/s/{secret.id}", {"decrypt": "browser", "passphrase_proof": secret.proof()})

    assert opened.status_code == 200
    assert secret.open(attribute(opened, "data-zk-envelope")) == "in the envelope"
    assert "in the envelope" not in text(opened)
    assert Secret.objects.get(pk=secret.id).state == Secret.State.REVEALED
    gone = en.get(f"/s/{secret.id}")
    assert gone.status_code == 410
    assert "It was encrypted on its sender's device" in text(gone)


def test_a_passphrase_itself_is_refused_for_a_client_secret(en):
    secret = make_client_secret(passphrase="open sesame")

    answer = en.post(f"/s/{secret.id}", {"decrypt": "browser", "passphrase": "open sesame"})

    assert answer.status_code == 400
    assert Secret.objects.get(pk=secret.id).failed_attempts == 0


def test_the_receipt_and_the_gone_page_say_the_mode(en):
    client_secret = make_client_secret()
    server_secret = make_secret()

    receipt = en.get(f"/r/{client_secret.created.receipt_token}")
    assert "On your device: the server never saw the secret" in text(receipt)
    receipt = en.get(f"/r/{server_secret.receipt_token}")
    assert re.search(r'<dd class="encryption">On the server</dd>', text(receipt))

    en.post(f"/s/{server_secret.secret.id}", {})
    assert "It was encrypted on the server." in text(en.get(f"/s/{server_secret.secret.id}"))


def named_fields(page: Any) -> set[str]:
    """The names of the fields a browser submits with the page's forms, script or not."""
    return set(re.findall(r'<(?:input|textarea|select)\b[^>]*\bname="([^"]+)"', text(page)))


def shown_words(page: Any) -> str:
    """What a browser that ignores `hidden` (a text browser) shows: the text outside tags."""
    return re.sub(r"<[^>]*>", " ", text(page))


def test_a_text_browser_that_shows_the_reveal_form_cannot_send_the_passphrase(en):
    # lynx and w3m show the form that waits hidden for the script, and submit what it names:
    # the passphrase field has no name, so only the script (as a proof) sends anything of it.
    secret = make_client_secret(passphrase="open sesame")
    page = en.get(f"/s/{secret.id}")

    assert 'type="password"' in text(page)
    assert "passphrase" not in named_fields(page)
    assert "passphrase" in named_fields(en.get(f"/s/{make_secret(passphrase='x').secret.id}"))


def test_a_text_browser_is_not_told_what_only_the_script_does(en):
    page = en.get("/")
    words = shown_words(page)
    assert "Encrypted on the server: JavaScript is off" in words
    assert "Encrypted in your browser" not in words
    assert "Generated in your browser" not in words
    secret = make_client_secret()
    assert "This link is incomplete" not in shown_words(en.get(f"/s/{secret.id}"))
