"""
Logs: one JSON object per line with LOG_FORMAT=json, a bad LOG_FORMAT stops start-up, and a
bot token never reaches the output, neither in a message nor in an exception's traceback.
"""

import json
import logging
import subprocess
import uuid
from datetime import datetime, timedelta

import pytest
from django.db import connection
from django.utils import timezone

from onetime.codes import services as codes
from onetime.codes.models import UserCode
from onetime.core.logfilters import redact, traceback_without_messages
from tests.conftest import make_secret
from tests.processes import BOT_TOKEN, database_url, manage, run, service_env

TOKEN = "123456789:AAxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
BOT_URL = f"https://api.telegram.org/bot{TOKEN}/getUpdates"
# Real tokens also hold "-" and "_".
TOKENS = [TOKEN, BOT_TOKEN, "7012345678:AAE-_x9QZ0pL3mN8vB2cK7rT5yU1wH4jG6f"]


def run_manage(*args: str, **env: str | None) -> subprocess.CompletedProcess[str]:
    return run(
        manage(*args), service_env(DATABASE_URL=database_url(connection.settings_dict), **env)
    )


@pytest.mark.django_db(transaction=True)
def test_with_log_format_json_every_log_line_is_a_json_object():
    codes.code_issue(telegram_user_id=9201, username=None, first_name="L")
    UserCode.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    result = run_manage("cleanup", LOG_FORMAT="json", LOG_LEVEL="INFO")

    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    assert lines, "cleanup logs its counts"
    entries = [json.loads(line) for line in lines]
    for entry in entries:
        assert isinstance(entry, dict)
        assert {"time", "level", "logger", "message"} <= set(entry)
        datetime.strptime(entry["time"], "%Y-%m-%dT%H:%M:%S%z")
    [counts] = [e for e in entries if e["logger"] == "onetime.cleanup"]
    assert counts["level"] == "INFO"
    assert "1 expired codes deleted" in counts["message"]


@pytest.mark.django_db
def test_with_the_default_format_log_lines_are_plain_text():
    result = run_manage("cleanup", "--dry-run", LOG_FORMAT=None, LOG_LEVEL="INFO")

    assert result.returncode == 0, result.stderr
    [line] = [line for line in result.stderr.splitlines() if "cleanup (dry run)" in line]
    assert " INFO onetime.cleanup: cleanup (dry run): " in line
    assert not line.startswith("{")


@pytest.mark.django_db
def test_client_errors_log_no_warning(client, caplog):
    locked = make_secret("x", passphrase="the right one").secret.id

    answers = [
        client.get(f"/s/{uuid.uuid4()}"),
        client.get("/favicon.ico"),
        client.post(f"/s/{locked}", {"passphrase": "a wrong one"}),
    ]

    assert [a.status_code for a in answers] == [404, 404, 403]
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []


@pytest.mark.parametrize(("name", "value"), [("LOG_FORMAT", "bogus"), ("LOG_LEVEL", "LOUD")])
def test_a_bad_log_setting_stops_start_up_naming_it(name, value):
    result = run(manage("check"), service_env(**{name: value}))

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert name in result.stderr.splitlines()[-1]


@pytest.mark.parametrize(
    "path",
    [
        "/r/{t}",
        "/api/v1/receipts/{t}/burn",
        # OneTimeSecret's receipt paths carry the same token (docs/compatibility.md).
        "/api/v1/private/{t}",
        "/api/v1/receipt/{t}/burn/",
        "/api/v1/metadata/{t}",
        "/private/{t}",
        "/receipt/{t}",
    ],
)
def test_redact_cuts_a_receipt_token_in_any_of_its_paths_to_four_characters(path):
    token = "Zk3q" + "x" * 28

    assert redact(f'"POST {path.format(t=token)} HTTP/1.1" 200') == (
        f'"POST {path.format(t="Zk3q…")} HTTP/1.1" 200'
    )


@pytest.mark.parametrize("token", TOKENS)
def test_redact_removes_a_bot_token_from_a_bot_api_url(token):
    redacted = redact(f"GET https://api.telegram.org/bot{token}/getUpdates failed")

    assert redacted == "GET https://api.telegram.org/bot<bot-token>/getUpdates failed"


@pytest.mark.parametrize("token", TOKENS)
def test_a_bot_token_is_removed_from_messages_and_tracebacks(console, token):
    logger = logging.getLogger("onetime.bot.client")
    url = f"https://api.telegram.org/bot{token}/getUpdates"

    logger.warning("request to %s failed", url)
    try:
        raise ConnectionError(f"cannot reach {url}")
    except ConnectionError:
        logger.exception("polling failed for %s", url)

    output = console.getvalue()
    assert "Traceback (most recent call last)" in output
    assert "ConnectionError: cannot reach https://api.telegram.org/bot<bot-token>/" in output
    assert output.count("<bot-token>") == 3
    assert token.split(":")[1] not in output


def test_with_log_format_json_a_traceback_is_redacted_too():
    script = (
        "import logging\n"
        "try:\n"
        f"    raise RuntimeError('cannot reach {BOT_URL}')\n"
        "except RuntimeError:\n"
        "    logging.getLogger('onetime.bot.client').exception('polling failed')\n"
    )

    result = run(manage("shell", "--no-imports", "-c", script), service_env(LOG_FORMAT="json"))

    assert result.returncode == 0, result.stderr
    [entry] = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    assert entry["message"] == "polling failed"
    assert entry["level"] == "ERROR"
    assert (
        "RuntimeError: cannot reach https://api.telegram.org/bot<bot-token>/getUpdates"
        in (entry["exception"])
    )
    assert TOKEN.split(":")[1] not in result.stderr
    assert TOKEN.split(":")[1] not in result.stdout


def test_a_traceback_without_messages_names_every_exception_in_the_chain_but_no_value():
    value = "CANARY-9f2e"

    def parse() -> None:
        raise ValueError(f"cannot parse {value}")

    try:
        try:
            parse()
        except ValueError as exc:
            raise LookupError(value) from exc
    except LookupError as exc:
        text = traceback_without_messages(exc)

    assert value not in text
    assert text.count("Traceback (most recent call last):") == 2
    assert text.index("ValueError (message withheld)") < text.index("LookupError (message")
    assert "in parse" in text
    assert text.endswith("LookupError (message withheld)")


def test_the_access_log_escapes_control_characters_of_a_path(console):
    # Granian logs the path percent-decoded: "%0a" would otherwise start a forged line.
    forged = "/p/x\n2030-01-01 00:00:00,000 ERROR injected: forged line.json"

    logging.getLogger("granian.access").info('127.0.0.1 "GET %s HTTP/1.1" 404 1ms', forged)
    logging.getLogger("onetime.vault.services").info("two\nlines")

    output = console.getvalue()
    assert '"GET /p/x\\x0a2030-01-01 00:00:00,000 ERROR injected' in output
    assert "\nlines" in output  # only the access logs are escaped
    assert not any(line.startswith("2030-01-01") for line in output.splitlines())
