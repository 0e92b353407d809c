"""
The server never holds what a client-encrypted secret hides (PRODUCT.md §2.7): canary
secrets, keys and passphrases go through the real server (production settings, its access
log on) from a browser and from the command-line client, with PostgreSQL logging every
statement and its parameters; afterwards none of them is in the server's output (app and
access log), PostgreSQL's log, a pg_dump taken while the secrets were stored, or any request
the browser sent (Playwright's request log: URLs, headers, bodies).
"""

import secrets
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from tests.browser import Sent, create_secret, new_context, off_the_event_loop, open_secret
from tests.processes import RunningWeb, database_url, onetime, start_web, stop, user_env

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]

PG_LOGS = Path("/var/log/postgresql")


@dataclass
class Canaries:
    """Values that must never reach the server, and where each flow may leave traces."""

    hidden: dict[str, str] = field(default_factory=dict)

    def new(self, label: str) -> str:
        value = f"{label}-{secrets.token_hex(8)}"
        self.hidden[label] = value
        return value

    def assert_absent(self, where: str, text: str) -> None:
        found = [label for label, value in self.hidden.items() if value in text]
        # Only the labels: the values themselves must not land in the test output either.
        assert not found, f"{where} holds {found}"


class PostgresLog:
    """The tail of PostgreSQL's own log from now on, with every statement logged."""

    def __init__(self) -> None:
        logs = sorted(PG_LOGS.glob("postgresql-*-main.log"))
        if not logs:
            pytest.skip(f"no PostgreSQL log under {PG_LOGS}")
        self.path = logs[-1]
        self.start = self.path.stat().st_size

    def text(self) -> str:
        with self.path.open("rb") as log:
            log.seek(self.start)
            return log.read().decode(errors="replace")


def _alter_database(*settings: str) -> None:
    name = connection.settings_dict["NAME"]

    def alter() -> None:
        with connection.cursor() as cursor:
            for setting in settings:
                cursor.execute(f'ALTER DATABASE "{name}" {setting}')

    # In a thread of its own, whose connection closes with it (see off_the_event_loop).
    off_the_event_loop(alter)


@pytest.fixture
def statement_log() -> Iterator[PostgresLog]:
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only")
    log = PostgresLog()
    # For the connections the server opens from now on: every statement, with the values
    # bound to it (in the log's DETAIL lines), whole.
    _alter_database("SET log_statement = 'all'", "SET log_parameter_max_length = -1")
    yield log
    _alter_database("RESET log_statement", "RESET log_parameter_max_length")


@pytest.fixture
def server(statement_log, tmp_path) -> Iterator[RunningWeb]:
    web = start_web(database_url(connection.settings_dict), tmp_path / "web.log")
    yield web
    stop(web.process)


def pg_dump() -> str:
    settings = connection.settings_dict
    return subprocess.run(
        [
            "pg_dump",
            "--data-only",
            "-h",
            settings.get("HOST") or "127.0.0.1",
            "-U",
            settings.get("USER") or "postgres",
            settings["NAME"],
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout


def browser_flow(browser: Any, url: str, canaries: Canaries, sent: list[Sent], **kw: str) -> str:
    """Create a secret in one browser, return its link (whose key becomes a canary)."""
    context = new_context(browser, locale="en-US")
    page = context.new_page()
    sent.append(Sent(page))
    link = create_secret(page, url, kw["plaintext"], passphrase=kw.get("passphrase", ""))
    context.close()
    canaries.hidden[f"browser key {len(canaries.hidden)}"] = link.split("#", 1)[1]
    return link


def browser_open(browser: Any, link: str, sent: list[Sent], passphrase: str = "") -> str:
    context = new_context(browser, locale="en-US")
    page = context.new_page()
    sent.append(Sent(page))
    opened = open_secret(page, link, passphrase=passphrase)
    assert opened.status == 200
    value = str(page.input_value("textarea#secret"))
    context.close()
    return value


def test_no_canary_reaches_the_server_its_logs_its_database_or_a_request(
    browser, server, statement_log, tmp_path
):
    canaries = Canaries()
    sent: list[Sent] = []
    made: list[tuple[str, str, str, str]] = []  # (who made it, link, plaintext, passphrase)

    # In the browser, with and without a passphrase.
    for with_passphrase in (False, True):
        plaintext = canaries.new(f"browser secret {with_passphrase}")
        passphrase = canaries.new("browser passphrase") if with_passphrase else ""
        link = browser_flow(
            browser, server.url, canaries, sent, plaintext=plaintext, passphrase=passphrase
        )
        made.append(("browser", link, plaintext, passphrase))

    # In a terminal, with and without a passphrase.
    for with_passphrase in (False, True):
        plaintext = canaries.new(f"cli secret {with_passphrase}")
        passphrase = canaries.new("cli passphrase") if with_passphrase else ""
        extra = {"ONETIME_PASSPHRASE": passphrase} if passphrase else {}
        args = ("--passphrase",) if passphrase else ()
        env = user_env(tmp_path, **extra)
        shared = onetime("share", *args, "--server", server.url, env=env, stdin=plaintext.encode())
        assert shared.returncode == 0, shared.stderr.decode()
        link = shared.stdout.decode().strip()
        canaries.hidden[f"cli key {with_passphrase}"] = link.split("#", 1)[1]
        made.append(("cli", link, plaintext, passphrase))

    # While they are stored: the database holds none of it.
    canaries.assert_absent("pg_dump while stored", off_the_event_loop(pg_dump))

    # Each opened by the other client: the terminal opens the browser's, and the other way.
    for maker, link, plaintext, passphrase in made:
        if maker == "browser":
            env = user_env(tmp_path, **({"ONETIME_PASSPHRASE": passphrase} if passphrase else {}))
            opened = onetime("open", link, env=env)
            assert opened.returncode == 0, opened.stderr.decode()
            assert opened.stdout.decode() == plaintext
        else:
            assert browser_open(browser, link, sent, passphrase) == plaintext

    server_log = server.log.read_text(errors="replace")
    # The logs are on: each step left its line, so the searches below look at something.
    assert server_log.count("POST /api/v1/secrets ") >= 2
    assert server_log.count("POST / ") >= 2
    postgres = statement_log.text()
    assert 'INSERT INTO "secrets"' in postgres
    assert "parameters: $1" in postgres
    assert all(pages.requests for pages in sent)

    canaries.assert_absent("the server's output (app and access log)", server_log)
    canaries.assert_absent("PostgreSQL's log", postgres)
    canaries.assert_absent("pg_dump after the reveals", off_the_event_loop(pg_dump))
    for pages in sent:
        pages.assert_never(*canaries.hidden.values())
