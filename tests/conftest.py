"""
Fixtures and helpers shared by the tests. Tests run against the database in DATABASE_URL
(PostgreSQL in make test).
"""

import html
import io
import json
import logging
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from wsgiref.types import WSGIApplication

import pytest
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import Client

from onetime.codes import services as codes
from onetime.core import envelope as zk
from onetime.vault import services
from onetime.wsgi import application
from tests.concurrency import RACERS, Racers
from tests.fake_telegram import FakeTelegram
from tests.processes import BOT_TOKEN


def make_secret(
    plaintext: str = "correct horse battery staple",
    *,
    ttl: int | None = None,
    passphrase: str | None = None,
    **telegram: Any,
) -> services.CreatedSecret:
    """Create a secret; ``telegram`` passes telegram_recipient, notify_* to secret_create."""
    return services.secret_create(
        plaintext=plaintext, ttl=ttl, passphrase=passphrase, client_ip="192.0.2.1", **telegram
    )


@dataclass(frozen=True)
class ClientSecret:
    """A secret encrypted as a client encrypts it (§2.7), with what its link holds."""

    created: services.CreatedSecret
    key: bytes
    passphrase: str | None

    @property
    def id(self) -> uuid.UUID:
        return self.created.secret.id

    def proof(self, passphrase: str | None = None) -> str:
        """Return the passphrase_proof (base64url) that ``passphrase`` (or the right one) gives."""
        stretched = zk.stretch(passphrase or str(self.passphrase), self.id)
        proof = zk.derive(self.key, self.id, stretched).proof
        assert proof is not None
        return zk.b64encode(proof)

    def open(self, ciphertext: str) -> str:
        """Return the plaintext of a reveal's ``ciphertext``, as a client opens it."""
        stretched = zk.stretch(self.passphrase, self.id) if self.passphrase else None
        envelope = zk.b64decode(ciphertext)
        return zk.open_envelope(envelope, key=self.key, sid=self.id, stretched=stretched).decode()


def make_client_secret(
    plaintext: str = "correct horse battery staple",
    *,
    ttl: int | None = None,
    passphrase: str | None = None,
    **telegram: Any,
) -> ClientSecret:
    """Create a client-encrypted secret through the service, as the API would."""
    key = zk.new_key()
    envelope, proof = zk.seal(plaintext.encode(), key=key, passphrase=passphrase)
    created = services.secret_create(
        plaintext=None,
        envelope=envelope,
        passphrase_proof=proof,
        ttl=ttl,
        passphrase=None,
        client_ip="192.0.2.1",
        **telegram,
    )
    return ClientSecret(created=created, key=key, passphrase=passphrase)


def make_tampered_client_secret() -> ClientSecret:
    """
    Create a client secret whose envelope was changed after it was sealed: its key still
    checks, but it does not decrypt (what a recipient's client must never show).
    """
    key = zk.new_key()
    envelope, _ = zk.seal(b"the real secret", key=key)
    changed = envelope[:-1] + bytes([envelope[-1] ^ 1])
    created = services.secret_create(
        plaintext=None, envelope=changed, ttl=None, passphrase=None, client_ip="192.0.2.1"
    )
    return ClientSecret(created=created, key=key, passphrase=None)


# The bot of the tests that need one configured (but never talk to it).
TEST_BOT = "onetime_test_bot"


@pytest.fixture
def telegram_bot(settings: Any) -> str:
    """Configure a bot (token and username) and return its username."""
    settings.TELEGRAM_BOT_TOKEN = "123456:test-only-not-a-token"
    settings.TELEGRAM_BOT_USERNAME = TEST_BOT
    return TEST_BOT


def issue_code(telegram_user_id: int, username: str | None) -> str:
    """Return the account's active code, as the bot's /code would give it."""
    return codes.code_issue(
        telegram_user_id=telegram_user_id, username=username, first_name=username or "User"
    ).code


def wrong_code(code: str) -> str:
    """Return a well-formed code that is not ``code``."""
    return str((int(code) - 1_000_000 + 1) % 9_000_000 + 1_000_000)


def post_json(client: Client, path: str, body: Any = None, **headers: str) -> Any:
    data = "" if body is None else json.dumps(body)
    return client.post(path, data=data, content_type="application/json", headers=headers)


def reveal(client: Client, secret_id: object, passphrase: str | None = None) -> Any:
    """POST the API's reveal of ``secret_id``, with ``passphrase`` if one is given."""
    body = None if passphrase is None else {"passphrase": passphrase}
    return post_json(client, f"/api/v1/secrets/{secret_id}/reveal", body)


def text(response: Any) -> str:
    """Return a page's HTML."""
    return str(response.content.decode())


def as_html_text(value: str) -> str:
    """Return ``value`` with newlines as HTML hands them to the page: CR LF and CR become LF."""
    return value.replace("\r\n", "\n").replace("\r", "\n")


def textarea(response: Any, field_id: str) -> str:
    """
    Return the value a browser gives the <textarea>: HTML turns CR LF and CR into LF, and
    ignores one newline right after the start tag (WHATWG HTML, "in body", textarea).
    """
    match = re.search(
        rf'<textarea[^>]*\bid="{field_id}"[^>]*>(.*?)</textarea>', text(response), re.S
    )
    assert match, f"the page has no textarea #{field_id}"
    return html.unescape(as_html_text(match.group(1)).removeprefix("\n"))


@pytest.fixture
def no_rate_limits(settings: Any) -> Any:
    """
    Switch the per-IP limits off, whatever the environment says: every request of a test
    comes from one address, and the limits have tests of their own. Return the settings, so
    that a test can set one limit.
    """
    settings.ONETIME_RATE_CREATE = None
    settings.ONETIME_RATE_REVEAL = None
    settings.ONETIME_RATE_LOOKUP = None
    return settings


# The bot's answer to /code, exactly as PRODUCT.md §3.1 words it: the code, then its expiry.
CODE_MESSAGE = re.compile(r"🔑 Ваш код: ([1-9]\d{6})\n⏰ Действителен до: (\d\d:\d\d) \(МСК\)")
# Seven digits that could be a code, wherever they stand in a text.
SEVEN_DIGITS = re.compile(r"(?<!\d)[1-9]\d{6}(?!\d)")


def code_message(text: str) -> tuple[str, str]:
    """Return the code and the expiry (HH:MM) of an answer to /code; fail on any other text."""
    match = CODE_MESSAGE.fullmatch(text)
    assert match, f"not a code message: {text!r}"
    return match[1], match[2]


WEBHOOK_SECRET = "webhook-secret_0123456789abcdef"


@pytest.fixture
def webhook_secret(settings: Any) -> str:
    """Switch the webhook on, with WEBHOOK_SECRET as its secret token."""
    settings.TELEGRAM_WEBHOOK_SECRET = WEBHOOK_SECRET
    return WEBHOOK_SECRET


def post_update(client: Client, update: Any, secret: str | None = WEBHOOK_SECRET) -> Any:
    """POST ``update`` (a dict, or raw text or bytes) to the webhook as Telegram would."""
    headers = {} if secret is None else {"X-Telegram-Bot-Api-Secret-Token": secret}
    data = update if isinstance(update, str | bytes) else json.dumps(update)
    return client.post(
        "/telegram/webhook/", data=data, content_type="application/json", headers=headers
    )


@pytest.fixture
def fake_telegram(settings: Any, db: None) -> Iterator[FakeTelegram]:
    """A fake Bot API that this process's bot client (webhook mode, commands) talks to."""
    with FakeTelegram(BOT_TOKEN) as fake:
        settings.TELEGRAM_BOT_TOKEN = BOT_TOKEN
        settings.TELEGRAM_API_BASE_URL = fake.url
        settings.ONETIME_BASE_URL = "https://onetime.example.com"
        yield fake


@pytest.fixture
def console() -> Iterator[io.StringIO]:
    """Return what the console handler configured by settings.LOGGING writes (redacted)."""
    [handler] = [h for h in logging.getLogger().handlers if h.name == "console"]
    assert isinstance(handler, logging.StreamHandler)
    buffer = io.StringIO()
    original = handler.setStream(buffer)
    try:
        yield buffer
    finally:
        handler.setStream(original)


@pytest.fixture
def wsgi_application() -> Iterator[WSGIApplication]:
    """
    The application as a WSGI server runs it (onetime/wsgi.py), inside the test's database
    transaction: at the end of each request Django would close the test's connection,
    which the test client prevents in the same way.
    """
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield application
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


# The headless browsers, for every file with browser tests.
from tests.browser import browser, lan_browser  # noqa: E402, F401


@pytest.fixture
def racers():
    """Long-lived racer threads for the at-most-once tests (tests/concurrency.py)."""
    pool = Racers(RACERS)
    yield pool
    pool.close()
