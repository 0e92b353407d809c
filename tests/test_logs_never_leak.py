"""
Never logged (PRODUCT.md §2.2): no secret, passphrase or receipt token, and no full secret
id, reaches the logs, the console or an error report, on any path, including a crash.
"""

import io
import logging
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.conf import settings
from django.core import mail
from django.db import connection
from django.test import Client
from django.utils.module_loading import import_string
from django.views.debug import ExceptionReporter

from onetime.core.logfilters import RedactCapabilitiesFilter, redact
from onetime.vault import crypto, services
from onetime.vault.models import Secret
from tests.conftest import post_json

pytestmark = [pytest.mark.django_db, pytest.mark.sqlite]


@dataclass
class Capabilities:
    """What a sender and a recipient hold: none of it may be written anywhere."""

    secret: str
    passphrase: str
    secret_id: str = ""
    receipt_token: str = ""

    def all(self) -> list[str]:
        values = [self.secret, self.passphrase, self.secret_id, self.receipt_token]
        if self.secret_id:
            values.append(uuid.UUID(self.secret_id).hex)
        return [v for v in values if v]

    def take_api_answer(self, body: dict[str, str]) -> None:
        self.secret_id = body["id"]
        self.receipt_token = body["receipt_url"].rsplit("/", 1)[1]


@pytest.fixture
def canary() -> Capabilities:
    # Not shaped like a UUID: the log filter would cut that to a prefix and hide a leak.
    return Capabilities(
        secret=f"CANARY-{uuid.uuid4().hex}", passphrase=f"PASSPHRASE-{uuid.uuid4().hex}"
    )


class Captured:
    """All that the logging set-up wrote while a test ran, and the error reports it sent."""

    def __init__(self, caplog: pytest.LogCaptureFixture, capsys, console: io.StringIO) -> None:
        self.caplog, self.capsys, self.console = caplog, capsys, console
        self.out = ""

    def logs(self) -> str:
        """Return the console output, captured stdout/stderr and every log record."""
        captured = self.capsys.readouterr()
        self.out += captured.out + captured.err
        parts = [self.console.getvalue(), self.out, self.caplog.text]
        formatter = logging.Formatter()
        for record in list(self.caplog.records):
            parts.append(record.getMessage())
            if record.exc_info:
                # What a formatter prints for the traceback.
                parts.append(record.exc_text or formatter.formatException(record.exc_info))
        return "\n".join(parts)

    def error_reports(self) -> str:
        """
        Return the error mails sent to ADMINS, and the HTML form of each report (the page
        DEBUG shows, and what AdminEmailHandler(include_html=True) would attach).
        """
        reports = [f"{message.subject}\n{message.body}" for message in mail.outbox]
        assert reports, "an error report was mailed"
        # A snapshot: rendering a report logs records of its own.
        for record in list(self.caplog.records):
            if record.exc_info:
                request = getattr(record, "request", None)
                exc_type, exc_value, tb = record.exc_info
                # The class AdminEmailHandler uses.
                reporter_class: type[ExceptionReporter] = import_string(
                    settings.DEFAULT_EXCEPTION_REPORTER
                )
                reporter = reporter_class(request, exc_type, exc_value, tb, is_email=True)
                reports.append(reporter.get_traceback_html())
        return "\n".join(reports)


@pytest.fixture
def captured(caplog, capsys, console, settings) -> Iterator[Captured]:
    """Log at DEBUG everywhere, SQL included, mail error reports, and capture all of it."""
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="django")
    # Its 4xx lines are off (settings.LOGGING) but a 5xx line names the path the same way:
    # let them all through, so that the paths' redaction is seen.
    caplog.set_level(logging.DEBUG, logger="django.request")
    # Django mails a report of every 500 to ADMINS (into mail.outbox here).
    settings.ADMINS = [("Operator", "ops@example.com")]
    # What DEBUG=True would do: every query goes to the django.db.backends logger.
    connection.force_debug_cursor = True
    yield Captured(caplog, capsys, console)
    connection.force_debug_cursor = False


def assert_not_in(text: str, *values: str) -> None:
    for value in values:
        assert value
        assert value not in text


def test_the_api_flow_logs_no_secret_passphrase_token_or_full_id(client, canary, captured):
    body = {"secret": canary.secret, "passphrase": canary.passphrase}
    canary.take_api_answer(post_json(client, "/api/v1/secrets", body).json())
    secret = f"/api/v1/secrets/{canary.secret_id}"
    receipt = f"/api/v1/receipts/{canary.receipt_token}"
    right = {"passphrase": canary.passphrase}

    assert client.get(secret).status_code == 200
    assert post_json(client, f"{secret}/reveal", {"passphrase": "wrong"}).status_code == 403
    assert post_json(client, f"{secret}/reveal").status_code == 403
    assert post_json(client, f"{secret}/reveal", right).json() == {"secret": canary.secret}
    assert post_json(client, f"{secret}/reveal", right).status_code == 410
    assert client.get(secret).status_code == 410
    assert client.get(receipt).status_code == 200
    assert client.post(f"{receipt}/burn").status_code == 200
    assert client.get(f"{receipt}x").status_code == 404

    logs = captured.logs()

    assert_not_in(logs, *canary.all())
    # The logs were captured, with short prefixes standing in for the id and the token.
    assert f"secret {canary.secret_id[:8]} created" in logs
    assert f"/secrets/{canary.secret_id[:8]}…/reveal" in logs
    assert f"/receipts/{canary.receipt_token[:4]}…" in logs


def test_the_web_flow_logs_no_secret_passphrase_token_or_full_id(client, canary, captured):
    created = client.post(
        "/", {"secret": canary.secret, "ttl": "300", "passphrase": canary.passphrase}
    )
    assert created.status_code == 200
    page = created.content.decode()
    found_id = re.search(r"/s/([0-9a-f-]{36})", page)
    found_token = re.search(r"/r/([A-Za-z0-9_-]{16,})", page)
    assert found_id
    assert found_token
    canary.secret_id, canary.receipt_token = found_id.group(1), found_token.group(1)
    secret, receipt = f"/s/{canary.secret_id}", f"/r/{canary.receipt_token}"

    assert client.get(secret).status_code == 200
    assert client.post(secret, {"passphrase": "wrong"}).status_code == 403
    revealed = client.post(secret, {"passphrase": canary.passphrase})
    assert canary.secret in revealed.content.decode()
    assert client.post(secret, {"passphrase": canary.passphrase}).status_code == 410
    assert client.get(secret).status_code == 410
    assert client.get(receipt).status_code == 200
    assert client.post(f"{receipt}/burn").status_code == 200
    assert client.post(f"{receipt}/burn", {"confirm": "yes"}).status_code == 200
    assert client.get(f"/s/{uuid.uuid4()}").status_code == 404

    logs = captured.logs()

    assert_not_in(logs, *canary.all())
    assert f"secret {canary.secret_id[:8]} revealed" in logs
    assert f"/s/{canary.secret_id[:8]}…" in logs


# --- A crash on a request that carries a secret -------------------------------------------------


REAL_UNSEAL = crypto.unseal


def _crash(*args: object, **kwargs: object) -> bytes:
    raise RuntimeError("forced failure")


def _crash_after_unseal(*args: Any, **kwargs: Any) -> bytes:
    plaintext = REAL_UNSEAL(*args, **kwargs)  # noqa: F841 - held in this frame's locals
    raise RuntimeError("forced failure after decryption")


@pytest.fixture
def crashing_client() -> Client:
    return Client(raise_request_exception=False)


def test_a_crash_while_creating_leaks_nothing(crashing_client, canary, captured, monkeypatch):
    monkeypatch.setattr(crypto, "seal", _crash)
    body = {"secret": canary.secret, "passphrase": canary.passphrase}

    api = post_json(crashing_client, "/api/v1/secrets", body)
    web = crashing_client.post("/", {**body, "ttl": "300"})

    assert api.status_code == 500
    assert api.json()["status"] == "server_error"
    assert web.status_code == 500
    assert "text/html" in web["Content-Type"]
    for response in (api, web):
        assert_not_in(response.content.decode(), *canary.all())
    logs = captured.logs()
    assert "forced failure" in logs
    assert "Internal Server Error" in logs
    assert_not_in(logs, *canary.all())
    assert_not_in(captured.error_reports(), *canary.all())
    assert Secret.objects.count() == 0


def test_a_crash_after_decryption_leaks_nothing_and_consumes_nothing(
    crashing_client, canary, captured, monkeypatch
):
    body = {"secret": canary.secret, "passphrase": canary.passphrase}
    canary.take_api_answer(post_json(crashing_client, "/api/v1/secrets", body).json())
    monkeypatch.setattr(crypto, "unseal", _crash_after_unseal)
    right = {"passphrase": canary.passphrase}

    api = post_json(crashing_client, f"/api/v1/secrets/{canary.secret_id}/reveal", right)
    web = crashing_client.post(f"/s/{canary.secret_id}", right)

    assert api.status_code == 500
    assert web.status_code == 500
    for response in (api, web):
        assert_not_in(response.content.decode(), *canary.all())
    logs = captured.logs()
    assert "forced failure after decryption" in logs
    assert_not_in(logs, *canary.all())
    # Frame variables (the plaintext among them) and POST values are hidden from reports.
    assert_not_in(captured.error_reports(), canary.secret, canary.passphrase)
    # The transaction rolled back: the secret is still there for a retry.
    assert Secret.objects.get(pk=canary.secret_id).state == Secret.State.ACTIVE


def test_an_error_report_carries_no_full_id_or_token(
    crashing_client, canary, captured, monkeypatch
):
    canary.take_api_answer(post_json(crashing_client, "/api/v1/secrets", {"secret": "x"}).json())
    monkeypatch.setattr(crypto, "unseal", _crash)
    monkeypatch.setattr(services, "receipt_burn", _crash)

    assert (
        post_json(crashing_client, f"/api/v1/secrets/{canary.secret_id}/reveal").status_code == 500
    )
    burning = crashing_client.post(f"/r/{canary.receipt_token}/burn", {"confirm": "yes"})
    assert burning.status_code == 500

    # The secret is still active: whoever reads the report could open it.
    assert_not_in(captured.error_reports(), canary.secret_id, canary.receipt_token)


# --- The redaction filter -----------------------------------------------------------------------

SECRET_ID = "6f1c43a8-3a35-4a39-9a68-1e1a39b8f2a1"
TOKEN = "Xy_9-abcdefghijklmnopqrstuvwxyz01"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"GET /s/{SECRET_ID}", "GET /s/6f1c43a8…"),
        (f"Gone: /api/v1/secrets/{SECRET_ID}/reveal", "Gone: /api/v1/secrets/6f1c43a8…/reveal"),
        (f"id={SECRET_ID.upper()} done", "id=6F1C43A8… done"),
        (f"GET /r/{TOKEN} 200", "GET /r/Xy_9… 200"),
        (f"POST /r/{TOKEN}/burn", "POST /r/Xy_9…/burn"),
        (f"Not Found: /api/v1/receipts/{TOKEN}", "Not Found: /api/v1/receipts/Xy_9…"),
        (f"/s/{SECRET_ID} and /r/{TOKEN}", "/s/6f1c43a8… and /r/Xy_9…"),
        ("nothing to hide here", "nothing to hide here"),
    ],
)
def test_redact_cuts_capabilities_to_short_prefixes(text, expected):
    assert redact(text) == expected


def test_the_filter_redacts_the_formatted_message_of_a_record():
    record = logging.LogRecord(
        "django.request", logging.WARNING, __file__, 1, "%s: %s", ("Gone", f"/s/{SECRET_ID}"), None
    )

    assert RedactCapabilitiesFilter().filter(record) is True
    assert record.getMessage() == "Gone: /s/6f1c43a8…"
